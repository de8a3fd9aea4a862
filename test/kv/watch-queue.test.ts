/**
 * watch-queue: a watcher's ResponseQueue against a plain array model — any run of pushes and
 * shifts (long backlogs that compact, queues that empty and start again at slot 0) gives the
 * responses back in order with the right event and byte counts; and Batch, the reusable list of
 * the fan-out path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batch } from '../../src/kv/watch/index.js';
import { ResponseQueue, type WatchResponse } from '../../src/kv/watch/watcher.js';

type Op = { readonly kind: 'push'; readonly n: number } | { readonly kind: 'shift'; readonly n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({ kind: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 1500 }) }),
);

describe('ResponseQueue', () => {
  it('gives back what was pushed, in order, with its counts, through compactions and restarts', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        let consumed = 0;
        const q = new ResponseQueue(() => consumed++);
        const model: { r: WatchResponse; events: number; bytes: number }[] = [];
        let revision = 0;
        let shifts = 0;
        for (const o of ops) {
          for (let k = 0; k < o.n; k++) {
            if (o.kind === 'push') {
              revision++;
              const item = { r: { type: 'progress', revision } as const, events: revision % 3, bytes: revision % 7 };
              q.push(item.r, item.events, item.bytes);
              model.push(item);
            } else {
              const got = q.shift();
              const want = model.shift();
              expect(got).toBe(want?.r);
              if (want !== undefined) shifts++;
            }
          }
          expect(q.length).toBe(model.length);
          expect(q.events).toBe(model.reduce((a, m) => a + m.events, 0));
          expect(q.bytes).toBe(model.reduce((a, m) => a + m.bytes, 0));
        }
        expect(consumed).toBe(shifts);
      }),
      { numRuns: 60 },
    );
  });

  it('tells its consumer once it becomes readable, and again after it was emptied', async () => {
    const q = new ResponseQueue(() => undefined);
    let told = 0;
    q.setOnReadable(() => told++);
    q.push({ type: 'progress', revision: 1 }, 0, 1);
    q.push({ type: 'progress', revision: 2 }, 0, 1);
    await Promise.resolve();
    expect(told).toBe(1);
    q.shift();
    q.shift();
    q.push({ type: 'progress', revision: 3 }, 0, 1);
    await Promise.resolve();
    expect(told).toBe(2);
    expect(q.shift()).toEqual({ type: 'progress', revision: 3 });
  });

  it('tells a consumer that registers on a queue already holding responses, once', async () => {
    const q = new ResponseQueue(() => undefined);
    q.push({ type: 'progress', revision: 1 }, 0, 1);
    let told = 0;
    q.setOnReadable(() => told++);
    q.push({ type: 'progress', revision: 2 }, 0, 1);
    expect(told).toBe(0);
    await Promise.resolve();
    expect(told).toBe(1);
  });
});

describe('Batch', () => {
  it('holds what was pushed until cleared, and refuses an index outside it', () => {
    const b = new Batch<string>();
    for (const round of [['a', 'b', 'c'], ['d'], ['e', 'f', 'g', 'h']]) {
      for (const s of round) b.push(s);
      expect(b.size).toBe(round.length);
      expect(Array.from({ length: b.size }, (_, i) => b.at(i))).toEqual(round);
      expect(() => b.at(round.length)).toThrow(RangeError);
      b.clear();
      expect(b.size).toBe(0);
      expect(() => b.at(0)).toThrow(/outside/);
    }
  });
});
