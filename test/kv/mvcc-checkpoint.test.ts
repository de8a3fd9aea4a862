// mvcc-checkpoint: a store reopened from its index checkpoint (plus the rows after it) reads
// exactly as one rebuilt from every row; a checkpoint that does not match its database — damaged,
// from another database, ahead of a database that lost its tail, or older than a compaction — is
// refused and every row scanned instead; checkpoints are written when the policy says so.
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { MvccStore, type CheckpointEvent, type MvccStoreOptions } from '../../src/kv/mvcc/index.js';
import { CHECKPOINT_FILE, CheckpointEncoder, CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../src/kv/mvcc/index-checkpoint.js';
import { KeyIndex } from '../../src/kv/mvcc/key-index.js';
import { TreeIndex } from '../../src/kv/mvcc/tree-index.js';
import { b, dump, TempDirs } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** EVERY_COMMIT makes every commit that wrote a row write a checkpoint. */
const EVERY_COMMIT: MvccStoreOptions = { indexCheckpoints: { minRows: 1 } };
const NO_CHECKPOINTS: MvccStoreOptions = { indexCheckpoints: false };

/** history writes puts (leased and not), deletes, re-creations, a multi-op txn and a compaction. */
function history(s: MvccStore, salt: number): void {
  for (let i = 0; i < 120; i++) s.put({ key: b(`k${String((i * 37 + salt) % 53).padStart(3, '0')}`), value: b(`v${i}`), lease: i % 5 === 0 ? BigInt(1000 + (i % 3)) : 0n });
  for (let i = 0; i < 53; i += 9) s.deleteRange({ key: b(`k${String(i).padStart(3, '0')}`) });
  s.txn({ compare: [], success: [{ request_put: { key: b('k014'), value: b('again') } }, { request_delete_range: { key: b('k020') } }], failure: [] });
  s.put({ key: b('big'), value: b('x'), lease: -0x694d7b8c1a4e0b12n });
  s.put({ key: Buffer.from([0, 1, 127, 128, 255]), value: b('bytes'), lease: 0n });
}

/** reference opens a copy of `dir` with checkpoints off: every row scanned, the ground truth. */
async function reference(dir: string): Promise<string> {
  const copy = join(await dirs.dir(), 'ref');
  await cp(dir, copy, { recursive: true });
  const s = await MvccStore.open(copy, NO_CHECKPOINTS);
  try {
    expect(s.recovery.via).not.toBe('checkpoint');
    return dump(s);
  } finally {
    await s.close();
  }
}

async function commitAndClose(s: MvccStore, ci: number): Promise<void> {
  s.setConsistentIndex(ci);
  await s.commit();
  await s.close();
}

describe('index checkpoint', () => {
  test('a reopened store reads the checkpoint, scans only the rows after it, and reads as a full rebuild', async () => {
    const dir = join(await dirs.dir(), 'db');
    const events: CheckpointEvent[] = [];
    let s = await MvccStore.open(dir, { ...EVERY_COMMIT, onCheckpoint: (e) => events.push(e) });
    history(s, 0);
    s.compact(100);
    s.setConsistentIndex(10);
    await s.commit();
    await s.checkpointWritten();
    const at = s.currentRevision;
    expect(events).toEqual([expect.objectContaining({ type: 'written', revision: at, keys: s.keyCount })]);
    // Rows after the checkpoint: written with checkpoints off, so the file stays at `at`.
    await s.close();
    s = await MvccStore.open(dir, NO_CHECKPOINTS);
    history(s, 11);
    await commitAndClose(s, 20);
    const want = await reference(dir);
    s = await dirs.open(dir);
    expect(s.recovery).toMatchObject({ via: 'checkpoint', checkpointRevision: at });
    expect(s.recovery.revisions).toBeGreaterThan(0);
    expect(s.recovery.revisions).toBeLessThan(200); // the second history's rows only
    expect(s.consistentIndex).toBe(20);
    expect(dump(s)).toBe(want);
    // And it writes on from there: a put gets the next revision, a read sees it.
    const next = s.currentRevision + 1;
    s.put({ key: b('after'), value: b('1'), lease: 0n });
    expect(s.currentRevision).toBe(next);
  });

  test('random histories with crashes, compactions and checkpoints reopen exactly as a full rebuild', async () => {
    type Op =
      | { t: 'put'; k: number; lease: number }
      | { t: 'del'; k: number; end: number }
      | { t: 'txn'; k: number; k2: number }
      | { t: 'compact'; back: number }
      | { t: 'commit' }
      | { t: 'crash' }
      | { t: 'reopen'; checkpoints: boolean };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), k: fc.nat(12), lease: fc.nat(3) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), k: fc.nat(12), end: fc.nat(4) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('txn' as const), k: fc.nat(12), k2: fc.nat(12) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), back: fc.nat(6) }) },
      { weight: 3, arbitrary: fc.constant({ t: 'commit' as const }) },
      { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('reopen' as const), checkpoints: fc.boolean() }) },
    );
    const key = (k: number): Buffer => b(`key${String(k).padStart(2, '0')}`);
    let fromCheckpoint = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(op.chain((first) => fc.array(op, { minLength: 10, maxLength: 45 }).map((rest) => [first, ...rest])), async (ops) => {
        const dir = join(await dirs.dir(), 'db');
        let checkpoints = true;
        let ci = 0;
        let s = await MvccStore.open(dir, EVERY_COMMIT);
        const reopen = async (commitFirst: boolean): Promise<void> => {
          if (commitFirst) {
            s.setConsistentIndex(++ci);
            await s.commit();
          }
          await s.close(); // without a commit first: a crash, the uncommitted writes are gone
          const want = await reference(dir);
          s = await MvccStore.open(dir, checkpoints ? EVERY_COMMIT : NO_CHECKPOINTS);
          if (s.recovery.via === 'checkpoint') fromCheckpoint++;
          if (s.recovery.checkpointRejected !== undefined) refused++;
          expect(dump(s)).toBe(want);
        };
        try {
          for (const o of ops) {
            switch (o.t) {
              case 'put':
                s.put({ key: key(o.k), value: b(`v${s.currentRevision}`), lease: o.lease === 0 ? 0n : BigInt(o.lease) });
                break;
              case 'del':
                s.deleteRange({ key: key(o.k), ...(o.end === 0 ? {} : { range_end: key(o.k + o.end) }) });
                break;
              case 'txn':
                s.txn({ compare: [], success: [{ request_put: { key: key(o.k), value: b('t'), lease: 0n } }, { request_delete_range: { key: key(o.k2 === o.k ? o.k + 1 : o.k2) } }], failure: [] });
                break;
              case 'compact':
                s.compact(Math.max(s.compactedRevision + 1, s.currentRevision - o.back));
                break;
              case 'commit':
                s.setConsistentIndex(++ci);
                await s.commit();
                break;
              case 'crash':
                await reopen(false);
                break;
              case 'reopen':
                checkpoints = o.checkpoints;
                await reopen(true);
                break;
            }
          }
          checkpoints = true;
          await reopen(true);
        } finally {
          await s.close();
        }
      }),
      { numRuns: 40 },
    );
    // Not vacuous: most reopenings used a checkpoint, and some refused one (a compaction made
    // while checkpoints were off).
    expect(fromCheckpoint).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(0);
  }, 120_000);

  test('a damaged checkpoint is refused with the reason and every row is scanned instead', async () => {
    const dir = join(await dirs.dir(), 'db');
    const s0 = await MvccStore.open(dir, EVERY_COMMIT);
    history(s0, 3);
    await commitAndClose(s0, 5);
    const want = await reference(dir);
    const file = await readFile(join(dir, CHECKPOINT_FILE));
    const flipped = Buffer.from(file);
    flipped[Math.floor(file.length / 2)] = (flipped[Math.floor(file.length / 2)] as number) ^ 0x10;
    await writeFile(join(dir, CHECKPOINT_FILE), flipped);
    let s = await MvccStore.open(dir, EVERY_COMMIT);
    expect(s.recovery.via).toBe('this thread');
    expect(s.recovery.checkpointRejected).toMatch(/checksum/);
    expect(dump(s)).toBe(want);
    await s.close();
    await writeFile(join(dir, CHECKPOINT_FILE), file.subarray(0, file.length - 9));
    s = await dirs.open(dir, EVERY_COMMIT);
    expect(s.recovery.checkpointRejected).toMatch(/checksum/);
    expect(dump(s)).toBe(want);
  });

  test("another database's checkpoint is refused (RocksDB IDENTITY differs)", async () => {
    const a = join(await dirs.dir(), 'db');
    const other = join(await dirs.dir(), 'db');
    for (const [dir, salt] of [[a, 1], [other, 2]] as const) {
      const s = await MvccStore.open(dir, EVERY_COMMIT);
      history(s, salt);
      await commitAndClose(s, 9); // same consistent index and revision: only the identity tells
    }
    const want = await reference(a);
    await cp(join(other, CHECKPOINT_FILE), join(a, CHECKPOINT_FILE));
    const s = await dirs.open(a, EVERY_COMMIT);
    expect(s.recovery.checkpointRejected).toMatch(/IDENTITY/);
    expect(dump(s)).toBe(want);
  });

  test('a checkpoint ahead of its database (which lost a tail it covers) is refused', async () => {
    const dir = join(await dirs.dir(), 'db');
    let s = await MvccStore.open(dir, NO_CHECKPOINTS);
    history(s, 4);
    await commitAndClose(s, 30);
    const earlier = join(await dirs.dir(), 'earlier');
    await cp(dir, earlier, { recursive: true }); // the database as a power cut might leave it
    s = await MvccStore.open(dir, EVERY_COMMIT);
    history(s, 5);
    await commitAndClose(s, 31);
    await cp(join(dir, CHECKPOINT_FILE), join(earlier, CHECKPOINT_FILE));
    const want = await reference(earlier);
    s = await dirs.open(earlier, EVERY_COMMIT);
    expect(s.recovery.checkpointRejected).toMatch(/covers Raft index 31, the database only 30/);
    expect(dump(s)).toBe(want);
  });

  test('a compaction after the checkpoint makes it unusable; the next commit writes a new one', async () => {
    const dir = join(await dirs.dir(), 'db');
    let s = await MvccStore.open(dir, EVERY_COMMIT);
    history(s, 6);
    await commitAndClose(s, 1);
    // The compaction commits with checkpoints off: the file on disk predates it.
    s = await MvccStore.open(dir, NO_CHECKPOINTS);
    s.compact(s.currentRevision - 3);
    await commitAndClose(s, 2);
    const want = await reference(dir);
    s = await MvccStore.open(dir, { indexCheckpoints: { minRows: 1_000_000 } });
    expect(s.recovery.checkpointRejected).toMatch(/^compacted at 0, the database at \d+$/);
    expect(dump(s)).toBe(want);
    // With a checkpoint in place, a compaction alone (no rows, far below minRows) writes a new one.
    s.setConsistentIndex(3);
    await s.commit(); // the rows scanned at open are below minRows: no checkpoint yet
    await s.checkpointWritten();
    await s.close();
    s = await MvccStore.open(dir, EVERY_COMMIT);
    s.put({ key: b('one'), value: b('1'), lease: 0n });
    await commitAndClose(s, 4); // writes a checkpoint
    s = await MvccStore.open(dir, { indexCheckpoints: { minRows: 1_000_000 } });
    expect(s.recovery.via).toBe('checkpoint');
    const events: CheckpointEvent[] = [];
    await s.close();
    s = await MvccStore.open(dir, { indexCheckpoints: { minRows: 1_000_000 }, onCheckpoint: (e) => events.push(e) });
    s.compact(s.currentRevision);
    s.setConsistentIndex(5);
    await s.commit();
    await s.checkpointWritten();
    expect(events).toEqual([expect.objectContaining({ type: 'written', revision: s.currentRevision })]);
    const wantAfter = dump(s);
    await s.close();
    s = await dirs.open(dir, { indexCheckpoints: { minRows: 1_000_000 } });
    expect(s.recovery.via).toBe('checkpoint');
    expect(dump(s)).toBe(wantAfter);
  });

  test('writes between encoding slices leave the checkpoint as the index was at its revision', async () => {
    const dir = join(await dirs.dir(), 'db');
    const events: CheckpointEvent[] = [];
    // minRows: the 1,500 puts start one checkpoint; what the rounds write stays below it.
    const sliced: MvccStoreOptions = { indexCheckpoints: { minRows: 1_500, sliceMs: 0 }, onCheckpoint: (e) => events.push(e) };
    let s = await MvccStore.open(dir, sliced);
    const key = (i: number): Buffer => b(`key${String(i).padStart(5, '0')}`);
    for (let t = 0; t < 3_000; t += 200) {
      const success = [];
      for (let i = t; i < t + 200; i += 2) success.push({ request_put: { key: key(i), value: b('a'), lease: i % 10 === 0 ? 7n : 0n } });
      s.txn({ compare: [], success, failure: [] });
    }
    s.setConsistentIndex(1);
    await s.commit(); // starts a checkpoint at this revision, a few hundred keys a slice
    const at = s.currentRevision;
    let encoding = true;
    void s.checkpointWritten().then(() => {
      encoding = false;
    });
    let slices = 0;
    for (let round = 0; round < 60; round++) {
      // Before and behind the encoder: overwrite (moving leases), delete, re-create, and add keys.
      const i = (round * 397) % 3_000;
      s.put({ key: key(i), value: b(`r${round}`), lease: round % 3 === 0 ? 9n : 0n });
      s.deleteRange({ key: key((i + 1_000) % 3_000 & ~1) });
      s.put({ key: key((i + 2_000) % 3_000 | 1), value: b('new'), lease: 0n });
      s.revokeLease(round % 2 === 0 ? 7n : 9n);
      await new Promise((r) => setImmediate(r));
      if (encoding) slices++;
    }
    await s.checkpointWritten();
    expect(events[0]).toMatchObject({ type: 'written', revision: at });
    expect(slices).toBeGreaterThanOrEqual(5); // writes landed between at least five slices
    s.setConsistentIndex(2);
    await s.commit({ sync: true });
    await s.checkpointWritten();
    await s.close();
    expect(events).toHaveLength(1);
    const want = await reference(dir);
    s = await dirs.open(dir, { indexCheckpoints: { minRows: 1_000_000 } });
    expect(s.recovery).toMatchObject({ via: 'checkpoint', checkpointRevision: at });
    expect(dump(s)).toBe(want);
  });

  test('a compaction while a checkpoint is being encoded abandons it; the next commit starts over', async () => {
    const dir = join(await dirs.dir(), 'db');
    const events: CheckpointEvent[] = [];
    const s = await dirs.open(dir, { indexCheckpoints: { minRows: 1, sliceMs: 0 }, onCheckpoint: (e) => events.push(e) });
    for (let i = 0; i < 3_000; i++) s.put({ key: b(`k${i}`), value: b('a'), lease: 0n });
    for (let i = 0; i < 3_000; i += 3) s.put({ key: b(`k${i}`), value: b('b'), lease: 0n });
    s.setConsistentIndex(1);
    await s.commit();
    await new Promise((r) => setImmediate(r));
    s.compact(s.currentRevision - 10);
    await s.checkpointWritten();
    expect(events).toEqual([]);
    s.setConsistentIndex(2);
    await s.commit();
    await s.checkpointWritten();
    expect(events).toEqual([expect.objectContaining({ type: 'written', revision: s.currentRevision })]);
  });

  test('the policy waits for minRows rows, and for an eighth of the last checkpoint’s records', async () => {
    const dir = join(await dirs.dir(), 'db');
    const events: CheckpointEvent[] = [];
    const s = await dirs.open(dir, { indexCheckpoints: { minRows: 100 }, onCheckpoint: (e) => events.push(e) });
    let ci = 0;
    const putMany = async (n: number, prefix: string): Promise<void> => {
      for (let i = 0; i < n; i++) s.put({ key: b(`${prefix}${i}`), value: b('v'), lease: 0n });
      s.setConsistentIndex(++ci);
      await s.commit();
      await s.checkpointWritten();
    };
    await putMany(99, 'a');
    expect(events).toHaveLength(0);
    await putMany(1, 'b'); // 100 rows: due
    expect(events).toHaveLength(1);
    await putMany(2_000, 'c'); // due again: 2,000 ≥ max(100, 100 / 8)
    expect(events).toHaveLength(2);
    await putMany(200, 'd'); // 200 < 2,100 / 8: not yet
    expect(events).toHaveLength(2);
    await putMany(100, 'e'); // 300 ≥ 262.5
    expect(events).toHaveLength(3);
    expect(events.map((e) => e.type === 'written' && e.records)).toEqual([100, 2_100, 2_400]);
  });

  test('a checkpoint that cannot be written is reported and the store carries on', async () => {
    const dir = join(await dirs.dir(), 'db');
    const events: CheckpointEvent[] = [];
    const s = await dirs.open(dir, { ...EVERY_COMMIT, onCheckpoint: (e) => events.push(e) });
    await mkdir(join(dir, `${CHECKPOINT_FILE}.tmp`)); // the temporary file's name is taken by a directory
    s.put({ key: b('a'), value: b('1'), lease: 0n });
    s.setConsistentIndex(1);
    await s.commit();
    await s.checkpointWritten();
    expect(events).toEqual([expect.objectContaining({ type: 'failed' })]);
    s.put({ key: b('a'), value: b('2'), lease: 0n });
    s.setConsistentIndex(2);
    await s.commit();
    expect(s.range({ key: b('a') })).toMatchObject({ ok: true, value: { count: 1 } });
  });
});

describe('checkpoint encoding', () => {
  /** tree builds an index from (key, records) lists the way writes would leave it. */
  function treeOf(entries: readonly { key: string; puts: number[]; lease: bigint; deleted: boolean }[]): TreeIndex {
    const t = new TreeIndex(4);
    let rev = 2;
    for (const e of [...entries].sort((x, y) => (x.key < y.key ? -1 : 1))) {
      const first = e.puts[0] ?? 0;
      const ki = new KeyIndex(e.key, rev, first * 2, rev, 1, e.puts.length === 1 && !e.deleted ? e.lease : 0n);
      rev += 1;
      for (let i = 1; i < e.puts.length; i++) {
        ki.put(rev, e.puts[i] ?? 0, i === e.puts.length - 1 && !e.deleted ? e.lease : 0n);
        rev += 1 + (e.puts[i] ?? 0) * 1_000_003; // big steps: varints of several bytes
      }
      if (e.deleted) ki.tombstone(rev++, 0);
      t.appendGreatest(ki);
    }
    t.recountLive();
    return t;
  }

  const records = (t: TreeIndex): string[] => {
    const out: string[] = [];
    t.forEach((ki) => out.push(`${Buffer.from(ki.key, 'latin1').toString('hex')} ${ki.main} ${ki.subT} ${ki.created} ${ki.ver} ${ki.lease} ${JSON.stringify(ki.older)}`));
    return out;
  };

  const entries = fc.uniqueArray(
    fc.record({
      key: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((u) => Buffer.from(u).toString('latin1')),
      puts: fc.array(fc.nat(3), { minLength: 1, maxLength: 5 }),
      lease: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      deleted: fc.boolean(),
    }),
    { selector: (e) => e.key, maxLength: 60 },
  );

  test('any index decodes to the same records, leases, live counts and metadata', () => {
    fc.assert(
      fc.property(entries, fc.string(), (es, identity) => {
        const t = treeOf(es);
        const meta = { revision: 2 ** 53 - 1, compacted: 7, consistentIndex: 123_456_789_012, identity: Buffer.from(identity, 'utf8').toString('latin1') };
        const enc = encodeCheckpoint(t, meta);
        const d = decodeCheckpoint(Buffer.concat(enc.chunks));
        expect(d.meta).toEqual(meta);
        expect(records(d.tree)).toEqual(records(t));
        expect(d.tree.countLive('', null)).toBe(t.countLive('', null));
        expect(d.records).toBe(enc.records);
        expect(d.maxKey).toBe(es.length === 0 ? null : [...es].map((e) => e.key).sort().at(-1));
      }),
      { numRuns: 200 },
    );
  });

  test('an encoder run in steps, with puts, deletes and new keys between them, writes the index as it was when it started', () => {
    const mutation = fc.record({ kind: fc.constantFrom('put', 'delete', 'insert'), at: fc.nat(), lease: fc.bigInt({ min: 0n, max: 3n }) });
    fc.assert(
      fc.property(fc.integer({ min: 260, max: 1_500 }), fc.array(fc.array(mutation, { maxLength: 12 }), { maxLength: 12 }), (n, rounds) => {
        const t = treeOf(Array.from({ length: n }, (_, i) => ({ key: `k${String(i * 2).padStart(5, '0')}`, puts: [i % 3], lease: BigInt(i % 4), deleted: i % 7 === 0 })));
        let rev = 1;
        t.forEach((ki) => {
          rev = Math.max(rev, ki.main);
        });
        const want = records(t);
        const enc = new CheckpointEncoder({ revision: rev, compacted: 0, consistentIndex: 1, identity: 'x' });
        let steps = 0;
        let r = 0;
        while (!enc.step(t, 0)) {
          steps++;
          for (const m of rounds[r++ % Math.max(1, rounds.length)] ?? []) {
            rev++;
            const i = m.at % n;
            const existing = t.get(`k${String(i * 2).padStart(5, '0')}`);
            if (m.kind === 'insert') {
              const k = `k${String(i * 2 + 1).padStart(5, '0')}`;
              if (t.get(k) === undefined) t.insert(new KeyIndex(k, rev, 0, rev, 1, m.lease));
            } else if (existing !== undefined && (m.kind === 'put' || existing.live)) {
              // As write.ts does: the encoder hears of the change first.
              enc.beforeChange(existing);
              if (m.kind === 'put') existing.put(rev, 0, m.lease);
              else existing.tombstone(rev, 0);
            }
          }
        }
        expect(steps).toBeGreaterThan(0);
        const d = decodeCheckpoint(Buffer.concat(enc.finish().chunks));
        expect(records(d.tree)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  test('a file whose checksum was made to match after a change either decodes or fails with CheckpointError', () => {
    fc.assert(
      fc.property(entries, fc.nat(), fc.integer({ min: 1, max: 255 }), (es, at, xor) => {
        const enc = encodeCheckpoint(treeOf(es), { revision: 2 ** 40, compacted: 0, consistentIndex: 1, identity: 'id' });
        const file = Buffer.concat(enc.chunks);
        const body = file.subarray(0, file.length - 4);
        const i = 8 + (at % (body.length - 8)); // past the magic
        body[i] = (body[i] as number) ^ xor;
        file.writeUInt32LE(crc32(body) >>> 0, file.length - 4);
        try {
          decodeCheckpoint(file);
        } catch (err: unknown) {
          expect(err).toBeInstanceOf(CheckpointError);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('what is not a checkpoint of this version is refused', () => {
    expect(() => decodeCheckpoint(Buffer.from('RKIDX00\n\0\0\0\0'))).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(Buffer.alloc(3))).toThrow(/not an index checkpoint/);
  });
});
