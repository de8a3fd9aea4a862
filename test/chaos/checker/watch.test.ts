/**
 * watch: a whole-run watcher's stream against the history — each guarantee (order, uniqueness,
 * atomic revisions, resumption, completeness, real-time order of acknowledged writes) has a
 * stream that keeps it and one that breaks it.
 */
import { describe, expect, it } from 'vitest';
import { checkWatch, formatWatch, parseWatchRecord, type WatchRecord } from '../../../src/chaos/checker/index.js';
import { ops, type Ev } from './build.js';

function w(p: number, v: string, t0: number, t1: number, type: 'ok' | 'fail' | 'info' = 'ok', key = 'x'): Ev[] {
  return [[t0, p, 'invoke', 'write', v, key], [t1, p, type, 'write', v, key]];
}
const seq = (...parts: Ev[][]): Ev[] => parts.flat().sort((a, b) => a[0] - b[0]);
const put = (key: string, value: string, modRevision: number, response = modRevision): WatchRecord => ({ type: 'put', key, value, modRevision, revision: modRevision, response });

// Three sequential acknowledged writes on x and one on y.
const history = seq(w(0, '1', 0, 10), w(0, '2', 20, 30), w(0, '3', 40, 50), w(1, 'a', 0, 10, 'ok', 'y'));
const good: WatchRecord[] = [put('x', '1', 2), put('y', 'a', 3), put('x', '2', 4), { type: 'reconnect', fromRevision: 5 }, put('x', '3', 5)];

async function kinds(records: readonly WatchRecord[], evs: readonly Ev[] = history): Promise<string[]> {
  return checkWatch(records, await ops(evs)).violations.map((v) => v.kind);
}

describe('checkWatch', () => {
  it('passes a complete, ordered stream with a clean resume', async () => {
    const r = checkWatch(good, await ops(history));
    expect(r).toEqual({ ok: true, events: 4, violations: [] });
    expect(formatWatch(r)).toContain('all guarantees held');
  });

  it('passes when an info write is seen (it may have landed) or not', async () => {
    const evs = seq(w(0, '1', 0, 10), w(1, '9', 20, 30, 'info'));
    expect(await kinds([put('x', '1', 2)], evs)).toEqual([]);
    expect(await kinds([put('x', '1', 2), put('x', '9', 3)], evs)).toEqual([]);
  });

  it('flags an acknowledged write never seen (a gap)', async () => {
    expect(await kinds(good.filter((r) => !(r.type === 'put' && r.key === 'y')))).toEqual(['missed-write']);
  });

  it('flags events out of order', async () => {
    expect(await kinds([put('x', '1', 2), put('x', '2', 4), put('y', 'a', 3), put('x', '3', 5)])).toContain('out-of-order');
  });

  it('flags a duplicate event', async () => {
    expect(await kinds([...good, put('x', '3', 5, 6)])).toEqual(['duplicate']);
  });

  it('flags a revision split across responses', async () => {
    const evs = seq(w(0, '1', 0, 10), w(1, 'a', 0, 10, 'ok', 'y'));
    // Two keys changed at revision 2 (one transaction), delivered in two responses.
    expect(await kinds([put('x', '1', 2, 1), put('y', 'a', 2, 2)], evs)).toEqual(['split-revision']);
    expect(await kinds([put('x', '1', 2, 1), put('y', 'a', 2, 1)], evs)).toEqual([]);
  });

  it('flags a header revision behind its event', async () => {
    expect(await kinds([{ type: 'put', key: 'x', value: '1', modRevision: 2, revision: 1 }], seq(w(0, '1', 0, 10)))).toEqual(['header-behind']);
  });

  it('flags a resume that skips revisions, and a resumed stream that starts too early', async () => {
    expect(await kinds([put('x', '1', 2), put('y', 'a', 3), put('x', '2', 4), { type: 'reconnect', fromRevision: 7 }, put('x', '3', 7)])).toEqual(['resume-gap']);
    expect(await kinds([put('x', '1', 2), { type: 'reconnect', fromRevision: 3 }, put('y', 'a', 2), put('x', '2', 4), put('x', '3', 5)])).toEqual(['before-start']);
  });

  it('flags a value no write produced, and any delete', async () => {
    expect(await kinds([...good, put('x', 'ghost', 6)])).toEqual(['phantom']);
    expect(await kinds([...good, { type: 'delete', key: 'x', value: null, modRevision: 6, revision: 6 }])).toEqual(['phantom']);
  });

  it('flags acknowledged writes seen against their real-time order', async () => {
    const r = checkWatch([put('x', '2', 2), put('x', '1', 3), put('y', 'a', 4), put('x', '3', 5)], await ops(history));
    expect(r.violations).toMatchObject([{ kind: 'write-order', key: 'x', first: { call: { value: '1' } }, second: { call: { value: '2' } } }]);
    expect(formatWatch(r)).toContain('seen out of real-time order');
  });

  it('accepts concurrent acknowledged writes in either order', async () => {
    const evs = seq(w(0, '1', 0, 100), w(1, '2', 10, 50));
    expect(await kinds([put('x', '2', 2), put('x', '1', 3)], evs)).toEqual([]);
    expect(await kinds([put('x', '1', 2), put('x', '2', 3)], evs)).toEqual([]);
  });
});

describe('parseWatchRecord', () => {
  it('round-trips events and reconnects', () => {
    expect(parseWatchRecord('{"type":"put","key":"k","value":"v","modRevision":3,"revision":4,"response":1}', 1)).toEqual({
      ok: true,
      value: { type: 'put', key: 'k', value: 'v', modRevision: 3, revision: 4, response: 1 },
    });
    expect(parseWatchRecord('{"type":"reconnect","fromRevision":9}', 1)).toEqual({ ok: true, value: { type: 'reconnect', fromRevision: 9 } });
  });
  it.each([
    ['x', 'Not JSON'],
    ['{"type":"patch"}', '"type" must be put, delete or reconnect'],
    ['{"type":"reconnect"}', 'A reconnect needs "fromRevision"'],
    ['{"type":"put","key":"k","value":"v","modRevision":-1,"revision":1}', '"modRevision" and "revision" must be whole numbers'],
  ])('rejects %s with its line', (text, message) => {
    const r = parseWatchRecord(text, 4);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(`line 4: ${r.error.slice('line 4: '.length)}`);
    if (!r.ok) expect(r.error).toContain(message);
  });
});
