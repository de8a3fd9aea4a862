/**
 * cli: `raftkube chaos check` on history files, through the built command — its exit codes
 * (0 pass, 1 a check failed, 2 undecided, 3 unusable input) and what it prints.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RAFTKUBE_MAIN, runCommand, type CommandResult } from '../../integration/harness.js';
import { formatWatchRecord, type WatchRecord } from '../../../src/chaos/checker/index.js';
import { jsonl, type Ev } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-chaos-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function w(p: number, v: string, t0: number, t1: number, type: 'ok' | 'info' = 'ok'): Ev[] {
  return [[t0, p, 'invoke', 'write', v], [t1, p, type, 'write', v]];
}
function r(p: number, v: string | null, t0: number, t1: number): Ev[] {
  return [[t0, p, 'invoke', 'read', null], [t1, p, 'ok', 'read', v]];
}
const seq = (...parts: Ev[][]): Ev[] => parts.flat().sort((a, b) => a[0] - b[0]);

function check(...args: string[]): Promise<CommandResult> {
  return runCommand(process.execPath, [RAFTKUBE_MAIN, 'chaos', 'check', ...args], { timeoutMs: 60_000 });
}

const good = file('good.jsonl', jsonl(seq(w(0, '1', 0, 1e6), w(0, '2', 2e6, 3e6), w(1, '3', 25e5, 1e9, 'info'), r(2, '2', 4e6, 5e6))));
const stale = file('stale.jsonl', jsonl(seq(w(0, '1', 0, 1e6), w(0, '2', 2e6, 3e6), r(2, '1', 4e6, 5e6))));

describe('raftkube chaos check', () => {
  it('exits 0 on a linearizable history', async () => {
    const res = await check('--history', good);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Linearizability: linearizable (4 operations over 1 key');
    expect(res.stdout).toContain('Verdict: PASS');
  });

  it('exits 1 on a stale read and prints the window', async () => {
    const res = await check('--history', stale);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('Key "x" is not linearizable.');
    expect(res.stdout).toContain('process 2: read ok -> "1"  [4.000 ms .. 5.000 ms]  (line 5-6)');
    expect(res.stdout).toContain('Verdict: FAIL');
  });

  it('exits 1 on a lost write given the final state, 0 when the final state is right', async () => {
    const lost = await check('--history', good, '--final', file('final-lost.json', '{"x":"1"}'));
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain('lost write on "x": process 0: write "2" ok');
    const fine = await check('--history', good, '--final', file('final-ok.json', '{"x":"3"}'));
    expect(fine.code).toBe(0);
    expect(fine.stdout).toContain('Lost writes: none (2 acknowledged writes');
  });

  it('exits 1 on a watch violation', async () => {
    const put = (value: string, rev: number): WatchRecord => ({ type: 'put', key: 'x', value, modRevision: rev, revision: rev });
    const missed = file('watch-missed.jsonl', [put('1', 2)].map(formatWatchRecord).join('\n'));
    const res = await check('--history', good, '--watch', missed);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('never seen: process 0: write "2" ok');
    const complete = file('watch-ok.jsonl', [put('1', 2), put('2', 3)].map(formatWatchRecord).join('\n'));
    expect((await check('--history', good, '--watch', complete)).code).toBe(0);
  });

  it('exits 2 when the search cannot finish within the time limit', async () => {
    // 30 concurrent writes, then a read of a value none wrote: 2^30 configurations to rule out.
    const parts: Ev[][] = [];
    for (let p = 0; p < 30; p++) parts.push(w(p, `v${p}`, 0, 1000));
    parts.push(r(30, 'ghost', 2000, 3000));
    const res = await check('--history', file('hard.jsonl', jsonl(seq(...parts))), '--time-limit', '200ms');
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('Linearizability: unknown');
    expect(res.stdout).toContain('Verdict: UNDECIDED');
  });

  it('exits 3 on unusable input, naming the line', async () => {
    const broken = file('broken.jsonl', `${jsonl(w(0, '1', 0, 10))}{"process":1,"type":"ok","f":"read","key":"x","value":"1","time":20}\n`);
    const res = await check('--history', broken);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('broken.jsonl: line 3: Process 1 completes (ok) an operation it never invoked.');
    expect((await check('--history', join(dir, 'missing.jsonl'))).code).toBe(3);
    expect((await check()).stderr).toContain('Give the history file with --history FILE.');
    expect((await check('--history', good, '--time-limit', 'soon')).code).toBe(3);
    expect((await check('--history', good, '--final', file('bad-final.json', '[1]'))).code).toBe(3);
    expect((await check('--histroy', good)).code).toBe(3);
  });
});
