/**
 * snapshot-file: a snapshot as a file — what Maintenance.Snapshot streams, and so what
 * `etcdctl snapshot save` and `raftkube snapshot save` write. The file is the MVCC image
 * (maintenance.ts, with its own SHA-256 at its end), zero-padded to a multiple of 512 bytes,
 * then the SHA-256 of everything before it. The outer hash follows etcd's rule for a snapshot's
 * integrity hash: a file whose size is 32 bytes past a multiple of 512 carries one.
 *
 * inspectSnapshotFile verifies a file (both checksums) and reads what `snapshot status` prints:
 * the hash, revision, key count and size. imageStream streams the image part of a verified
 * file for a restore.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32c } from '../../raft/wal/crc32c.js';
import { uint64ToNumber, decodeKeyValueHeader } from './codec.js';
import { KEY_PREFIX, parseRevKey } from './revision.js';
import { META_COMPACTED, META_CONSISTENT_INDEX } from './backend.js';
import { SnapshotError, SnapshotParser } from './maintenance.js';
import { metaKey } from './revision.js';

/** HASH_BYTES is the length of the file's trailing SHA-256. */
const HASH_BYTES = 32;
/** BLOCK is what etcd pads a snapshot to before its integrity hash. */
const BLOCK = 512;

/**
 * sealSnapshot appends to an image's chunks the zero padding and the SHA-256 that make it a
 * snapshot file (the chunks themselves are not copied). etcdctl accepts the result the way it
 * accepts a bolt file: a multiple of 512 bytes followed by their SHA-256.
 */
export function sealSnapshot(image: readonly Buffer[]): Buffer[] {
  const total = image.reduce((n, c) => n + c.length, 0);
  const pad = (BLOCK - (total % BLOCK)) % BLOCK;
  const out = [...image];
  if (pad > 0) out.push(Buffer.alloc(pad));
  const digest = createHash('sha256');
  for (const c of out) digest.update(c);
  out.push(digest.digest());
  return out;
}

/** SnapshotFileStatus is what a snapshot file holds, as `snapshot status` prints it. */
export interface SnapshotFileStatus {
  /**
   * hash is the CRC-32C of the image's key-value history, computed as HashKV computes it: equal
   * to `etcdctl endpoint hashkv` on the member the snapshot came from, at the same revision.
   */
  readonly hash: number;
  readonly revision: number;
  /** totalKey counts the keys that exist at `revision` (deleted ones not counted). */
  readonly totalKey: number;
  /** totalSize is the file's size in bytes. */
  readonly totalSize: number;
  readonly compactedRevision: number;
  /** consistentIndex is the Raft index of the cluster the snapshot came from. */
  readonly consistentIndex: number;
  /** imageBytes is the length of the MVCC image inside the file (without padding and hash). */
  readonly imageBytes: number;
  /** hasIntegrityHash says the file ends with the SHA-256 of the rest (false: a bare image). */
  readonly hasIntegrityHash: boolean;
}

/** InspectOptions tune inspectSnapshotFile. */
export interface InspectOptions {
  /**
   * skipHashCheck accepts a file without the trailing SHA-256, or with a wrong one, as etcdutl's
   * --skip-hash-check does. The image's own checksum is verified regardless.
   */
  readonly skipHashCheck?: boolean;
}

const KEY_BUCKET_NAME = Buffer.from('key', 'latin1');
const META_CI = metaKey(META_CONSISTENT_INDEX);
const META_COMPACT = metaKey(META_COMPACTED);

/**
 * inspectSnapshotFile reads a snapshot file once, verifying the image's checksum and the file's
 * integrity hash, and returns what it holds. A truncated, corrupt or foreign file throws a
 * SnapshotError that says so.
 */
export async function inspectSnapshotFile(path: string, o: InspectOptions = {}): Promise<SnapshotFileStatus> {
  const size = (await stat(path)).size;
  const parser = new SnapshotParser();
  // The outer hash covers everything but the last HASH_BYTES bytes.
  const outer = createHash('sha256');
  let read = 0;
  let tail = Buffer.alloc(0);
  let crc = crc32c(KEY_BUCKET_NAME);
  let lastMain = 0;
  let consistentIndex = 0;
  let compacted = 0;
  const live = new Map<string, boolean>();
  let undecodable: string | null = null;
  for await (const raw of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const chunk = raw as Buffer;
    const hashable = Math.max(0, Math.min(chunk.length, size - HASH_BYTES - read));
    outer.update(chunk.subarray(0, hashable));
    if (hashable < chunk.length) tail = Buffer.concat([tail, chunk.subarray(hashable)]);
    read += chunk.length;
    for (const e of parser.push(chunk)) {
      if (undecodable !== null) continue;
      try {
        if (e.key[0] === KEY_PREFIX) {
          crc = crc32c(e.key.subarray(1), crc);
          crc = crc32c(e.value, crc);
          const rev = parseRevKey(e.key);
          lastMain = rev.main;
          live.set(decodeKeyValueHeader(e.value).key, !rev.tombstone);
        } else if (e.key.equals(META_CI)) consistentIndex = uint64ToNumber(e.value, META_CONSISTENT_INDEX);
        else if (e.key.equals(META_COMPACT)) compacted = uint64ToNumber(e.value, META_COMPACTED);
      } catch (err: unknown) {
        // Reported after the checksums: damage shows as a checksum mismatch, not as this.
        undecodable = err instanceof Error ? err.message : String(err);
      }
    }
  }
  const outerDigest = outer.digest();
  // The file's hash first: a damaged file then says so, whatever the damage did to the parse.
  // (A bare image of such a size passes: its last 32 bytes are the SHA-256 of the rest too.)
  if (o.skipHashCheck !== true && size % BLOCK === HASH_BYTES && !tail.equals(outerDigest)) throw integrityError();
  parser.finish();
  const hasIntegrityHash = checkWrapper(parser, size, outerDigest, tail, o.skipHashCheck === true);
  if (undecodable !== null) throw new SnapshotError(`The snapshot's checksums hold but an entry does not decode (${undecodable}): it was written by another version or is damaged`);
  let totalKey = 0;
  for (const alive of live.values()) if (alive) totalKey++;
  return {
    hash: crc,
    // As the store computes it on open: an empty store is at 1; a compaction may have dropped
    // the newest revisions' tombstones.
    revision: Math.max(1, lastMain, compacted),
    totalKey,
    totalSize: size,
    compactedRevision: compacted,
    consistentIndex,
    imageBytes: parser.imageBytes,
    hasIntegrityHash,
  };
}

/** checkWrapper checks what follows the image: nothing (a bare image) or zero padding and the file's SHA-256. */
function checkWrapper(parser: SnapshotParser, size: number, outerDigest: Buffer, tail: Buffer, skip: boolean): boolean {
  const after = parser.trailingBytes;
  if (after === 0) {
    if (!skip) throw new SnapshotError('The snapshot file has no integrity hash at its end (it is a bare image, not what snapshot save writes); pass --skip-hash-check to restore it anyway');
    return false;
  }
  const pad = after - HASH_BYTES;
  const padding = parser.trailing.subarray(0, Math.max(0, pad));
  if (pad < 0 || pad >= BLOCK || size % BLOCK !== HASH_BYTES || !padding.every((b) => b === 0)) {
    throw new SnapshotError(`The snapshot file has ${after} unexpected bytes after its image: it is corrupt or not a snapshot file; save it again`);
  }
  if (!skip && !tail.equals(outerDigest)) throw integrityError();
  return true;
}

function integrityError(): SnapshotError {
  return new SnapshotError('The snapshot file fails its integrity hash (SHA-256 mismatch): it is corrupt; save it again');
}

/** imageStream streams the MVCC image inside a snapshot file (its first `imageBytes` bytes). */
export function imageStream(path: string, imageBytes: number): AsyncIterable<Uint8Array> {
  return createReadStream(path, { start: 0, end: imageBytes - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>;
}
