/**
 * Shared by the end-to-end chaos tests: run `raftkube chaos run` as a user would (its own
 * process, a free block of ports, a report directory) and check that it cleaned up after itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { freePortBlock, RAFTKUBE_MAIN, runCommand, type CommandResult } from '../integration/harness.js';

/** netnsAvailable tells whether this machine lets us make network namespaces (root with `ip`). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** ChaosRunResult is how one `chaos run` ended and where its report is. */
export interface ChaosRun {
  readonly result: CommandResult;
  readonly dir: string;
}

/** chaosRun runs `raftkube chaos run ARGS` with its report in reportsDir/name, on `ports` free ports. */
export async function chaosRun(reportsDir: string, name: string, args: readonly string[], o: { readonly ports?: number; readonly timeoutMs?: number } = {}): Promise<ChaosRun> {
  const dir = join(reportsDir, name);
  const basePort = await freePortBlock(o.ports ?? 10);
  const result = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'chaos', 'run', '--report', dir, '--base-port', String(basePort), ...args], { timeoutMs: o.timeoutMs ?? 240_000 });
  return { result, dir };
}

/** LOG_TAIL_CHARS is how much of each process log a failed run's description shows. */
const LOG_TAIL_CHARS = 1_500;

/**
 * describeRun is what a failed expectation prints: exit code, output and the end of stderr, and
 * for a run that did not pass the end of every process log in its report, which the test's
 * cleanup deletes (in CI that is all there is to read afterwards).
 */
export function describeRun(r: ChaosRun): string {
  const head = `exit ${r.result.code}${r.result.timedOut ? ' (timed out)' : ''}\n${r.result.stdout}\n${r.result.stderr.slice(-3000)}`;
  return r.result.code === 0 ? head : head + logTails(r.dir);
}

function logTails(dir: string): string {
  if (!existsSync(dir)) return `\n(no report directory ${dir})`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return `\n--- ${f}, last ${Math.min(text.length, LOG_TAIL_CHARS)} of ${text.length} characters\n${text.slice(-LOG_TAIL_CHARS)}`;
    })
    .join('');
}

/** expectCleanedUp checks that the run left no process, data directory or namespace behind. */
export function expectCleanedUp(r: ChaosRun): void {
  const dataDir = /starting \d members in (\S+)/.exec(r.result.stderr)?.[1];
  expect(dataDir, r.result.stderr).toBeDefined();
  expect(existsSync(dataDir!)).toBe(false);
  const leftovers = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir!);
    } catch {
      return false;
    }
  });
  expect(leftovers).toEqual([]);
  // Only the namespaces this run made (named in its mode line) are looked for: another run on
  // the machine may hold its own.
  if (r.result.stderr.includes(' on a bridge; tc drops packets')) {
    const tag = /network namespaces (rk\d+)m1…/.exec(r.result.stderr)?.[1];
    expect(tag, 'the namespaces the run made').toBeDefined();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(new RegExp(`\\b${tag}m\\d\\b`));
  }
}

/** verdictsOf reads a report's verdicts as [check, result] pairs. */
export function verdictsOf(dir: string): { readonly exitCode: number; readonly pairs: [string, string][] } {
  const v = JSON.parse(readFileSync(join(dir, 'verdicts.json'), 'utf8')) as { exitCode: number; verdicts: { check: string; result: string }[] };
  return { exitCode: v.exitCode, pairs: v.verdicts.map((x) => [x.check, x.result]) };
}
