// watch-hub: live delivery, replay from history, compaction, filters, prev_kv, slow consumers, progress.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { MvccStore } from '../../src/kv/mvcc/index.js';
import { WatchHub, type WatchHubOptions, type WatchResponse } from '../../src/kv/watch/index.js';
import { b, TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
let s: MvccStore;
let tasks: (() => void)[];
let hub: WatchHub;

/** manual scheduling: catch-up steps run only when the test says so. */
function newHub(options: WatchHubOptions = {}): WatchHub {
  return new WatchHub(s, { schedule: (t) => tasks.push(t), ...options });
}
function runScheduled(): void {
  for (let guard = 0; tasks.length > 0; guard++) {
    if (guard > 10_000) throw new Error('catch-up does not settle');
    (tasks.shift() as () => void)();
  }
}

beforeEach(async () => {
  s = await dirs.open();
  tasks = [];
  hub = newHub();
});
afterEach(async () => {
  hub.close();
  await dirs.cleanup();
});

/** show renders responses compactly: "rev:PUT a=1,DELETE b" / "progress@rev" / "canceled@rev". */
function show(rs: readonly WatchResponse[]): string[] {
  return rs.map((r) => {
    switch (r.type) {
      case 'events':
        return `${r.revision}:` + r.events.map((e) => `${e.type} ${e.kv.key.toString()}${e.type === 'PUT' ? `=${e.kv.value.toString()}` : ''}@${e.kv.mod_revision}`).join(',');
      case 'progress':
        return `progress@${r.revision}`;
      case 'canceled':
        return `canceled@${r.revision} compact=${r.compact_revision}`;
    }
  });
}
const put = (k: string, v: string): number => unwrap(s.put({ key: b(k), value: b(v) })).revision;
const del = (k: string): number => unwrap(s.deleteRange({ key: b(k) })).revision;

describe('live events', () => {
  test('the watchers of a one-event change share one response (one with prev_kv for those that ask)', () => {
    put('k', 'old');
    const plain = [hub.watch({ key: b('k') }), hub.watch({ key: b('a'), range_end: b('z') }), hub.watch({ key: b('k') })];
    const withPrev = [hub.watch({ key: b('k'), prev_kv: true }), hub.watch({ key: b('k'), prev_kv: true })];
    put('k', 'new');
    const got = [...plain, ...withPrev].map((w) => w.poll());
    for (const rs of got) expect(show(rs)).toEqual(['3:PUT k=new@3']);
    const [p0, p1, p2, q0, q1] = got.map((rs) => rs[0]);
    expect(p1).toBe(p0);
    expect(p2).toBe(p0);
    expect(q1).toBe(q0);
    expect(q0).not.toBe(p0);
    expect(q0?.type === 'events' ? q0.events[0]?.prev_kv?.value.toString() : null).toBe('old');
    expect(p0?.type === 'events' ? p0.events[0]?.prev_kv : null).toBeUndefined();
  });

  test('a key watcher sees its key only, in revision order', () => {
    const w = hub.watch({ key: b('a') });
    put('a', '1');
    put('b', '1');
    put('a', '2');
    del('a');
    expect(show(w.poll())).toEqual(['2:PUT a=1@2', '4:PUT a=2@4', '5:DELETE a@5']);
  });

  test('range and prefix watchers see their ranges', () => {
    const range = hub.watch({ key: b('a'), range_end: b('c') });
    const from = hub.watch({ key: b('b'), range_end: Buffer.of(0) });
    for (const k of ['a', 'b', 'c', 'ab']) put(k, 'x');
    expect(show(range.poll())).toEqual(['2:PUT a=x@2', '3:PUT b=x@3', '5:PUT ab=x@5']);
    expect(show(from.poll())).toEqual(['3:PUT b=x@3', '4:PUT c=x@4']);
  });

  test('a transaction arrives as one response', () => {
    const w = hub.watch({ key: b('a'), range_end: b('z') });
    put('a', '0');
    unwrap(
      s.txn({
        success: [{ request_put: { key: b('a'), value: b('1') } }, { request_put: { key: b('b'), value: b('1') } }, { request_delete_range: { key: b('a') } }],
      }),
    );
    expect(show(w.poll())).toEqual(['2:PUT a=0@2', '3:PUT a=1@3,PUT b=1@3,DELETE a@3']);
  });

  test('NOPUT and NODELETE filters', () => {
    const noPut = hub.watch({ key: b('a'), filters: ['NOPUT'] });
    const noDel = hub.watch({ key: b('a'), filters: ['NODELETE'] });
    put('a', '1');
    del('a');
    expect(show(noPut.poll())).toEqual(['3:DELETE a@3']);
    expect(show(noDel.poll())).toEqual(['2:PUT a=1@2']);
  });

  test('prev_kv carries the previous pair for puts and deletes', () => {
    const w = hub.watch({ key: b('a'), prev_kv: true });
    put('a', '1');
    put('a', '2');
    del('a');
    const events = w.poll().flatMap((r) => (r.type === 'events' ? r.events : []));
    expect(events.map((e) => e.prev_kv?.value.toString() ?? null)).toEqual([null, '1', '2']);
    expect(events[2]?.prev_kv?.mod_revision).toBe(3);
  });

  test('a future start_revision skips earlier changes', () => {
    const w = hub.watch({ key: b('a'), start_revision: 4 });
    put('a', '1');
    put('a', '2');
    put('a', '3');
    expect(show(w.poll())).toEqual(['4:PUT a=3@4']);
  });

  test('writes with no watchers, or none matching, cost nothing visible', () => {
    put('x', '1');
    const w = hub.watch({ key: b('a') });
    put('x', '2');
    expect(w.poll()).toEqual([]);
  });
});

describe('replay from history', () => {
  test('start_revision in the past replays history, then joins the live stream', () => {
    put('a', '1');
    put('b', '1');
    del('a');
    const w = hub.watch({ key: b('a'), range_end: b('z'), start_revision: 2 });
    expect(w.poll()).toEqual([]); // nothing until the catch-up step runs
    runScheduled();
    expect(show(w.poll())).toEqual(['4:PUT a=1@2,PUT b=1@3,DELETE a@4']);
    expect(hub.syncedCount).toBe(1);
    put('c', '1');
    expect(show(w.poll())).toEqual(['5:PUT c=1@5']);
  });

  test('catch-up in small chunks with writes in between loses and repeats nothing', () => {
    hub.close();
    hub = newHub({ catchUpEvents: 2 });
    const all: string[] = [];
    s.subscribe({ onChanges: (cs) => all.push(...cs.events.map((e) => `${e.type} ${e.kv.key.toString()}@${e.kv.mod_revision}`)) });
    for (let i = 0; i < 10; i++) put(`k${i % 3}`, String(i));
    const w = hub.watch({ key: b('k'), range_end: b('l'), start_revision: 1 });
    const got: string[] = [];
    const take = (): void => {
      for (const r of w.poll()) if (r.type === 'events') got.push(...r.events.map((e) => `${e.type} ${e.kv.key.toString()}@${e.kv.mod_revision}`));
    };
    for (let i = 0; i < 20; i++) {
      const t = tasks.shift();
      t?.();
      if (i % 2 === 0) put(`k${i % 4}`, 'live');
      if (i % 5 === 0) del('k1');
      take();
    }
    runScheduled();
    take();
    expect(got).toEqual(all);
  });

  test('replay includes prev_kv and honours filters', () => {
    put('a', '1');
    put('a', '2');
    del('a');
    const w = hub.watch({ key: b('a'), start_revision: 3, prev_kv: true, filters: ['NODELETE'] });
    runScheduled();
    const [r] = w.poll();
    expect(r?.type === 'events' && r.events.map((e) => `${e.type} ${e.kv.value.toString()} prev=${e.prev_kv?.value.toString()}`)).toEqual(['PUT 2 prev=1']);
  });

  test('uncommitted and committed history replay the same', async () => {
    put('a', '1');
    await s.commit();
    put('a', '2');
    const w = hub.watch({ key: b('a'), start_revision: 1 });
    runScheduled();
    expect(show(w.poll())).toEqual(['3:PUT a=1@2,PUT a=2@3']);
  });
});

describe('compaction', () => {
  test('a start_revision below the compacted revision cancels the watcher with compact_revision', () => {
    put('a', '1');
    put('a', '2');
    put('a', '3');
    unwrap(s.compact(3));
    const w = hub.watch({ key: b('a'), start_revision: 2 });
    expect(show(w.poll())).toEqual(['canceled@4 compact=3']);
    expect(w.done).toBe(true);
    expect(hub.watcherCount).toBe(0);
  });

  test('watching from the compacted revision itself is allowed', () => {
    put('a', '1');
    put('a', '2');
    unwrap(s.compact(3));
    const w = hub.watch({ key: b('a'), start_revision: 3 });
    runScheduled();
    expect(show(w.poll())).toEqual(['3:PUT a=2@3']);
  });

  test('an unsynced watcher overtaken by compaction is cancelled when it next catches up', () => {
    hub.close();
    hub = newHub({ catchUpEvents: 1 });
    for (let i = 0; i < 6; i++) put('a', String(i));
    const w = hub.watch({ key: b('a'), start_revision: 2 });
    tasks.shift()?.(); // delivers revision 2 only
    unwrap(s.compact(5));
    runScheduled();
    expect(show(w.poll())).toEqual(['7:PUT a=0@2', 'canceled@7 compact=5']);
  });
});

describe('slow consumers', () => {
  test('a synced watcher over its bound is cancelled with a reason; writes and other watchers carry on', async () => {
    hub.close();
    hub = newHub({ maxPendingEvents: 3 });
    const slow = hub.watch({ key: b('a') });
    const fast = hub.watch({ key: b('a') });
    const fastSeen: string[] = [];
    for (let i = 0; i < 5; i++) {
      put('a', String(i));
      fastSeen.push(...show(fast.poll()));
    }
    const rs = slow.poll();
    expect(show(rs)).toEqual(['2:PUT a=0@2', '3:PUT a=1@3', '4:PUT a=2@4', 'canceled@5 compact=0']);
    const last = rs.at(-1);
    expect(last?.type === 'canceled' && last.cancel_reason).toMatch(/too slow.*watch again from revision 5/);
    expect(await slow.next()).toBeUndefined();
    expect(fastSeen).toHaveLength(5);
    expect(hub.watcherCount).toBe(1);
  });

  test('a single revision larger than the bound still reaches an empty queue', () => {
    hub.close();
    hub = newHub({ maxPendingEvents: 2 });
    const w = hub.watch({ key: b('k'), range_end: b('l') });
    unwrap(s.txn({ success: ['k1', 'k2', 'k3', 'k4'].map((k) => ({ request_put: { key: b(k), value: b('v') } })) }));
    expect(show(w.poll())).toEqual(['2:PUT k1=v@2,PUT k2=v@2,PUT k3=v@2,PUT k4=v@2']);
  });

  test('the byte bound counts too', () => {
    hub.close();
    hub = newHub({ maxPendingBytes: 1000 });
    const w = hub.watch({ key: b('a') });
    put('a', 'x'.repeat(600));
    put('a', 'y'.repeat(600));
    expect(show(w.poll()).map((r) => r.slice(0, 10))).toEqual(['2:PUT a=xx', 'canceled@3']);
  });

  test('an unsynced watcher pauses catching up until its consumer reads, and is not cancelled', () => {
    hub.close();
    hub = newHub({ maxPendingEvents: 2, catchUpEvents: 100 });
    for (let i = 0; i < 7; i++) put('a', String(i));
    const w = hub.watch({ key: b('a'), start_revision: 2 });
    runScheduled();
    expect(show(w.poll())).toEqual(['8:PUT a=0@2,PUT a=1@3']);
    expect(tasks).toHaveLength(1); // reading made room: another step is scheduled
    runScheduled();
    expect(show(w.poll())).toEqual(['8:PUT a=2@4,PUT a=3@5']);
    runScheduled();
    runScheduled();
    expect(show(w.poll())).toEqual(['8:PUT a=4@6,PUT a=5@7']);
    runScheduled();
    expect(show(w.poll())).toEqual(['8:PUT a=6@8']);
    put('a', 'live');
    expect(show(w.poll())).toEqual(['9:PUT a=live@9']);
  });
});

describe('progress', () => {
  test('progressNotify reaches idle, caught-up watchers that asked for it', () => {
    const idle = hub.watch({ key: b('a'), progress_notify: true });
    const busy = hub.watch({ key: b('b'), progress_notify: true });
    const quiet = hub.watch({ key: b('c') });
    put('a', '1');
    idle.poll();
    put('b', '1');
    expect(hub.progressNotify()).toBe(1);
    expect(show(idle.poll())).toEqual(['progress@3']);
    expect(show(busy.poll())).toEqual(['3:PUT b=1@3']);
    expect(quiet.poll()).toEqual([]);
  });

  test('requestProgress answers at once when caught up, after catching up otherwise', () => {
    put('a', '1');
    const synced = hub.watch({ key: b('a') });
    hub.requestProgress(synced);
    expect(show(synced.poll())).toEqual(['progress@2']);
    const behind = hub.watch({ key: b('a'), start_revision: 1 });
    hub.requestProgress(behind);
    expect(behind.poll()).toEqual([]);
    runScheduled();
    expect(show(behind.poll())).toEqual(['2:PUT a=1@2', 'progress@2']);
  });
});

describe('consumers', () => {
  test('cancel stops a watcher and ends its readers', async () => {
    const w = hub.watch({ key: b('a') });
    put('a', '1');
    const pending = w.next();
    expect(show([(await pending) as WatchResponse])).toEqual(['2:PUT a=1@2']);
    const waiting = w.next();
    w.cancel();
    expect(await waiting).toBeUndefined();
    put('a', '2');
    expect(w.poll()).toEqual([]);
    expect(hub.watcherCount).toBe(0);
  });

  test('for await yields responses as writes are applied', async () => {
    const w = hub.watch({ key: b('a') });
    const seen: string[] = [];
    const reader = (async () => {
      for await (const r of w) {
        seen.push(...show([r]));
        if (seen.length === 3) break;
      }
    })();
    put('a', '1');
    await Promise.resolve();
    put('a', '2');
    put('a', '3');
    await reader;
    expect(seen).toEqual(['2:PUT a=1@2', '3:PUT a=2@3', '4:PUT a=3@4']);
    expect(hub.watcherCount).toBe(0); // breaking out cancelled it
  });

  test('onReadable fires once per empty → non-empty transition, after the write returns', async () => {
    const w = hub.watch({ key: b('a') });
    let calls = 0;
    w.onReadable(() => calls++);
    put('a', '1');
    put('a', '2');
    expect(calls).toBe(0);
    await Promise.resolve();
    expect(calls).toBe(1);
    w.poll();
    put('a', '3');
    await Promise.resolve();
    expect(calls).toBe(2);
  });

  test('the watchers a change reaches are told together, in order, after the write returns', async () => {
    const told: number[] = [];
    const ws = Array.from({ length: 5 }, (_, i) => {
      const w = hub.watch({ key: b('a') });
      w.onReadable(() => told.push(i));
      return w;
    });
    put('a', '1');
    expect(told).toEqual([]);
    await Promise.resolve();
    expect(told).toEqual([0, 1, 2, 3, 4]);
    for (const w of ws) expect(show(w.poll())).toEqual(['2:PUT a=1@2']);
  });

  test('a consumer that throws when told does not keep the others from hearing; its error still escapes', async () => {
    const told: string[] = [];
    const first = hub.watch({ key: b('a') });
    const second = hub.watch({ key: b('a') });
    first.onReadable(() => {
      told.push('first');
      throw new Error('consumer failed');
    });
    second.onReadable(() => told.push('second'));
    const escaped = new Promise<unknown>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (err) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve(err);
      });
    });
    put('a', '1');
    expect(((await escaped) as Error).message).toBe('consumer failed');
    expect(told).toEqual(['first', 'second']);
    expect(show(second.poll())).toEqual(['2:PUT a=1@2']);
  });

  test('close ends every watcher', async () => {
    const w1 = hub.watch({ key: b('a') });
    const w2 = hub.watch({ key: b('b'), start_revision: 1 });
    hub.close();
    expect(await w1.next()).toBeUndefined();
    expect(await w2.next()).toBeUndefined();
    expect(() => hub.watch({ key: b('a') })).toThrow(/closed/);
  });
});

describe('snapshot restore', () => {
  test('watchers catch up from a restored state without gaps or repeats', async () => {
    const other = await dirs.open();
    for (let i = 0; i < 5; i++) unwrap(other.put({ key: b('a'), value: b(`o${i}`) }));
    put('a', 'mine'); // rev 2 here
    const w = hub.watch({ key: b('a') });
    put('a', 'seen'); // rev 3: delivered live
    expect(show(w.poll())).toEqual(['3:PUT a=seen@3']);
    await s.restoreSnapshot(await other.snapshot().toBuffer()); // other is at rev 6
    runScheduled();
    expect(show(w.poll())).toEqual(['6:PUT a=o2@4,PUT a=o3@5,PUT a=o4@6']);
    put('a', 'after');
    expect(show(w.poll())).toEqual(['7:PUT a=after@7']);
  });
});
