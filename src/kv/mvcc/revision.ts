/**
 * revision: etcd's on-disk revision keys and the bucket prefixes of our RocksDB layout.
 *
 * etcd keys its "key" bucket by revision: 8 bytes main revision, '_', 8 bytes sub revision,
 * all big-endian, plus a trailing 't' on tombstones. RocksDB has one key space, so each bucket
 * gets a one-byte prefix. The meta bucket sorts first ('M' < 'k' < 'x'), so a scan of the whole
 * database (a snapshot) meets the consistent index before any data.
 */

/** META_PREFIX is the first byte of every meta-bucket key (consistent index, compacted revision). */
const META_PREFIX = 0x4d; // 'M'
/** KEY_PREFIX is the first byte of every key-bucket key (revision → encoded mvccpb.KeyValue). */
export const KEY_PREFIX = 0x6b; // 'k'
/** AUX_PREFIX is the first byte of auxiliary buckets (e.g. the lessor's), see MvccStore.auxPut. */
const AUX_PREFIX = 0x78; // 'x'

/** REV_BYTES is the length of an etcd revision key without tombstone mark: 8 + 1 + 8. */
const REV_BYTES = 17;
const TOMBSTONE_MARK = 0x74; // 't'
const SEP = 0x5f; // '_'
const TWO_32 = 2 ** 32;

/** writeUint64BE writes a non-negative safe integer as 8 big-endian bytes. */
function writeUint64BE(buf: Uint8Array, pos: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  const lo = n >>> 0;
  buf[pos] = hi >>> 24;
  buf[pos + 1] = (hi >>> 16) & 0xff;
  buf[pos + 2] = (hi >>> 8) & 0xff;
  buf[pos + 3] = hi & 0xff;
  buf[pos + 4] = lo >>> 24;
  buf[pos + 5] = (lo >>> 16) & 0xff;
  buf[pos + 6] = (lo >>> 8) & 0xff;
  buf[pos + 7] = lo & 0xff;
}

/** readUint64BE reads 8 big-endian bytes as a number (exact below 2^53). */
function readUint64BE(buf: Uint8Array, pos: number): number {
  const hi = ((buf[pos] ?? 0) * 0x1000000) + (((buf[pos + 1] ?? 0) << 16) | ((buf[pos + 2] ?? 0) << 8) | (buf[pos + 3] ?? 0));
  const lo = ((buf[pos + 4] ?? 0) * 0x1000000) + (((buf[pos + 5] ?? 0) << 16) | ((buf[pos + 6] ?? 0) << 8) | (buf[pos + 7] ?? 0));
  return hi * TWO_32 + lo;
}

/** revKey builds the RocksDB key of a revision in the key bucket (prefix + etcd revision bytes). */
export function revKey(main: number, sub: number, tombstone: boolean): Buffer {
  const buf = Buffer.allocUnsafe(1 + REV_BYTES + (tombstone ? 1 : 0));
  buf[0] = KEY_PREFIX;
  writeUint64BE(buf, 1, main);
  buf[9] = SEP;
  writeUint64BE(buf, 10, sub);
  if (tombstone) buf[18] = TOMBSTONE_MARK;
  return buf;
}

/** revLowerBound is the smallest key-bucket key of main revision `main` (an iterator bound). */
export function revLowerBound(main: number): Buffer {
  return revKey(main, 0, false);
}

/** ParsedRevKey is a key-bucket key taken apart. */
export interface ParsedRevKey {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
}

/** parseRevKey reads a key-bucket key written by revKey. */
export function parseRevKey(key: Uint8Array): ParsedRevKey {
  return {
    main: readUint64BE(key, 1),
    sub: readUint64BE(key, 10),
    tombstone: key.length > 1 + REV_BYTES && key[1 + REV_BYTES] === TOMBSTONE_MARK,
  };
}

/** metaKey builds the RocksDB key of a meta-bucket entry. */
export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.of(META_PREFIX), Buffer.from(name, 'latin1')]);
}

/** auxKey builds the RocksDB key of an entry of auxiliary bucket `bucket` (a name without '/'). */
export function auxKey(bucket: string, key: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(AUX_PREFIX), Buffer.from(`${bucket}/`, 'latin1'), key]);
}

/** auxBucketBounds returns [gte, lt) bounds of every key of an auxiliary bucket. */
export function auxBucketBounds(bucket: string): [Buffer, Buffer] {
  return [
    Buffer.concat([Buffer.of(AUX_PREFIX), Buffer.from(`${bucket}/`, 'latin1')]),
    Buffer.concat([Buffer.of(AUX_PREFIX), Buffer.from(`${bucket}0`, 'latin1')]), // '0' follows '/'
  ];
}

/** encodeUint64 returns 8 big-endian bytes (meta values). */
export function encodeUint64(n: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  writeUint64BE(buf, 0, n);
  return buf;
}
