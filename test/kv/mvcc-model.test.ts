// mvcc-model: random operations against the store and a plain model (a map per revision),
// comparing reads at random revisions; commits, crashes (close without commit) and compactions included.
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { MvccStore, type Compare, type RangeRequest, type RequestOp } from '../../src/kv/mvcc/index.js';
import { TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterAll(() => dirs.cleanup());

interface MKv {
  readonly value: string;
  readonly create: number;
  readonly mod: number;
  readonly version: number;
  readonly lease: bigint;
}

/** Model is etcd's MVCC semantics in the most obvious form: a full map for every revision. */
class Model {
  rev = 1;
  compacted = 0;
  history = new Map<number, Map<string, MKv>>([[1, new Map()]]);

  get cur(): Map<string, MKv> {
    return this.history.get(this.rev) as Map<string, MKv>;
  }

  clone(): Model {
    const m = new Model();
    m.rev = this.rev;
    m.compacted = this.compacted;
    m.history = new Map(this.history);
    return m;
  }

  /** write applies one transaction's writes at the next revision (no bump if nothing changes). */
  write(ops: readonly ({ put: string; value: string; lease: bigint } | { del: string; end: string | null })[]): void {
    const next = new Map(this.cur);
    const rev = this.rev + 1;
    let changed = false;
    for (const op of ops) {
      if ('put' in op) {
        const prev = next.get(op.put);
        next.set(op.put, { value: op.value, create: prev?.create ?? rev, mod: rev, version: (prev?.version ?? 0) + 1, lease: op.lease });
        changed = true;
      } else {
        for (const k of [...next.keys()]) {
          if (op.end === null ? k === op.del : k >= op.del && k < op.end) {
            next.delete(k);
            changed = true;
          }
        }
      }
    }
    if (!changed) return;
    this.rev = rev;
    this.history.set(rev, next);
  }

  range(start: string, end: string | null, rev: number): [string, MKv][] {
    const at = this.history.get(rev) as Map<string, MKv>;
    return [...at]
      .filter(([k]) => (end === null ? k === start : k >= start && (end === '\0' || k < end)))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

const KEYS = ['a', 'aa', 'ab', 'b', 'c', 'd'];
const key = fc.constantFrom(...KEYS);
const end = fc.option(fc.constantFrom('aa', 'b', 'c', 'e', '\0'), { nil: null });
const value = fc.string({ maxLength: 4 });
const lease = fc.constantFrom(0n, 0n, 5n, 6n);

type Op =
  | { t: 'put'; key: string; value: string; lease: bigint }
  | { t: 'del'; key: string; end: string | null }
  | { t: 'txn'; key: string; version: number; success: { put: string; value: string; del: string }; failure: string }
  | { t: 'compact'; frac: number }
  | { t: 'commit' }
  | { t: 'crash' }
  | { t: 'read'; key: string; end: string | null; frac: number; limit: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('put' as const), key, value, lease }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), key, end }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('txn' as const),
      key,
      version: fc.nat(3),
      success: fc.record({ put: key, value, del: key }),
      failure: key,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), frac: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('commit' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('read' as const), key, end, frac: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000), limit: fc.nat(3) }) },
);

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function check(s: MvccStore, m: Model, start: string, endKey: string | null, rev: number, limit: number): void {
  const req: RangeRequest = { key: bytes(start), revision: rev, limit, ...(endKey === null ? {} : { range_end: bytes(endKey) }) };
  const r = s.range(req);
  if (rev > m.rev) {
    expect(!r.ok && r.error.code).toBe('future-revision');
    return;
  }
  if (rev !== 0 && rev < m.compacted) {
    expect(!r.ok && r.error.code).toBe('compacted');
    return;
  }
  const want = m.range(start, endKey, rev === 0 ? m.rev : rev);
  const got = unwrap(r);
  expect(got.count).toBe(want.length);
  expect(got.more).toBe(limit > 0 && want.length > limit);
  const cut = limit > 0 ? want.slice(0, limit) : want;
  expect(got.kvs.map((kv) => [kv.key.toString('latin1'), { value: kv.value.toString('latin1'), create: kv.create_revision, mod: kv.mod_revision, version: kv.version, lease: kv.lease }])).toEqual(cut);
}

test('the store agrees with the model at every revision it still has', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }), async (ops) => {
      const dir = `${await dirs.dir()}/db`;
      let s = await MvccStore.open(dir);
      let m = new Model();
      let committed = m.clone();
      try {
        for (const o of ops) {
          switch (o.t) {
            case 'put':
              unwrap(s.put({ key: bytes(o.key), value: bytes(o.value), lease: o.lease }));
              m.write([{ put: o.key, value: o.value, lease: o.lease }]);
              break;
            case 'del':
              unwrap(s.deleteRange({ key: bytes(o.key), ...(o.end === null ? {} : { range_end: bytes(o.end) }) }));
              m.write([{ del: o.key, end: o.end === null ? null : o.end === '\0' ? '\uffff' : o.end }]);
              break;
            case 'txn': {
              const compare: Compare = { key: bytes(o.key), target: 'VERSION', result: 'EQUAL', version: o.version };
              const success: RequestOp[] = [
                { request_put: { key: bytes(o.success.put), value: bytes(o.success.value) } },
                { request_delete_range: { key: bytes(o.success.del) } },
              ];
              const r = unwrap(s.txn({ compare: [compare], success, failure: [{ request_put: { key: bytes(o.failure), value: bytes('f') } }] }));
              const holds = (m.cur.get(o.key)?.version ?? 0) === o.version;
              expect(r.succeeded).toBe(holds);
              m.write(holds ? [{ put: o.success.put, value: o.success.value, lease: 0n }, { del: o.success.del, end: null }] : [{ put: o.failure, value: 'f', lease: 0n }]);
              expect(r.revision).toBe(m.rev);
              break;
            }
            case 'compact': {
              const target = m.compacted + 1 + Math.floor(o.frac * (m.rev - m.compacted));
              const r = s.compact(Math.min(target, m.rev));
              if (m.rev <= m.compacted) {
                expect(r.ok).toBe(false);
              } else {
                unwrap(r);
                m.compacted = Math.min(target, m.rev);
              }
              break;
            }
            case 'commit':
              s.setConsistentIndex(m.rev);
              await s.commit();
              committed = m.clone();
              break;
            case 'crash':
              await s.close();
              s = await MvccStore.open(dir);
              m = committed.clone();
              break;
            case 'read': {
              const lo = Math.max(1, m.compacted) - 1; // one below what is readable, to see the error too
              const rev = Math.round(lo + o.frac * (m.rev + 1 - lo));
              check(s, m, o.key, o.end, rev, o.limit);
              break;
            }
          }
          expect(s.currentRevision).toBe(m.rev);
          expect(s.compactedRevision).toBe(m.compacted);
        }
        // Finally every readable revision, whole key space.
        for (let rev = Math.max(1, m.compacted); rev <= m.rev; rev++) check(s, m, '\0', '\0', rev, 0);
      } finally {
        await s.close();
      }
    }),
    { numRuns: 60 },
  );
});
