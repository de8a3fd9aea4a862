/**
 * The work queue on a virtual clock: deduplication, one key on one worker at a time, per-key
 * exponential backoff, the global token bucket, addAfter, shutdown and the run loop.
 */
import { describe, expect, it } from 'vitest';
import { flushAsync, VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { Reconciled } from '../../../src/control-plane/client/work-queue.js';
import { TokenBucket, WorkQueue } from '../../../src/control-plane/client/work-queue.js';

/** deferred is a promise the test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('queues a key once however often it is added while waiting, in FIFO order', async () => {
    const q = new WorkQueue<string>({ clock: new VirtualClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    q.add('b');
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(0);
  });

  it('does not hand out a key being processed; a re-add while processing is queued after done', async () => {
    const q = new WorkQueue<string>({ clock: new VirtualClock() });
    q.add('a');
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((v) => (second = v));
    await flushAsync();
    expect(second).toBeUndefined();
    q.done('a');
    await flushAsync();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('backs a failing key off exponentially from the base delay and forgets on success', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue<string>({ clock, rateLimits: { baseDelayMs: 10, maxDelayMs: 80, qps: 1000, burst: 1000 } });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = clock.now();
      q.addRateLimited('k');
      expect(q.len()).toBe(0);
      let got: string | undefined;
      void q.get().then((v) => (got = v));
      // Step 1 ms at a time to observe exactly when the key comes back.
      while (got === undefined) await clock.advance(1);
      delays.push(clock.now() - t0);
      q.done('k');
    }
    expect(delays).toEqual([10, 20, 40, 80, 80]);
    expect(q.numRequeues('k')).toBe(5);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
  });

  it('limits the overall requeue rate with a token bucket once the burst is spent', () => {
    const clock = new VirtualClock();
    const b = new TokenBucket(clock, { qps: 10, burst: 2 });
    expect([b.reserve(), b.reserve(), b.reserve(), b.reserve()]).toEqual([0, 0, 100, 200]);
  });

  it('rate-limited adds of many keys are spread by the global bucket', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue<string>({ clock, rateLimits: { baseDelayMs: 1, qps: 10, burst: 1 } });
    q.addRateLimited('a');
    q.addRateLimited('b');
    q.addRateLimited('c');
    await clock.advance(1);
    expect(q.len()).toBe(1);
    await clock.advance(99);
    expect(q.len()).toBe(2);
    await clock.advance(100);
    expect(q.len()).toBe(3);
  });

  it('addAfter adds once the delay passed and keeps the earliest of two delays', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('x', 500);
    q.addAfter('x', 200);
    q.addAfter('x', 900);
    await clock.advance(199);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    await clock.advance(1000);
    expect(q.len()).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it('shutDown wakes waiting workers with undefined, cancels delays and refuses new keys', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue<string>({ clock });
    const waiting = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(clock.pending()).toBe(0);
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('run never processes one key on two workers at once and processes a key re-added meanwhile again', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue<string>({ clock });
    const active = new Set<string>();
    const log: string[] = [];
    const gates: Array<{ key: string; release: () => void }> = [];
    const overlaps: string[] = [];
    const handler = async (key: string): Promise<Reconciled> => {
      // Recorded, not asserted here: the queue treats a throwing handler as a failed key.
      if (active.has(key)) overlaps.push(key);
      active.add(key);
      log.push(`start ${key}`);
      const d = deferred<void>();
      gates.push({ key, release: () => d.resolve() });
      await d.promise;
      active.delete(key);
      log.push(`end ${key}`);
      return 'done';
    };
    const running = q.run(3, handler);
    q.add('a');
    q.add('b');
    await flushAsync();
    expect(log).toEqual(['start a', 'start b']);
    q.add('a'); // while a is processing: must wait, not go to the idle third worker
    await flushAsync();
    expect(log).toEqual(['start a', 'start b']);
    gates.shift()!.release();
    await flushAsync();
    expect(log).toEqual(['start a', 'start b', 'end a', 'start a']);
    for (const g of gates.splice(0)) g.release();
    await flushAsync();
    for (const g of gates.splice(0)) g.release();
    q.shutDown();
    await running;
    expect(log.filter((l) => l.startsWith('end')).sort()).toEqual(['end a', 'end a', 'end b']);
    expect(overlaps).toEqual([]);
  });

  it('run retries with backoff on retry and on a throw, requeues after requeueAfter, and forgets on done', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue<string>({ clock, rateLimits: { baseDelayMs: 100, qps: 1000, burst: 1000 } });
    const outcomes: Array<Reconciled | 'throw'> = ['retry', 'throw', { requeueAfter: 1000 }, 'done'];
    const seen: Array<{ at: number; requeues: number }> = [];
    const errors: unknown[] = [];
    const running = q.run(
      1,
      async (key) => {
        seen.push({ at: clock.now(), requeues: q.numRequeues(key) });
        const o = outcomes.shift();
        if (o === 'throw') throw new Error('bug');
        return o ?? 'done';
      },
      { onError: (_k, e) => errors.push(e) },
    );
    q.add('k');
    await clock.advance(5000);
    q.shutDown();
    await running;
    // retry → +100 ms (first failure); throw → +200 ms; requeueAfter → +1000 ms with failures forgotten.
    expect(seen).toEqual([
      { at: 0, requeues: 0 },
      { at: 100, requeues: 1 },
      { at: 300, requeues: 2 },
      { at: 1300, requeues: 0 },
    ]);
    expect(errors).toHaveLength(1);
    expect(q.numRequeues('k')).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});
