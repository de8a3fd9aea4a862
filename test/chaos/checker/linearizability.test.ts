/**
 * linearizability: hand-built histories with known verdicts. Each must-fail history is an
 * anomaly a broken store produces (stale read, lost write, a value seen before it was written,
 * cas that succeeds when it cannot); each must-pass history is a legal but awkward one
 * (concurrency that allows only one order, `info` writes that land late or never). The
 * time-limit path uses an injected clock, so no test depends on the machine's speed.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizability, formatLinearizability, type LinearizabilityResult } from '../../../src/chaos/checker/index.js';
import { ops, type Ev } from './build.js';

const LIMIT = { timeLimitMs: 60_000 };

async function check(evs: readonly Ev[]): Promise<LinearizabilityResult> {
  return checkLinearizability(await ops(evs), LIMIT);
}

/** w/r/c: one complete operation of one process, [invokeTime, returnTime]. */
function w(p: number, v: string, t0: number, t1: number, type: 'ok' | 'fail' | 'info' = 'ok', key = 'x'): Ev[] {
  return [[t0, p, 'invoke', 'write', v, key], [t1, p, type, 'write', v, key]];
}
function r(p: number, v: string | null, t0: number, t1: number, key = 'x'): Ev[] {
  return [[t0, p, 'invoke', 'read', null, key], [t1, p, 'ok', 'read', v, key]];
}
function c(p: number, from: string | null, to: string, t0: number, t1: number, type: 'ok' | 'fail' | 'info' = 'ok'): Ev[] {
  return [[t0, p, 'invoke', 'cas', [from, to]], [t1, p, type, 'cas', [from, to]]];
}
/** seq lays out events in time order, as a recorder writes them. */
function seq(...parts: Ev[][]): Ev[] {
  return parts.flat().sort((a, b) => a[0] - b[0]);
}

describe('must fail', () => {
  it('a stale read after a partition: the register moved on to 2, a later read sees 1', async () => {
    const res = await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30), r(2, '1', 40, 50)));
    expect(res.verdict).toBe('not-linearizable');
    const ce = res.counterexample;
    expect(ce?.key).toBe('x');
    expect(ce?.register).toBe('2');
    expect(ce?.stuck.call.f).toBe('read');
    expect(ce?.stuck.process).toBe(2);
  });

  it('a lost write: an acknowledged write, then a read that sees nothing', async () => {
    expect((await check(seq(w(0, '1', 0, 10), r(1, null, 20, 30)))).verdict).toBe('not-linearizable');
  });

  it('a lost write overwritten by an older value: read sees the first of two sequential writes', async () => {
    expect((await check(seq(w(0, 'a', 0, 10), w(0, 'b', 20, 30), r(1, 'a', 40, 50)))).verdict).toBe('not-linearizable');
  });

  it('a write visible before it was invoked', async () => {
    expect((await check(seq(r(1, '5', 0, 10), w(0, '5', 20, 30)))).verdict).toBe('not-linearizable');
  });

  it('an info write visible before it was invoked (late effect is allowed, early is not)', async () => {
    expect((await check(seq(r(1, '5', 0, 10), w(0, '5', 20, 30, 'info')))).verdict).toBe('not-linearizable');
  });

  it('a read of a value only a failed write tried to write', async () => {
    expect((await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'fail'), r(2, '2', 40, 50)))).verdict).toBe('not-linearizable');
  });

  it('a read of a value never written at all', async () => {
    expect((await check(seq(w(0, '1', 0, 10), r(1, 'ghost', 20, 30)))).verdict).toBe('not-linearizable');
  });

  it('cas succeeds although the register did not hold its expected value', async () => {
    expect((await check(seq(w(0, '1', 0, 10), c(1, '2', '3', 20, 30)))).verdict).toBe('not-linearizable');
  });

  it('two concurrent cas from the same expected value both succeed', async () => {
    expect((await check(seq(w(0, '1', 0, 10), c(1, '1', '2', 20, 40), c(2, '1', '3', 20, 40)))).verdict).toBe('not-linearizable');
  });

  it('a read after a successful cas sees the value from before it', async () => {
    expect((await check(seq(w(0, '1', 0, 10), c(1, '1', '2', 20, 30), r(2, '1', 40, 50)))).verdict).toBe('not-linearizable');
  });

  it('concurrent writes, then reads that see them in both orders', async () => {
    // 1 and 2 may land in either order, but then the register cannot go back.
    const res = await check(seq(w(0, '1', 0, 100), w(1, '2', 0, 100), r(2, '2', 110, 120), r(2, '1', 130, 140)));
    expect(res.verdict).toBe('not-linearizable');
  });

  it('a read concurrent with a write sees the new value, a later read the old one', async () => {
    expect((await check(seq(w(0, '0', 0, 5), w(1, '1', 10, 100), r(2, '1', 20, 30), r(3, '0', 40, 50)))).verdict).toBe('not-linearizable');
  });

  it('an info write takes effect at most once: the register cannot return to its value after moving on', async () => {
    expect((await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'info'), r(2, '2', 40, 50), w(3, '3', 60, 70), r(2, '2', 80, 90)))).verdict).toBe(
      'not-linearizable',
    );
  });

  it('an info cas that lands late still needs its expected value', async () => {
    expect((await check(seq(w(0, '1', 0, 10), c(1, '3', '2', 20, 30, 'info'), r(2, '1', 40, 50), r(3, '2', 60, 70)))).verdict).toBe('not-linearizable');
  });

  it('one bad key makes the history bad, and the counterexample names it', async () => {
    const good = seq(w(0, '1', 0, 10, 'ok', 'a'), r(1, '1', 20, 30, 'a'));
    const bad = seq(w(2, '1', 0, 10, 'ok', 'b'), w(2, '2', 20, 30, 'ok', 'b'), r(3, '1', 40, 50, 'b'));
    const res = await check(seq(good, bad));
    expect(res.verdict).toBe('not-linearizable');
    expect(res.keys.map((k) => [k.key, k.verdict])).toEqual([
      ['a', 'linearizable'],
      ['b', 'not-linearizable'],
    ]);
    expect(res.counterexample?.key).toBe('b');
  });
});

describe('must pass', () => {
  it('a read of an untouched key sees null', async () => {
    expect((await check(seq(r(0, null, 0, 10), w(1, '1', 20, 30), r(0, '1', 40, 50)))).verdict).toBe('linearizable');
  });

  it('concurrent writes linearizable only in one order (2 then 1)', async () => {
    expect((await check(seq(w(0, '1', 0, 100), w(1, '2', 0, 100), r(2, '1', 110, 120), r(2, '1', 130, 140)))).verdict).toBe('linearizable');
  });

  it('a read concurrent with a write may see either value', async () => {
    expect((await check(seq(w(0, '0', 0, 5), w(1, '1', 10, 100), r(2, '1', 20, 30), r(3, '1', 40, 50)))).verdict).toBe('linearizable');
    expect((await check(seq(w(0, '0', 0, 5), w(1, '1', 10, 100), r(2, '0', 20, 30), r(3, '1', 40, 50)))).verdict).toBe('linearizable');
  });

  it('an info write that takes effect late: reads see the old value, then long after its timeout the new one', async () => {
    const res = await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'info'), r(2, '1', 40, 50), r(2, '1', 1000, 1010), r(3, '2', 5000, 5010)));
    expect(res.verdict).toBe('linearizable');
  });

  it('an info write that never takes effect', async () => {
    expect((await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'info'), r(2, '1', 40, 50), r(3, '1', 60, 70)))).verdict).toBe('linearizable');
  });

  it('an info cas that lands late, after reads of its expected value', async () => {
    expect((await check(seq(w(0, '1', 0, 10), c(1, '1', '2', 20, 30, 'info'), r(2, '1', 40, 50), r(3, '2', 60, 70)))).verdict).toBe('linearizable');
  });

  it('an operation never completed (the history ended first) counts as info', async () => {
    const evs: Ev[] = [...seq(w(0, '1', 0, 10)), [20, 1, 'invoke', 'write', '2'], ...r(2, '1', 30, 40), ...r(3, '2', 50, 60)];
    expect((await check(evs)).verdict).toBe('linearizable');
  });

  it('a failed write never took effect, and reads say so', async () => {
    expect((await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'fail'), r(2, '1', 40, 50)))).verdict).toBe('linearizable');
  });

  it('a failed cas is no constraint, a successful one moves the register', async () => {
    expect((await check(seq(w(0, '1', 0, 10), c(1, '9', '2', 20, 30, 'fail'), c(1, '1', '3', 40, 50), r(2, '3', 60, 70)))).verdict).toBe('linearizable');
  });

  it('a process reuses its id after an info (the unknown operation stays open)', async () => {
    const res = await check(seq(w(0, '1', 0, 10), w(1, '2', 20, 30, 'info'), w(1, '3', 40, 50), r(2, '3', 60, 70), r(2, '2', 80, 90)));
    expect(res.verdict).toBe('linearizable');
  });

  it('operations that touch at one instant count as concurrent', async () => {
    expect((await check(seq(w(0, '1', 0, 10), r(1, '1', 10, 20)))).verdict).toBe('linearizable');
    expect((await check(seq(r(1, '1', 0, 10), w(0, '1', 10, 20)))).verdict).toBe('linearizable');
  });

  it('an empty history is linearizable', async () => {
    expect((await check([])).verdict).toBe('linearizable');
  });
});

describe('undecided', () => {
  // n concurrent writes of distinct values, then a read of a value none of them wrote: every
  // subset of the writes is a distinct configuration, so the search has 2^n states to exhaust.
  function hard(n: number): Ev[] {
    const parts: Ev[][] = [];
    for (let p = 0; p < n; p++) parts.push(w(p, `v${p}`, 0, 1000));
    parts.push(r(n, 'ghost', 2000, 2010));
    return seq(...parts);
  }

  it('reports unknown when the time limit runs out, not a guess', async () => {
    let t = 0;
    const res = checkLinearizability(await ops(hard(24)), { timeLimitMs: 5, now: () => t++ });
    expect(res.verdict).toBe('unknown');
    expect(res.keys).toEqual([{ key: 'x', ops: 25, verdict: 'unknown', reason: 'time-limit' }]);
    expect(res.counterexample).toBeNull();
    expect(formatLinearizability(res)).toContain('the time limit ran out');
  });

  it('reports unknown when the search outgrows its memory bound', async () => {
    const res = checkLinearizability(await ops(hard(24)), { timeLimitMs: 60_000, maxCacheBytes: 64 * 1024 });
    expect(res.keys[0]).toMatchObject({ verdict: 'unknown', reason: 'memory-limit' });
  });

  it('a proven bad key wins over an undecided one', async () => {
    const bad = seq(w(30, '1', 0, 10, 'ok', 'y'), w(30, '2', 20, 30, 'ok', 'y'), r(31, '1', 40, 50, 'y'));
    const res = checkLinearizability(await ops(seq(hard(24), bad)), { timeLimitMs: 60_000, maxCacheBytes: 64 * 1024 });
    expect(res.keys.map((k) => k.verdict)).toEqual(['unknown', 'not-linearizable']);
    expect(res.verdict).toBe('not-linearizable');
  });

  it('decides the same hard history given room (small enough to exhaust)', async () => {
    expect(checkLinearizability(await ops(hard(10)), LIMIT).verdict).toBe('not-linearizable');
  });
});

describe('counterexample', () => {
  it('prints the window: the stuck operation, the pending ones, and the register value', async () => {
    const res = await check(seq(w(0, '1', 0, 10_000_000), w(1, '2', 20_000_000, 30_000_000), r(2, '1', 40_000_000, 50_000_000), w(3, '9', 45_000_000, 60_000_000)));
    const text = formatLinearizability(res);
    expect(text).toContain('Linearizability: not-linearizable');
    expect(text).toContain('Key "x" is not linearizable.');
    // The deepest order places writes 1, 2 and 9 (9 may land before the read returns).
    expect(text).toContain('places 3 of its 4 relevant operations, leaving the register at "9"');
    expect(text).toContain('process 2: read ok -> "1"  [40.000 ms .. 50.000 ms]');
    expect(text).toContain('process 3: write "9" ok');
    // Operations that finished long before are not part of the window.
    expect(text).not.toContain('process 0:');
    const ce = res.counterexample;
    expect(ce?.stuck.process).toBe(2);
    expect([...(ce?.pending ?? []), ...(ce?.placed ?? [])].map((o) => o.process).sort()).toEqual([2, 3]);
  });
});
