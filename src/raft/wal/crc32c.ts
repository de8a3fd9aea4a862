/**
 * crc32c: CRC-32C (Castagnoli, the checksum etcd's WAL and iSCSI use), table-driven with
 * slicing-by-8 so checksumming a batch costs far less than writing it. No dependencies:
 * Node 20 has no built-in CRC (zlib.crc32 arrived in Node 22).
 */

/** Reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/** Eight 256-entry tables: TABLE[k*256 + b] is the CRC of byte b followed by k zero bytes. */
const TABLE = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/**
 * crc32cRange returns the CRC-32C of `data[start, end)`, continuing from `prev` (the CRC of
 * the bytes before, 0 to start fresh). NB: it takes a range rather than a subarray because it
 * runs once or twice per WAL record on the hot path, where allocating a view per call shows.
 */
export function crc32cRange(data: Uint8Array, start: number, end: number, prev = 0): number {
  const t = TABLE;
  let c = ~prev;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^
      t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
    i += 8;
  }
  while (i < end) {
    c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** crc32c returns the CRC-32C of all of `data`, continuing from `prev` (0 to start fresh). */
export function crc32c(data: Uint8Array, prev = 0): number {
  return crc32cRange(data, 0, data.length, prev);
}
