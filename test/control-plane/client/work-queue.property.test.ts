/**
 * The work queue's two promises, checked over random schedules (fast-check, virtual clock):
 * safety — a key is never processed by two workers at once; liveness — every add (plain,
 * delayed, rate-limited, or a retry) is followed by a processing of that key that starts after
 * it, once the workers finish and time moves on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flushAsync, VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { Reconciled } from '../../../src/control-plane/client/work-queue.js';
import { WorkQueue } from '../../../src/control-plane/client/work-queue.js';

const KEYS = ['a', 'b', 'c', 'd'] as const;

type Command =
  | { readonly op: 'add'; readonly key: string }
  | { readonly op: 'addAfter'; readonly key: string; readonly ms: number }
  | { readonly op: 'addRateLimited'; readonly key: string }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'finish'; readonly index: number; readonly outcome: 'done' | 'retry' };

const key = fc.constantFrom(...KEYS);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), key }),
  fc.record({ op: fc.constant('addAfter' as const), key, ms: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ op: fc.constant('addRateLimited' as const), key }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('finish' as const), index: fc.nat(), outcome: fc.constantFrom('done' as const, 'retry' as const) }),
);

interface InFlight {
  readonly key: string;
  readonly finish: (o: Reconciled) => void;
}

async function check(workers: number, commands: readonly Command[]): Promise<void> {
  const clock = new VirtualClock();
  const q = new WorkQueue<string>({ clock, rateLimits: { baseDelayMs: 1, maxDelayMs: 16, qps: 100, burst: 3 } });
  const inFlight: InFlight[] = [];
  /** owed: keys added since their last processing started (each must be processed again). */
  const owed = new Set<string>();
  /** violations: keys handed to a worker while another worker held them (asserted outside the
   * handler, since the queue treats a throwing handler as a failed key). */
  const violations: string[] = [];
  const running = q.run(workers, (k) => {
    if (inFlight.some((f) => f.key === k)) violations.push(k);
    owed.delete(k);
    return new Promise<Reconciled>((resolve) => inFlight.push({ key: k, finish: resolve }));
  });
  const finish = async (f: InFlight, o: Reconciled): Promise<void> => {
    inFlight.splice(inFlight.indexOf(f), 1);
    if (o === 'retry') owed.add(f.key);
    f.finish(o);
    await flushAsync();
  };
  for (const c of commands) {
    switch (c.op) {
      case 'add':
        owed.add(c.key);
        q.add(c.key);
        break;
      case 'addAfter':
        owed.add(c.key);
        q.addAfter(c.key, c.ms);
        break;
      case 'addRateLimited':
        owed.add(c.key);
        q.addRateLimited(c.key);
        break;
      case 'advance':
        await clock.advance(c.ms);
        break;
      case 'finish': {
        const f = inFlight[c.index % Math.max(1, inFlight.length)];
        if (f !== undefined) await finish(f, c.outcome);
        break;
      }
    }
    await flushAsync();
    expect(violations).toEqual([]);
    expect(inFlight.length).toBeLessThanOrEqual(workers);
  }
  // Drain: finish everything successfully and let every delay run out.
  for (let round = 0; round < 100 && (inFlight.length > 0 || q.len() > 0 || clock.pending() > 0); round++) {
    for (const f of [...inFlight]) await finish(f, 'done');
    await clock.advance(1000);
  }
  expect(violations).toEqual([]);
  expect(inFlight).toEqual([]);
  expect([...owed]).toEqual([]);
  q.shutDown();
  await running;
  expect(clock.pending()).toBe(0);
}

describe('WorkQueue properties', () => {
  it('never runs a key on two workers and never loses an add, over random schedules', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(command, { maxLength: 60 }), (workers, commands) => check(workers, commands)),
      { numRuns: 150 },
    );
  });
});
