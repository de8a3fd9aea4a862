/**
 * The verdicts `chaos run` draws from a recorded run: a key the final reads could not reach
 * leaves its writes undecided (exit 2), not lost; a write the final state contradicts is lost.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChecks } from '../../src/chaos/report/checks.js';
import { exitCodeOf } from '../../src/chaos/report/verdicts.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = [
  { process: 0, type: 'invoke', f: 'write', key: 'k1', value: 1, time: 10 },
  { process: 0, type: 'ok', f: 'write', key: 'k1', value: 1, time: 20 },
  { process: 1, type: 'invoke', f: 'write', key: 'k2', value: 2, time: 30 },
  { process: 1, type: 'ok', f: 'write', key: 'k2', value: 2, time: 40 },
];
const historyPath = join(dir, 'history.jsonl');
writeFileSync(historyPath, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

async function lostVerdict(finalValues: Record<string, number | null>): Promise<{ result: string; code: number }> {
  const verdicts = await runChecks({ historyPath, ops: [], watch: [], finalValues, watchCaughtUp: true });
  const v = verdicts.find((x) => x.check === 'lost writes')!;
  return { result: v.result, code: exitCodeOf([v]) };
}

describe('watch verdict of a run', () => {
  const watchVerdict = async (watchCaughtUp: boolean): Promise<string> => {
    // The watcher saw k1's write, not k2's.
    const watch = [{ type: 'reconnect' as const, fromRevision: 1 }, { type: 'put' as const, key: 'k1', value: 1, modRevision: 2, revision: 2, response: 0 }];
    const verdicts = await runChecks({ historyPath, ops: [], watch, finalValues: { k1: 1, k2: 2 }, watchCaughtUp });
    return verdicts.find((x) => x.check === 'watch')!.result;
  };

  it('calls an acknowledged write the watcher never saw a violation once it had caught up', async () => {
    expect(await watchVerdict(true)).toBe('violation');
  });

  it('leaves it undecided when the watcher was stopped before catching up', async () => {
    expect(await watchVerdict(false)).toBe('unknown');
  });
});

describe('lost-write verdict of a run', () => {
  it('passes when every key was read back with its last write', async () => {
    expect(await lostVerdict({ k1: 1, k2: 2 })).toEqual({ result: 'pass', code: 0 });
  });

  it('is undecided, not a violation, when some keys could not be read after the run', async () => {
    expect(await lostVerdict({ k1: 1 })).toEqual({ result: 'unknown', code: 2 });
  });

  it('is a violation when a key read back lost its acknowledged write, whatever else is unread', async () => {
    expect(await lostVerdict({ k1: null })).toEqual({ result: 'violation', code: 1 });
  });
});
