/**
 * lost-writes: every acknowledged write is visible at the end or superseded by the writer of
 * the final value; a final value nobody wrote and a key without a final value are reported.
 */
import { describe, expect, it } from 'vitest';
import { checkLostWrites, formatLostWrites, parseFinalState, type FinalState } from '../../../src/chaos/checker/index.js';
import type { Value } from '../../../src/chaos/history.js';
import { ops, type Ev } from './build.js';

function w(p: number, v: string, t0: number, t1: number, type: 'ok' | 'fail' | 'info' = 'ok', key = 'x'): Ev[] {
  return [[t0, p, 'invoke', 'write', v, key], [t1, p, type, 'write', v, key]];
}
const seq = (...parts: Ev[][]): Ev[] => parts.flat().sort((a, b) => a[0] - b[0]);
const final = (o: Record<string, Value>): FinalState => new Map(Object.entries(o));

describe('checkLostWrites', () => {
  it('passes when the last write is visible', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 10), w(0, '2', 20, 30))), final({ x: '2' }));
    expect(r).toEqual({ ok: true, acknowledged: 2, violations: [] });
  });

  it('passes when a concurrent write won', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 100), w(1, '2', 10, 50))), final({ x: '1' }));
    expect(r.ok).toBe(true);
  });

  it('passes when an info write landed late over an acknowledged one', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 10, 'info'), w(1, '2', 20, 30))), final({ x: '1' }));
    expect(r.ok).toBe(true);
  });

  it('flags an acknowledged write the final value cannot follow', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 10), w(1, '2', 20, 30))), final({ x: '1' }));
    expect(r.ok).toBe(false);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatchObject({ kind: 'lost', key: 'x', final: '1', op: { process: 1, call: { f: 'write', value: '2' } } });
    expect(formatLostWrites(r)).toContain('lost write on "x": process 1: write "2" ok');
  });

  it('flags every acknowledged write when the key ends empty', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 10), w(0, '2', 20, 30))), final({ x: null }));
    expect(r.violations.map((v) => v.kind)).toEqual(['lost', 'lost']);
  });

  it('does not count a failed write as acknowledged, nor let it explain the final value', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'fail'))), final({ x: '2' }));
    expect(r.acknowledged).toBe(1);
    expect(r.violations).toEqual([{ kind: 'unwritten-final', key: 'x', final: '2' }]);
  });

  it('flags a key with acknowledged writes and no final value', async () => {
    const r = checkLostWrites(await ops(seq(w(0, '1', 0, 10, 'ok', 'x'), w(1, '1', 0, 10, 'ok', 'y'))), final({ x: '1' }));
    expect(r.violations).toEqual([{ kind: 'no-final-read', key: 'y', acknowledged: 1 }]);
  });

  it('counts a successful cas as a write', async () => {
    const evs: Ev[] = [...w(0, 'a', 0, 10), [20, 1, 'invoke', 'cas', ['a', 'b']], [30, 1, 'ok', 'cas', ['a', 'b']]];
    expect(checkLostWrites(await ops(evs), final({ x: 'b' })).ok).toBe(true);
    expect(checkLostWrites(await ops(evs), final({ x: 'a' })).violations).toMatchObject([{ kind: 'lost', op: { call: { f: 'cas' } } }]);
  });
});

describe('parseFinalState', () => {
  it('reads an object of scalars', () => {
    expect(parseFinalState('{"a":"1","b":null,"c":3}')).toEqual({ ok: true, value: new Map<string, Value>([['a', '1'], ['b', null], ['c', 3]]) });
  });
  it.each([
    ['nope', 'Not JSON'],
    ['[1]', 'Not a JSON object'],
    ['{"a":{"b":1}}', 'The final value of "a" must be a JSON scalar'],
  ])('rejects %s', (text, message) => {
    const r = parseFinalState(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });
});
