/**
 * log-format: a kv member and a load balancer started with --log-format text write readable
 * lines (time, level, component and member, message), and with --log-format json one JSON
 * object per line carrying the component and the member. Their stdout is a pipe here, where
 * the default is JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundCommand, freePortBlock, RAFTKUBE_MAIN, waitFor } from './harness.js';

const running: BackgroundCommand[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function member(format: readonly string[]): Promise<BackgroundCommand> {
  const port = await freePortBlock(2);
  const dir = mkdtempSync(join(tmpdir(), 'raftkube-logs-'));
  dirs.push(dir);
  const c = new BackgroundCommand(process.execPath, [
    RAFTKUBE_MAIN, 'kv', '--name', 'solo', '--data-dir', dir,
    '--listen-client-urls', `http://127.0.0.1:${port}`, '--listen-peer-urls', `http://127.0.0.1:${port + 1}`, ...format,
  ]);
  running.push(c);
  await waitFor('the member to log that it started', () => c.stdout.includes('member started') || (c.exited && Promise.reject(new Error(c.stderr))), { timeoutMs: 30_000 });
  return c;
}

describe('--log-format', () => {
  it('text: readable lines with time, level, component, member and message', async () => {
    const c = await member(['--log-format', 'text']);
    const started = c.stdout.split('\n').find((l) => l.includes('member started'));
    expect(started).toMatch(/^\d\d:\d\d:\d\d\.\d\d\d INFO {2}kv solo: member started {2}id=[0-9a-f]+ cluster=\d+ client=\["http:\/\/127\.0\.0\.1:\d+"\]/);
    expect(c.stdout).not.toMatch(/^\{/m);
  }, 60_000);

  it('json: one parseable object per line with the component and member (also the default on a pipe)', async () => {
    for (const args of [['--log-format', 'json'], []]) {
      const c = await member(args);
      const lines = c.stdout.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(1);
      for (const l of lines) {
        const rec = JSON.parse(l) as Record<string, unknown>;
        expect(rec['component']).toBe('kv');
        expect(rec['member']).toBe('solo');
        expect(typeof rec['msg']).toBe('string');
      }
      await c.stop();
    }
  }, 90_000);

  it('applies to the load balancer too', async () => {
    const port = await freePortBlock(2);
    const c = new BackgroundCommand(process.execPath, [RAFTKUBE_MAIN, 'lb', '--listen', `127.0.0.1:${port}`, '--backends', `127.0.0.1:${port + 1}`, '--log-format', 'text']);
    running.push(c);
    const line = await waitFor('the balancer to log that it serves', () => c.stdout.split('\n').find((l) => l.includes('load balancer serving')), { timeoutMs: 30_000 });
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d\d\d INFO {2}lb: load balancer serving {2}port=\d+ backends=127\.0\.0\.1:\d+$/);
  }, 60_000);

  it('refuses a format it does not know', async () => {
    const c = new BackgroundCommand(process.execPath, [RAFTKUBE_MAIN, 'kv', '--name', 'x', '--log-format', 'yaml']);
    running.push(c);
    await waitFor('the command to exit', () => c.exited, { timeoutMs: 30_000 });
    expect(c.stderr).toContain('Must be json or text.');
  }, 60_000);
});
