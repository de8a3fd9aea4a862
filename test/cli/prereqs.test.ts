/**
 * prereqs: the first step of `npm test` — find etcdctl, install it with apt-get when root, or say
 * in one line what to install. The machine is a stand-in (System), except for one run of the
 * real script with a PATH that holds no etcdctl and installing forbidden.
 */
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePrerequisites, NO_INSTALL_ENV, type Prerequisite, type System } from '../../src/cli/prereqs.js';
import { REPO_ROOT, runCommand } from '../integration/harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** binDir makes a directory holding executables with the given names. */
function binDir(...names: string[]): string {
  const d = mkdtempSync(join(tmpdir(), 'raftkube-prereqs-'));
  dirs.push(d);
  for (const n of names) {
    writeFileSync(join(d, n), '#!/bin/sh\nexit 0\n');
    chmodSync(join(d, n), 0o755);
  }
  return d;
}

const ETCDCTL: Prerequisite = { command: 'etcdctl', envVar: 'ETCDCTL', what: 'etcdctl, the etcd v3 client', debianPackage: 'etcd-client', tasks: ['test'] };
const ETCD: Prerequisite = { command: 'etcd', what: 'etcd, the server', debianPackage: 'etcd-server', tasks: ['bench-compare-etcd'] };
const LIST = [ETCDCTL, ETCD];

interface Fake extends System {
  readonly calls: string[];
}

/** fakeSystem records commands; `apt` decides each apt-get call's exit code and may "install". */
function fakeSystem(o: { path: string; root: boolean; apt?: (args: readonly string[]) => number; env?: NodeJS.ProcessEnv }): Fake {
  const calls: string[] = [];
  return {
    env: { PATH: o.path, ...o.env },
    calls,
    isRoot: () => o.root,
    run: (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return { code: o.apt?.(args) ?? 1, output: 'E: Unable to locate package etcd-client' };
    },
    log: () => undefined,
  };
}

describe('ensurePrerequisites', () => {
  it('finds what the task needs on the PATH and installs nothing', () => {
    const sys = fakeSystem({ path: binDir('etcdctl'), root: true });
    expect(ensurePrerequisites('test', sys, LIST)).toEqual({ ok: true, installed: [] });
    expect(sys.calls).toEqual([]);
  });

  it('honours $ETCDCTL, and names it when it points at nothing', () => {
    const bin = binDir('my-etcdctl');
    expect(ensurePrerequisites('test', fakeSystem({ path: '', root: false, env: { ETCDCTL: join(bin, 'my-etcdctl') } }), LIST).ok).toBe(true);
    const r = ensurePrerequisites('test', fakeSystem({ path: '', root: false, env: { ETCDCTL: '/nowhere/etcdctl' } }), LIST);
    expect(r.ok ? '' : r.error).toContain('$ETCDCTL=/nowhere/etcdctl is not an executable');
  });

  it('without root: one line saying what to install, and no apt-get', () => {
    const sys = fakeSystem({ path: binDir('apt-get'), root: false });
    const r = ensurePrerequisites('test', sys, LIST);
    expect(r).toEqual({ ok: false, error: 'Missing etcdctl, the etcd v3 client: install it with "sudo apt-get install etcd-client" (Debian/Ubuntu) or put etcdctl on the PATH, then run this again.' });
    expect(sys.calls).toEqual([]);
  });

  it(`as root without apt-get, or with ${NO_INSTALL_ENV} set: the same line, no install`, () => {
    for (const sys of [fakeSystem({ path: binDir(), root: true }), fakeSystem({ path: binDir('apt-get'), root: true, env: { [NO_INSTALL_ENV]: '1' } })]) {
      const r = ensurePrerequisites('test', sys, LIST);
      expect(r.ok ? '' : r.error).toMatch(/^Missing etcdctl.*sudo apt-get install etcd-client/);
      expect(sys.calls).toEqual([]);
    }
  });

  it('as root with apt-get: installs the Debian package, after apt-get update when the first try fails', () => {
    const bin = binDir('apt-get');
    let updated = false;
    const sys = fakeSystem({
      path: bin,
      root: true,
      apt: (args) => {
        if (args[0] === 'update') {
          updated = true;
          return 0;
        }
        if (!updated) return 100;
        writeFileSync(join(bin, 'etcdctl'), '#!/bin/sh\n');
        chmodSync(join(bin, 'etcdctl'), 0o755);
        return 0;
      },
    });
    expect(ensurePrerequisites('test', sys, LIST)).toEqual({ ok: true, installed: ['etcd-client'] });
    expect(sys.calls).toEqual(['apt-get install -y -qq etcd-client', 'apt-get update -qq', 'apt-get install -y -qq etcd-client']);
  });

  it('as root when apt-get cannot install it: what to install, and apt-get\'s last word', () => {
    const sys = fakeSystem({ path: binDir('apt-get'), root: true, apt: (args) => (args[0] === 'update' ? 0 : 100) });
    const r = ensurePrerequisites('test', sys, LIST);
    expect(r.ok ? '' : r.error).toMatch(/^Missing etcdctl.*\(apt-get install etcd-client failed: E: Unable to locate package etcd-client\)$/);
  });

  it('checks only what the task needs', () => {
    const sys = fakeSystem({ path: binDir('etcdctl'), root: false });
    const r = ensurePrerequisites('bench-compare-etcd', sys, LIST);
    expect(r.ok ? '' : r.error).toMatch(/^Missing etcd, the server: .*etcd-server/);
  });
});

describe('npm test\'s first step on a machine without etcdctl, kubectl or chromium', () => {
  it('exits 1 at once with one line naming what to install', async () => {
    // PATH holds node alone: no etcdctl, no apt-get.
    const bin = binDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await runCommand(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/prereqs-main.ts'), 'test'], {
      env: { PATH: bin, ETCDCTL: '', [NO_INSTALL_ENV]: '1' },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual(['Missing etcdctl, the etcd v3 client the compatibility tests drive; kubectl (1.32), the Kubernetes client the control-plane tests drive; Chromium, the headless browser the dashboard test drives: install them with "sudo apt-get install etcd-client chromium" (Debian/Ubuntu) or put etcdctl, kubectl, chromium on the PATH, then run this again.']);
  });
});
