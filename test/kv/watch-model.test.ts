// watch-model: random interleavings of writes, compactions, new watchers, catch-up steps and reads.
// Whatever happens, each watcher receives exactly the matching history from its start revision,
// in order, without repeats: all of it, or — if it was cancelled — a prefix of it.
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { MvccStore } from '../../src/kv/mvcc/index.js';
import { WatchHub, type Watcher } from '../../src/kv/watch/index.js';
import { TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterAll(() => dirs.cleanup());

type Op =
  | { t: 'put'; key: string }
  | { t: 'del'; key: string }
  | { t: 'txn'; keys: string[] }
  | { t: 'compact'; frac: number }
  | { t: 'watch'; span: number; frac: number; filter: number }
  | { t: 'step' }
  | { t: 'read'; which: number };

const key = fc.constantFrom('a', 'b', 'c', 'ca');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), key }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), key }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('txn' as const), keys: fc.array(key, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), frac: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000) }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('watch' as const), span: fc.nat(3), frac: fc.integer({ min: 0, max: 1200 }).map((n) => n / 1000), filter: fc.nat(2) }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('step' as const)}) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('read' as const), which: fc.nat(20) }) },
);

const SPANS: { key: string; end?: string }[] = [{ key: 'a' }, { key: 'a', end: 'c' }, { key: 'c', end: '\0' }, { key: '\0', end: '\0' }];
const FILTERS: ('NOPUT' | 'NODELETE')[][] = [[], ['NOPUT'], ['NODELETE']];

interface Tracked {
  readonly watcher: Watcher;
  readonly start: number;
  readonly span: { key: string; end?: string };
  readonly filters: readonly string[];
  readonly got: string[];
  canceled: boolean;
}

test('every watcher gets exactly its history, in order, once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 120, size: 'max' }), fc.constantFrom(3, 1000), fc.constantFrom(1, 4, 1000), async (ops, maxPending, catchUp) => {
      const s = await MvccStore.open(`${await dirs.dir()}/db`);
      const tasks: (() => void)[] = [];
      const hub = new WatchHub(s, { schedule: (t) => tasks.push(t), maxPendingEvents: maxPending, catchUpEvents: catchUp });
      const log: { rev: number; type: string; key: string; value: string }[] = [];
      s.subscribe({ onChanges: (cs) => log.push(...cs.events.map((e) => ({ rev: cs.revision, type: e.type, key: e.kv.key.toString('latin1'), value: e.kv.value.toString() }))) });
      const tracked: Tracked[] = [];
      let n = 0;
      const read = (t: Tracked): void => {
        for (const r of t.watcher.poll()) {
          if (r.type === 'events') t.got.push(...r.events.map((e) => `${e.kv.mod_revision} ${e.type} ${e.kv.key.toString('latin1')}=${e.kv.value.toString()}`));
          if (r.type === 'canceled') t.canceled = true;
        }
      };
      try {
        for (const o of ops) {
          switch (o.t) {
            case 'put':
              unwrap(s.put({ key: Buffer.from(o.key), value: Buffer.from(String(n++)) }));
              break;
            case 'del':
              unwrap(s.deleteRange({ key: Buffer.from(o.key) }));
              break;
            case 'txn':
              unwrap(s.txn({ success: o.keys.map((k, i) => (i % 2 === 0 ? { request_put: { key: Buffer.from(k), value: Buffer.from(String(n++)) } } : { request_delete_range: { key: Buffer.from(k) } })) }));
              break;
            case 'compact': {
              const target = s.compactedRevision + 1 + Math.floor(o.frac * (s.currentRevision - s.compactedRevision));
              if (target <= s.currentRevision) unwrap(s.compact(target));
              break;
            }
            case 'watch': {
              const span = SPANS[o.span] as { key: string; end?: string };
              const filters = FILTERS[o.filter] as ('NOPUT' | 'NODELETE')[];
              const startRev = o.frac > 1 ? 0 : Math.round(o.frac * (s.currentRevision + 2));
              const watcher = hub.watch({ key: Buffer.from(span.key), ...(span.end === undefined ? {} : { range_end: Buffer.from(span.end) }), start_revision: startRev, filters });
              tracked.push({ watcher, start: startRev === 0 ? s.currentRevision + 1 : startRev, span, filters, got: [], canceled: false });
              break;
            }
            case 'step':
              tasks.shift()?.();
              break;
            case 'read': {
              const t = tracked[o.which % Math.max(1, tracked.length)];
              if (t !== undefined) read(t);
              break;
            }
          }
        }
        // Let every watcher finish: read, run pending steps, repeat until quiet.
        for (let guard = 0; guard < 10_000; guard++) {
          for (const t of tracked) read(t);
          const task = tasks.shift();
          if (task === undefined) break;
          task();
        }
        for (const t of tracked) read(t);
        for (const t of tracked) {
          const matches = (k: string): boolean =>
            t.span.end === undefined ? k === t.span.key : k >= t.span.key && (t.span.end === '\0' || k < t.span.end);
          const want = log
            .filter((e) => e.rev >= t.start && matches(e.key) && !(t.filters.includes('NOPUT') && e.type === 'PUT') && !(t.filters.includes('NODELETE') && e.type === 'DELETE'))
            .map((e) => `${e.rev} ${e.type} ${e.key}=${e.type === 'PUT' ? e.value : ''}`);
          if (t.canceled) {
            expect(t.got).toEqual(want.slice(0, t.got.length));
          } else {
            expect(t.got).toEqual(want);
            expect(t.watcher.done).toBe(false);
          }
        }
      } finally {
        hub.close();
        await s.close();
      }
    }),
    { numRuns: 80 },
  );
});
