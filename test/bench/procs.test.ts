/**
 * procs: bench kv restarts a killed member with what it was started with — argv, working
 * directory and environment (a member's GLIBC_TUNABLES changes how fast it restarts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCommandLine, startCommandLine } from '../../bench/kv/procs.js';
import { waitFor } from '../integration/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-procs-'));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** HOLD keeps a child running until the test kills it, having written its marker to stdout. */
const HOLD = "process.stdout.write(`${process.cwd()} ${process.env.RK_MARK ?? 'unset'} ${process.env.GLIBC_TUNABLES ?? 'unset'}\\n`); setInterval(() => {}, 1000);";

describe('restarting a process alike', () => {
  it('reads argv, cwd and environment from /proc and starts it again with them', async () => {
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', RK_MARK: 'restart alike = yes', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };
    const first = spawn(process.execPath, ['-e', HOLD], { cwd: dir, env, stdio: 'ignore' });
    started.push(first.pid!);
    // NB: until the child has exec'd node, /proc shows the forked copy of this process.
    const cl = await waitFor('the child to run node -e', () => {
      const read = readCommandLine(first.pid!);
      return read.argv[1] === '-e' ? read : false;
    });
    expect(cl.argv).toEqual([process.execPath, '-e', HOLD]);
    expect(cl.cwd).toBe(dir);
    expect(cl.env).toEqual(env);

    const logPath = join(dir, 'again.log');
    const again = startCommandLine(cl, { logPath, detached: false });
    started.push(again);
    const line = await waitFor('the restarted process to say what it got', () => {
      const text = readFileSync(logPath, 'utf8');
      return text.endsWith('\n') ? text : false;
    });
    expect(line).toBe(`${dir} restart alike = yes glibc.malloc.hugetlb=1\n`);
  });
});
