/**
 * lifecycle: `raftkube up`, `status` and `down` as a person meets them — bad input refused in one
 * line at once, a taken port, a cluster with a member down that `status` reports and `up` heals,
 * and `down` that stops only this cluster's processes and says what it stopped. Real processes
 * on loopback; one cluster serves the cases that need one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterFile, writeClusterFile } from '../../src/cli/cluster-file.js';
import type { StatusRow } from '../../src/cli/status.js';
import { describeResult, freePortBlock, isAlive, RAFTKUBE_MAIN, runCommand, startCluster, waitFor, type CommandResult, type TestCluster } from '../integration/harness.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftkube-cli-'));
  dirs.push(d);
  return d;
}

function raftkube(args: readonly string[], timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand(process.execPath, [RAFTKUBE_MAIN, ...args], { timeoutMs });
}

/** oneLineFailure expects exit 1, nothing on stdout and exactly one line on stderr; returns it. */
function oneLineFailure(r: CommandResult): string {
  expect(r.timedOut, describeResult(r)).toBe(false);
  expect(r.code, describeResult(r)).toBe(1);
  expect(r.stdout, describeResult(r)).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, describeResult(r)).toHaveLength(1);
  return lines[0]!;
}

/** deadPid is the pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid ?? 0;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('bad input gets one line and exit 1, at once', () => {
  it.each([
    { name: 'an even --masters', args: ['up', '--masters', '4'], want: 'Must be 3 or 5 (1 for a toy).' },
    { name: '--base-port 99999', args: ['up', '--base-port', '99999'], want: 'Must be a port number from 1 to 65535.' },
    { name: 'a --base-port without room for every port', args: ['up', '--base-port', '65532'], want: 'raftkube: --base-port must leave room for 41 ports (1 to 65495), got 65532' },
    { name: 'a --data-dir under /proc', args: ['up', '--data-dir', '/proc/nope'], want: 'raftkube: Cannot create the data directory /proc/nope (ENOENT at /proc/nope); pick a --data-dir you can write to' },
  ])('$name', async ({ args, want }) => {
    // NB: the timeout catches a spin (mkdir recursive under /proc never returns on Node 20).
    expect(oneLineFailure(await raftkube(args, 20_000))).toContain(want);
  });

  it('a --data-dir that is a file', async () => {
    const f = join(tempDir(), 'file');
    writeFileSync(f, 'x');
    expect(oneLineFailure(await raftkube(['up', '--data-dir', f, '--detach']))).toBe(`raftkube: ${f} is a file, not a directory; pick another --data-dir`);
  });

  it('a corrupt cluster.json, named by up, status and down', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'cluster.json'), '{"masters": [');
    for (const cmd of ['up', 'status', 'down']) {
      expect(oneLineFailure(await raftkube([cmd, '--data-dir', d]))).toBe(`raftkube: ${join(d, 'cluster.json')} is not a valid raftkube cluster file (not JSON); move it away or pick another --data-dir`);
    }
  });

  it('status and down where there is no cluster', async () => {
    const d = tempDir();
    for (const cmd of ['status', 'down']) expect(oneLineFailure(await raftkube([cmd, '--data-dir', d]))).toMatch(new RegExp(`^raftkube: No cluster in ${d} \\(no cluster.json\\); start one with .*\\bup( --)? --data-dir ${d}$`));
  });
});

describe('up with a port already taken', () => {
  let holder: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((r) => (holder === undefined ? r() : holder.close(() => r())));
  });

  it('says which port in one line, suggests --base-port, and writes no cluster.json', async () => {
    const base = await freePortBlock(6);
    const srv = createServer();
    holder = srv;
    await new Promise<void>((r) => srv.listen({ port: base + 3, host: '127.0.0.1' }, () => r()));
    const d = tempDir();
    const line = oneLineFailure(await raftkube(['up', '--data-dir', d, '--base-port', String(base), '--detach']));
    expect(line).toBe(`raftkube: Port ${base + 3} (m2's peer port) is already in use; stop whatever holds it or pick other ports with --base-port`);
    expect(existsSync(join(d, 'cluster.json'))).toBe(false);
  });
});

describe('a 3-master cluster with a member down', () => {
  let cluster: TestCluster | undefined;
  const c = (): TestCluster => {
    if (cluster === undefined) throw new Error('The cluster did not start (see beforeAll)');
    return cluster;
  };
  const rows = async (): Promise<{ r: CommandResult; rows: StatusRow[] }> => {
    const r = await raftkube(['status', '--json', '--data-dir', c().dataDir]);
    return { r, rows: JSON.parse(r.stdout) as StatusRow[] };
  };

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, spareMembers: 0, tls: true });
  }, 200_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('status exits 0 when whole', async () => {
    const r = await raftkube(['status', '--data-dir', c().dataDir]);
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Healthy: leader m[123], term \d+, 3\/3 members up$/);
  });

  it('starts every member with glibc\'s malloc asking for huge pages', () => {
    for (const m of c().members) {
      const environ = readFileSync(`/proc/${m.pids[0]!}/environ`, 'utf8').split('\0');
      const tunables = environ.find((e) => e.startsWith('GLIBC_TUNABLES='))?.slice('GLIBC_TUNABLES='.length);
      expect(tunables?.split(':'), m.name).toContain('glibc.malloc.hugetlb=1');
    }
  });

  it('status shows a killed member as down (connection refused) and exits 1', async () => {
    const pid = c().members[1]!.pids[0]!;
    process.kill(pid, 'SIGKILL');
    await waitFor('m2 to die', () => !isAlive(pid));
    // NB: if m2 led, m1 and m3 need an election timeout to choose another; until then status
    // says "No leader" (and exits 1 too).
    const r = await waitFor('status to name a leader among m1 and m3', async () => {
      const s = await raftkube(['status', '--data-dir', c().dataDir]);
      return /leader m[13]/.test(s.stdout.trimEnd().split('\n').at(-1) ?? '') ? s : false;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(r.code, describeResult(r)).toBe(1);
    expect(r.stdout).toContain('m2: down (connection refused)');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Degraded: m2 down; leader m[13], term \d+$/);
    const j = await rows();
    expect(j.r.code).toBe(1);
    expect(j.rows.map((x) => [x.name, x.alive, x.role === 'down'])).toEqual([['m1', true, false], ['m2', false, true], ['m3', true, false]]);
  });

  it('up starts only the missing member, says so, and records its new pid', async () => {
    const before = readClusterFile(c().dataDir)!;
    const r = await raftkube(['up', '--detach', '--data-dir', c().dataDir]);
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stderr).toContain('Starting m2, which was down (m1, m3 already running)');
    const after = readClusterFile(c().dataDir)!;
    expect(after.masters[0]!.pids).toEqual(before.masters[0]!.pids);
    expect(after.masters[2]!.pids).toEqual(before.masters[2]!.pids);
    expect(after.masters[1]!.pids[0]).not.toBe(before.masters[1]!.pids[0]);
    expect(after.masters.every((m) => m.pids.every(isAlive))).toBe(true);
    expect(after.clusterID).toBe(before.clusterID);
    const s = await raftkube(['status', '--data-dir', c().dataDir]);
    expect(s.code, describeResult(s)).toBe(0);
  });

  it('up on the whole cluster refuses and says how to see or stop it', async () => {
    expect(oneLineFailure(await raftkube(['up', '--detach', '--data-dir', c().dataDir]))).toMatch(/^raftkube: The 3 masters in .* are already running; see them with .*status.*, stop them with .*down/);
  });

  it('status flags another cluster answering on a member\'s port', async () => {
    const d = tempDir();
    writeClusterFile(d, { ...readClusterFile(c().dataDir)!, clusterID: '1' });
    const r = await raftkube(['status', '--data-dir', d]);
    expect(r.code, describeResult(r)).toBe(1);
    expect(r.stdout).toMatch(/m1: down \(another cluster answers on https:\/\/127\.0\.0\.1:\d+ \(cluster ID \d+, not 1\)\)/);
  });

  it('down leaves alone recorded pids that are not this cluster\'s (another cluster\'s member, any other program, a dead pid)', async () => {
    const d = tempDir();
    mkdirSync(d, { recursive: true });
    const other = readClusterFile(c().dataDir)!;
    const theirs = other.masters[0]!.pids[0]!;
    const gone = deadPid();
    writeClusterFile(d, { masters: [{ ...other.masters[0]!, pids: [theirs, process.pid, gone] }], etcdEndpoints: [] });
    const r = await raftkube(['down', '--data-dir', d]);
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toBe(`Nothing was running from ${d}. Left alone pids ${theirs}, ${process.pid}: they are no longer this cluster's.\n`);
    expect(isAlive(theirs)).toBe(true);
  });

  it('down says what it stopped, then that nothing was running', async () => {
    const f = readClusterFile(c().dataDir)!;
    const r = await raftkube(['down', '--data-dir', c().dataDir]);
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toBe(`Stopped 3 masters: ${f.masters.map((m) => `${m.name} (pid ${m.pids.join(', ')})`).join(', ')}.\n`);
    expect(f.masters.flatMap((m) => m.pids).some(isAlive)).toBe(false);
    const again = await raftkube(['down', '--data-dir', c().dataDir]);
    expect(again.stdout).toBe(`Nothing was running from ${c().dataDir}.\n`);
    const s = await raftkube(['status', '--data-dir', c().dataDir]);
    expect(s.code).toBe(1);
    expect(s.stdout.trimEnd().split('\n').at(-1)).toBe('No leader; down: m1, m2, m3');
  });
});
