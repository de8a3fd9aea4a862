/**
 * snapshot-store: durable snapshots of the application state, one file each at
 * `<dir>/snap/<term:016x>-<index:016x>.snap`. A snapshot is written to a temporary file, synced,
 * renamed into place and the directory synced, so a file under its final name is always
 * complete; a checksum over metadata and data catches later damage.
 *
 * File layout (little-endian): a 32-byte header, then the metadata, then the data.
 *   0  8 bytes  magic "RKSNAP01"
 *   8  u32      metadata length
 *   12 u32      reserved, 0
 *   16 u64      data length
 *   24 u32      CRC-32C of metadata then data
 *   28 u32      CRC-32C of header bytes 0..27
 * The metadata is encoded as in the WAL's snapshot marker (record.ts).
 *
 * Order with the WAL (as etcd): save the snapshot file first, then record its marker in the
 * WAL, then release WAL segments. On restart, load the snapshot matching the WAL's marker.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { LogIndex, Snapshot, SnapshotMetadata, Term } from '../types.js';
import { crc32cRange } from './crc32c.js';
import { SnapshotCorruptError, WalIoError } from './errors.js';
import { closeFd, fdatasync, fsyncDir, mkdirDurable, openFd, writevAll } from './fsio.js';
import { RecordFormatError, get32, get64, put32, put64, readSnapshotMeta, snapshotMetaSize, writeSnapshotMeta } from './record.js';

const MAGIC = Buffer.from('RKSNAP01', 'latin1');
const HEADER = 32;
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TMP_SUFFIX = '.snap.tmp';

/** SnapshotStoreOptions configures a SnapshotStore. */
export interface SnapshotStoreOptions {
  /** retain is how many of the newest snapshots `save` keeps (default 3, at least 1). */
  readonly retain?: number;
  /** onCorrupt hears about each damaged snapshot file that loading skipped. */
  readonly onCorrupt?: (err: SnapshotCorruptError) => void;
}

/** SnapshotFile names one stored snapshot. */
export interface SnapshotFile {
  readonly index: LogIndex;
  readonly term: Term;
  readonly file: string;
}

/** SnapshotStore saves, loads and prunes snapshot files under `<dir>/snap`. */
export class SnapshotStore {
  readonly #dir: string;
  readonly #retain: number;
  readonly #onCorrupt: (err: SnapshotCorruptError) => void;

  /** SnapshotStore keeps snapshots in `<dir>/snap`; nothing touches the disk until the first call. */
  constructor(dir: string, opts: SnapshotStoreOptions = {}) {
    const retain = opts.retain ?? 3;
    if (!Number.isSafeInteger(retain) || retain < 1) throw new RangeError(`retain must be a positive integer, got ${retain}`);
    this.#dir = path.join(dir, 'snap');
    this.#retain = retain;
    this.#onCorrupt = opts.onCorrupt ?? (() => undefined);
  }

  /** dir is the directory holding the snapshot files. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * save writes `snapshot` durably and resolves to its file path once the file and its directory
   * entry are synced; then it deletes all but the newest `retain` snapshots.
   */
  async save(snapshot: Snapshot): Promise<string> {
    const meta = snapshot.metadata;
    await mkdirDurable(this.#dir);
    const file = path.join(this.#dir, snapName(meta.term, meta.index));
    const tmp = file + '.tmp';

    const metaBuf = Buffer.allocUnsafe(snapshotMetaSize(meta));
    writeSnapshotMeta(metaBuf, 0, meta);
    const data = snapshot.data;
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    put32(header, 8, metaBuf.length);
    put64(header, 16, data.byteLength);
    put32(header, 24, crc32cRange(data, 0, data.byteLength, crc32cRange(metaBuf, 0, metaBuf.length)));
    put32(header, 28, crc32cRange(header, 0, 28));

    const fd = await openFd(tmp, 'w');
    try {
      await writevAll(fd, [header, metaBuf, data], 0);
      await fdatasync(fd);
    } catch (err) {
      await closeFd(fd).catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw new WalIoError('snapshot write', tmp, { cause: err });
    }
    await closeFd(fd);
    await fsp.rename(tmp, file);
    await fsyncDir(this.#dir);
    await this.purge();
    return file;
  }

  /** list returns the snapshot files present, newest (highest index, then term) first. */
  async list(): Promise<SnapshotFile[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.#dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const out: SnapshotFile[] = [];
    for (const name of names) {
      const m = NAME_RE.exec(name);
      if (!m) continue;
      const term = Number.parseInt(m[1]!, 16);
      const index = Number.parseInt(m[2]!, 16);
      if (!Number.isSafeInteger(term) || !Number.isSafeInteger(index)) continue;
      out.push({ index: index as LogIndex, term: term as Term, file: path.join(this.#dir, name) });
    }
    return out.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /** loadNewest returns the newest snapshot that passes its checks (skipping damaged ones), or null. */
  async loadNewest(): Promise<Snapshot | null> {
    for (const f of await this.list()) {
      const snap = await this.#tryLoad(f);
      if (snap) return snap;
    }
    return null;
  }

  /**
   * loadMatching returns the snapshot with exactly this index and term (the one the WAL's
   * snapshot marker names), or null if it is missing or damaged.
   */
  async loadMatching(want: { readonly index: LogIndex; readonly term: Term }): Promise<Snapshot | null> {
    const f = (await this.list()).find((s) => s.index === want.index && s.term === want.term);
    return f ? this.#tryLoad(f) : null;
  }

  async #tryLoad(f: SnapshotFile): Promise<Snapshot | null> {
    try {
      return await readSnapshotFile(f);
    } catch (err) {
      if (err instanceof SnapshotCorruptError) {
        this.#onCorrupt(err);
        return null;
      }
      throw err;
    }
  }

  /** purge deletes all but the newest `retain` snapshots and any leftover temporary files; resolves to how many files went. */
  async purge(retain: number = this.#retain): Promise<number> {
    const doomed = (await this.list()).slice(Math.max(1, retain)).map((f) => f.file);
    try {
      for (const name of await fsp.readdir(this.#dir)) {
        if (name.endsWith(TMP_SUFFIX)) doomed.push(path.join(this.#dir, name));
      }
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    for (const file of doomed) await fsp.rm(file, { force: true });
    if (doomed.length > 0) await fsyncDir(this.#dir);
    return doomed.length;
  }
}

function snapName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}

/** Reads and checks one snapshot file; throws SnapshotCorruptError if any check fails. */
async function readSnapshotFile(f: SnapshotFile): Promise<Snapshot> {
  const buf = await fsp.readFile(f.file);
  const bad = (detail: string): SnapshotCorruptError => new SnapshotCorruptError(f.file, detail);
  if (buf.length < HEADER) throw bad(`file of ${buf.length} bytes is shorter than its header`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw bad('not a snapshot file (bad magic)');
  if (get32(buf, 28) !== crc32cRange(buf, 0, 28)) throw bad('header checksum mismatch');
  const metaLen = get32(buf, 8);
  let dataLen: number;
  try {
    dataLen = get64(buf, 16);
  } catch {
    throw bad('data length out of range');
  }
  if (HEADER + metaLen + dataLen !== buf.length) {
    throw bad(`file is ${buf.length} bytes, header says ${HEADER + metaLen + dataLen}`);
  }
  if (get32(buf, 24) !== crc32cRange(buf, HEADER, buf.length)) throw bad('checksum mismatch');
  let metadata: SnapshotMetadata;
  try {
    const r = readSnapshotMeta(buf, HEADER, HEADER + metaLen);
    if (r.end !== HEADER + metaLen) throw new RecordFormatError('metadata has trailing bytes');
    metadata = r.meta;
  } catch (err) {
    if (err instanceof RecordFormatError) throw bad(err.message);
    throw err;
  }
  if (metadata.index !== f.index || metadata.term !== f.term) {
    throw bad(`holds index ${metadata.index} term ${metadata.term}, its name says index ${f.index} term ${f.term}`);
  }
  const start = HEADER + metaLen;
  return { metadata, data: new Uint8Array(buf.buffer, buf.byteOffset + start, dataLen) };
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
