/**
 * rebuild: the in-memory index rebuilt from RocksDB's key bucket when a store opens — etcd's
 * treeIndex restore.
 *
 * Every stored revision is read once, in revision order. Reading is most of the cost (RocksDB
 * hands each row over as two fresh Buffers), so what follows a row allocates as little as it can:
 * the revision key and the KeyValue header (key, create_revision, version, lease; never the value)
 * are decoded in place into a scratch record, and a key greater than every key so far (every key
 * of a bulk load in key order) goes to the end of the tree without a search. (A hash map from
 * key to record, with one sort at the end, was measured slower: 1.5 s more for 1 M keys.)
 *
 * Rows can also be decoded elsewhere (a worker thread, see scan-worker.ts) into a RevChunk, a
 * few typed arrays that cross threads without copying, and added here with addChunk.
 */

import { CodecError, FieldReader } from './codec.js';
import { KeyIndex } from './key-index.js';
import type { MvccState } from './state.js';
import { TreeIndex } from './tree-index.js';

const TWO_32 = 2 ** 32;
/** REV_KEY_BYTES is a key-bucket key without tombstone mark: prefix + 8 + '_' + 8. */
const REV_KEY_BYTES = 18;

/** RevHeader is what the index keeps of one stored revision (a scratch record, reused per row). */
interface RevHeader {
  main: number;
  /** subT is sub * 2 + (tombstone ? 1 : 0), as KeyIndex keeps it. */
  subT: number;
  created: number;
  version: number;
  lease: bigint;
  keyStart: number;
  keyEnd: number;
}

function newHeader(): RevHeader {
  return { main: 0, subT: 0, created: 0, version: 0, lease: 0n, keyStart: 0, keyEnd: 0 };
}

function readUint64BE(buf: Uint8Array, pos: number): number {
  const hi = (buf[pos] as number) * 0x1000000 + (((buf[pos + 1] as number) << 16) | ((buf[pos + 2] as number) << 8) | (buf[pos + 3] as number));
  const lo = (buf[pos + 4] as number) * 0x1000000 + (((buf[pos + 5] as number) << 16) | ((buf[pos + 6] as number) << 8) | (buf[pos + 7] as number));
  return hi * TWO_32 + lo;
}

const reader = new FieldReader(new Uint8Array(0));

/**
 * decodeRow fills `out` from one key-bucket row: the revision from the RocksDB key, the rest
 * from the KeyValue's header fields (the value is skipped, not copied). A tombstone reports
 * created, version and lease as 0 whatever it stored (etcd stores only the key there).
 */
function decodeRow(k: Uint8Array, v: Uint8Array, out: RevHeader): void {
  if (k.length < REV_KEY_BYTES) throw new CodecError(`key-bucket key of ${k.length} bytes; the MVCC database is damaged`);
  const tombstone = k.length > REV_KEY_BYTES;
  out.main = readUint64BE(k, 1);
  out.subT = readUint64BE(k, 10) * 2 + (tombstone ? 1 : 0);
  let created = 0;
  let version = 0;
  let lease = 0n;
  let keyStart = 0;
  let keyEnd = 0;
  const r = reader;
  r.buf = v;
  r.pos = 0;
  while (r.pos < v.length) {
    const tag = r.number();
    switch (tag) {
      case 0x0a:
        keyStart = r.span();
        keyEnd = r.pos;
        break;
      case 0x10:
        created = r.number();
        break;
      case 0x20:
        version = r.number();
        break;
      case 0x30:
        lease = r.int64();
        break;
      default:
        r.skip(tag % 8);
    }
  }
  if (r.pos > v.length) throw new CodecError('KeyValue: truncated field; the MVCC database is damaged');
  out.created = tombstone ? 0 : created;
  out.version = tombstone ? 0 : version;
  out.lease = tombstone ? 0n : lease;
  out.keyStart = keyStart;
  out.keyEnd = keyEnd;
}

/** RevChunk is a run of decoded rows as typed arrays (transferable between threads). */
export interface RevChunk {
  readonly count: number;
  readonly mains: Float64Array;
  readonly subTs: Float64Array;
  readonly created: Float64Array;
  readonly versions: Float64Array;
  readonly leases: BigInt64Array;
  /** keyEnds[i] is where row i's key ends in `keys` (it starts where row i-1's ended). */
  readonly keyEnds: Uint32Array;
  readonly keys: Uint8Array;
}

/** packRows decodes RocksDB rows (k0, v0, k1, v1, …) into a RevChunk. */
export function packRows(rows: readonly Uint8Array[]): RevChunk {
  const count = rows.length >>> 1;
  const mains = new Float64Array(count);
  const subTs = new Float64Array(count);
  const created = new Float64Array(count);
  const versions = new Float64Array(count);
  const leases = new BigInt64Array(count);
  const keyEnds = new Uint32Array(count);
  const h = newHeader();
  let keyBytes = 0;
  const spans = new Uint32Array(count * 2);
  for (let i = 0; i < count; i++) {
    decodeRow(rows[2 * i] as Uint8Array, rows[2 * i + 1] as Uint8Array, h);
    mains[i] = h.main;
    subTs[i] = h.subT;
    created[i] = h.created;
    versions[i] = h.version;
    leases[i] = h.lease;
    spans[2 * i] = h.keyStart;
    spans[2 * i + 1] = h.keyEnd;
    keyBytes += h.keyEnd - h.keyStart;
    keyEnds[i] = keyBytes;
  }
  const keys = new Uint8Array(keyBytes);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const v = rows[2 * i + 1] as Uint8Array;
    const s = spans[2 * i] as number;
    const e = spans[2 * i + 1] as number;
    keys.set(v.subarray(s, e), at);
    at += e - s;
  }
  return { count, mains, subTs, created, versions, leases, keyEnds, keys };
}

/** IndexBuilder collects stored revisions (in revision order) and builds the index from them. */
export class IndexBuilder {
  readonly #tree: TreeIndex;
  readonly #h = newHeader();
  /** #maxKey is the greatest key added so far: a greater one is new and goes last, unsearched. */
  #maxKey: string | null;
  #lastRev: number;
  #count = 0;

  /**
   * constructor starts empty, or from an index read back from a checkpoint (the rows added then
   * must all be newer than every revision in it).
   */
  constructor(seed?: { readonly tree: TreeIndex; readonly maxKey: string | null; readonly lastRevision: number }) {
    this.#tree = seed?.tree ?? new TreeIndex();
    this.#maxKey = seed?.maxKey ?? null;
    this.#lastRev = seed?.lastRevision ?? 0;
  }

  /** revisions is the number of stored revisions (rows) added so far, a checkpoint's not counted. */
  get revisions(): number {
    return this.#count;
  }

  /** lastRevision is the highest main revision added so far (0 if none). */
  get lastRevision(): number {
    return this.#lastRev;
  }

  #add(key: string, main: number, subT: number, created: number, version: number, lease: bigint): void {
    if (main < this.#lastRev) throw new CodecError(`revision ${main} read after ${this.#lastRev}; the MVCC database is damaged`);
    this.#lastRev = main;
    this.#count++;
    const tree = this.#tree;
    if (this.#maxKey === null || key > this.#maxKey) {
      this.#maxKey = key;
      tree.appendGreatest(new KeyIndex(key, main, subT, created, version, lease === 0n ? 0n : lease));
      return;
    }
    const ki = tree.get(key);
    if (ki === undefined) tree.insert(new KeyIndex(key, main, subT, created, version, lease === 0n ? 0n : lease));
    else ki.append(main, Math.floor(subT / 2), subT % 2 === 1, created, version, lease === 0n ? 0n : lease);
  }

  /** addRows adds RocksDB rows (k0, v0, k1, v1, …) read from the key bucket. */
  addRows(rows: readonly Buffer[]): void {
    const h = this.#h;
    for (let i = 0; i < rows.length; i += 2) {
      const v = rows[i + 1] as Buffer;
      decodeRow(rows[i] as Buffer, v, h);
      this.#add(v.toString('latin1', h.keyStart, h.keyEnd), h.main, h.subT, h.created, h.version, h.lease);
    }
  }

  /** addChunk adds rows decoded by packRows. */
  addChunk(c: RevChunk): void {
    const keys = Buffer.from(c.keys.buffer, c.keys.byteOffset, c.keys.byteLength);
    let start = 0;
    for (let i = 0; i < c.count; i++) {
      const end = c.keyEnds[i] as number;
      this.#add(keys.toString('latin1', start, end), c.mains[i] as number, c.subTs[i] as number, c.created[i] as number, c.versions[i] as number, c.leases[i] as bigint);
      start = end;
    }
  }

  /** finish completes the ordered index and the lease attachments, and reports the highest revision read. */
  finish(): { tree: TreeIndex; leases: MvccState['leases']; lastRevision: number } {
    const tree = this.#tree;
    tree.recountLive(); // records were appended to KeyIndexes behind the tree's back
    const leases: MvccState['leases'] = new Map();
    tree.forEach((ki) => {
      if (!ki.live || ki.lease === 0n) return;
      const set = leases.get(ki.lease);
      if (set === undefined) leases.set(ki.lease, new Set([ki]));
      else set.add(ki);
    });
    return { tree, leases, lastRevision: this.#lastRev };
  }
}
