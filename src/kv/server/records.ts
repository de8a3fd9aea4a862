/**
 * records: decoders for what a kv member keeps on disk outside the Raft log's own format — its
 * identity in the WAL metadata, the member registry and the lease records in the MVCC store's
 * auxiliary buckets. Each is checked field by field when read back; a record that does not fit
 * fails with a CorruptRecordError naming where it was read from and which field is wrong,
 * never with a TypeError deep inside the code that would have used it.
 */
import { nodeId, type NodeId } from '../../raft/index.js';
import { DecodeError, decodeWith, isRecord, repeated, type Decoded, type FieldDecoder } from '../proto/decode.js';

/**
 * CorruptRecordError is a record on disk that cannot be read back: `where` names the file or
 * bucket and key, `detail` the field and what it held. The member stops; the message says how
 * to recover.
 */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
  constructor(
    readonly where: string,
    readonly detail: string,
  ) {
    super(`Corrupt record in ${where}: ${detail}. The data directory is damaged: restore it from a backup, or remove this member and add it again with an empty data directory`);
  }
}

/** fail refuses a field of a record read from disk (the wire's `fail` tells a sender what to fix). */
function fail(path: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  throw new DecodeError(`${path}: expected ${expected}, got ${shown.length > 60 ? `${shown.slice(0, 60)}...` : shown}`);
}

/** decodeJson runs a field decoder over a JSON record and throws CorruptRecordError on failure. */
function decodeJson<T>(bytes: Uint8Array, decoder: FieldDecoder<T>, where: string, name: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err: unknown) {
    throw new CorruptRecordError(where, `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const d: Decoded<T> = decodeWith(decoder, value, name);
  if (!d.ok) throw new CorruptRecordError(where, d.error);
  return d.value;
}

function fields(value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (!isRecord(value)) fail(path, 'a JSON object', value);
  return value;
}

const memberNumber: FieldDecoder<NodeId> = (value, path) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(path, 'a member ID (a positive integer)', value);
  return nodeId(value);
};

const text: FieldDecoder<string> = (value, path) => (typeof value === 'string' ? value : fail(path, 'a string', value));

const urls: FieldDecoder<readonly string[]> = (value, path) => {
  if (!Array.isArray(value)) fail(path, 'a list of URLs', value);
  return repeated(text)(value, path);
};

// ---- WAL metadata ----

/** WalMeta is the member's identity as its WAL records it when the WAL is created. */
export interface WalMeta {
  readonly memberId: NodeId;
  /** clusterId is the cluster's 64-bit ID as a decimal string. */
  readonly clusterId: string;
}

/** encodeWalMeta serialises the WAL metadata. */
export function encodeWalMeta(m: WalMeta): Uint8Array {
  return Buffer.from(JSON.stringify({ memberId: m.memberId, clusterId: m.clusterId }));
}

const walMeta: FieldDecoder<WalMeta> = (value, path) => {
  const r = fields(value, path);
  const clusterId = text(r['clusterId'], `${path}.clusterId`);
  if (!/^[0-9]+$/.test(clusterId)) fail(`${path}.clusterId`, 'a decimal cluster ID', clusterId);
  return { memberId: memberNumber(r['memberId'], `${path}.memberId`), clusterId };
};

/** decodeWalMeta reads the WAL metadata found in `dir`; it throws CorruptRecordError when it does not fit. */
export function decodeWalMeta(bytes: Uint8Array, dir: string): WalMeta {
  return decodeJson(bytes, walMeta, `the WAL metadata of ${dir}`, 'metadata');
}

// ---- member registry ----

/** MemberRecord is one member of the registry as stored (MemberInfo's shape). */
export interface MemberRecord {
  readonly id: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

const memberRecord: FieldDecoder<MemberRecord> = (value, path) => {
  const r = fields(value, path);
  const isLearner = r['isLearner'];
  if (typeof isLearner !== 'boolean') fail(`${path}.isLearner`, 'a boolean', isLearner);
  return {
    id: memberNumber(r['id'], `${path}.id`),
    name: text(r['name'], `${path}.name`),
    peerURLs: urls(r['peerURLs'], `${path}.peerURLs`),
    clientURLs: urls(r['clientURLs'], `${path}.clientURLs`),
    isLearner,
  };
};

/** decodeMemberRecord reads one record of the members bucket stored under `key`. */
export function decodeMemberRecord(key: Uint8Array, value: Uint8Array, bucket: string): MemberRecord {
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8');
  const where = `the ${bucket} bucket, key ${JSON.stringify(k)}`;
  const m = decodeJson(value, memberRecord, where, 'member');
  if (String(m.id) !== k) throw new CorruptRecordError(where, `the record is of member ${m.id}, not of its key`);
  return m;
}

// ---- leases ----

/** LeaseRecord is one lease as stored: its ID and granted TTL in seconds. */
export interface LeaseRecord {
  readonly id: bigint;
  readonly ttl: number;
}

const LEASE_KEY_BYTES = 8;
const LEASE_VALUE_BYTES = 4;

/** encodeLeaseKey is a lease record's key: the ID as a big-endian int64. */
export function encodeLeaseKey(id: bigint): Buffer {
  const b = Buffer.alloc(LEASE_KEY_BYTES);
  b.writeBigInt64BE(id);
  return b;
}

/** encodeLeaseValue is a lease record's value: the TTL as a big-endian uint32 (capped). */
export function encodeLeaseValue(ttl: number): Buffer {
  const v = Buffer.alloc(LEASE_VALUE_BYTES);
  v.writeUInt32BE(Math.min(ttl, 0xffffffff));
  return v;
}

/** decodeLeaseRecord reads one record of the lease bucket. */
export function decodeLeaseRecord(key: Buffer, value: Buffer, bucket: string): LeaseRecord {
  const where = `the ${bucket} bucket, key ${key.toString('hex')}`;
  if (key.length !== LEASE_KEY_BYTES) throw new CorruptRecordError(where, `the key is ${key.length} bytes, a lease ID is ${LEASE_KEY_BYTES}`);
  if (value.length !== LEASE_VALUE_BYTES) throw new CorruptRecordError(where, `the value is ${value.length} bytes, a lease TTL is ${LEASE_VALUE_BYTES}`);
  return { id: key.readBigInt64BE(0), ttl: value.readUInt32BE(0) };
}

// ---- alarms ----

/** AlarmRecord is one raised alarm as stored: the member it concerns and its type. */
export interface AlarmRecord {
  /** memberID is the member's 64-bit ID as a decimal string (Id64). */
  readonly memberID: string;
  readonly alarm: 'NOSPACE' | 'CORRUPT';
}

/** encodeAlarmKey is an alarm record's key: "<member ID>/<type>" (the value is empty). */
export function encodeAlarmKey(a: AlarmRecord): Buffer {
  return Buffer.from(`${a.memberID}/${a.alarm}`, 'utf8');
}

/** decodeAlarmRecord reads one record of the alarm bucket. */
export function decodeAlarmRecord(key: Buffer, bucket: string): AlarmRecord {
  const k = key.toString('utf8');
  const m = /^([1-9][0-9]*)\/(NOSPACE|CORRUPT)$/.exec(k);
  if (m === null) throw new CorruptRecordError(`the ${bucket} bucket, key ${JSON.stringify(k)}`, 'expected "<member ID>/NOSPACE" or "<member ID>/CORRUPT"');
  return { memberID: m[1]!, alarm: m[2] === 'NOSPACE' ? 'NOSPACE' : 'CORRUPT' };
}
