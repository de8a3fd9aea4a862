/**
 * raft-codec: maps the raft core's `Message` union (src/raft/types.ts) to and from the wire
 * messages of proto/raftpb/raft.proto, as the plain objects grpc-js serializes and hands back
 * (LOADER_OPTIONS). The round trip is exact: every field of every message type survives, an
 * absent heartbeat context (null) stays apart from an empty one, and bytes come back as plain
 * Uint8Arrays whatever went in (Buffer or Uint8Array).
 *
 * Also here: splitting and reassembling a snap message for the SendSnapshot rpc. (Every other
 * message travels on the raw TCP raft link, src/kv/transport/frame-codec.ts.)
 */
import {
  logIndex,
  nodeId,
  term,
  type ConfState,
  type Entry,
  type EntryType,
  type Message,
  type MessageType,
  type NodeId,
  type Snapshot,
  type SnapshotMessage,
} from '../../raft/types.js';
import { bool, bytes, decodeWith, enumOf, fail, id, message, optional, record, repeated, uint, type Decoded, type FieldDecoder } from './decode.js';
import type { Id64 } from './etcd-types.js';

/** MESSAGE_TYPES_PB are the names of raftpb.MessageType in numeric order. */
export const MESSAGE_TYPES_PB = [
  'MSG_UNSPECIFIED',
  'MSG_APP',
  'MSG_APP_RESP',
  'MSG_VOTE',
  'MSG_PRE_VOTE',
  'MSG_VOTE_RESP',
  'MSG_PRE_VOTE_RESP',
  'MSG_HEARTBEAT',
  'MSG_HEARTBEAT_RESP',
  'MSG_SNAP',
  'MSG_TIMEOUT_NOW',
  'MSG_READ_INDEX',
  'MSG_READ_INDEX_RESP',
  'MSG_PROP',
] as const;
/** MessageTypePb is the wire name of a raft message type. */
export type MessageTypePb = (typeof MESSAGE_TYPES_PB)[number];

const TYPE_TO_PB: Readonly<Record<MessageType, MessageTypePb>> = {
  app: 'MSG_APP',
  'app-resp': 'MSG_APP_RESP',
  vote: 'MSG_VOTE',
  'pre-vote': 'MSG_PRE_VOTE',
  'vote-resp': 'MSG_VOTE_RESP',
  'pre-vote-resp': 'MSG_PRE_VOTE_RESP',
  heartbeat: 'MSG_HEARTBEAT',
  'heartbeat-resp': 'MSG_HEARTBEAT_RESP',
  snap: 'MSG_SNAP',
  'timeout-now': 'MSG_TIMEOUT_NOW',
  'read-index': 'MSG_READ_INDEX',
  'read-index-resp': 'MSG_READ_INDEX_RESP',
  prop: 'MSG_PROP',
};
const PB_TO_TYPE = new Map<MessageTypePb, MessageType>(Object.entries(TYPE_TO_PB).map(([t, pb]) => [pb, t as MessageType]));

const ENTRY_TYPES_PB = ['ENTRY_NORMAL', 'ENTRY_CONF_CHANGE'] as const;
/** EntryTypePb is the wire name of an entry type. */
export type EntryTypePb = (typeof ENTRY_TYPES_PB)[number];

/** EntryPb is raftpb.Entry as handed to grpc-js for encoding. */
export interface EntryPb {
  readonly term: number;
  readonly index: number;
  readonly type: EntryTypePb;
  readonly data: Uint8Array;
}

/** SnapshotPb is raftpb.Snapshot as handed to grpc-js for encoding. */
export interface SnapshotPb {
  readonly metadata: {
    readonly conf_state: { readonly voters: readonly number[]; readonly learners: readonly number[] };
    readonly index: number;
    readonly term: number;
  };
  readonly data: Uint8Array;
}

/**
 * MessagePb is raftpb.Message as handed to grpc-js for encoding. Only the fields the message's
 * type uses are set; `context` is left out to mean "no context".
 */
export interface MessagePb {
  readonly type: MessageTypePb;
  readonly from: number;
  readonly to: number;
  readonly term: number;
  readonly log_term?: number;
  readonly index?: number;
  readonly entries?: readonly EntryPb[];
  readonly commit?: number;
  readonly snapshot?: SnapshotPb;
  readonly reject?: boolean;
  readonly reject_hint?: number;
  readonly context?: Uint8Array;
  readonly force?: boolean;
}

/** SnapshotAck (raftpb.SnapshotAck) says how many snapshot data bytes the receiver took. */
export interface SnapshotAck {
  readonly received: number;
}

/** SnapshotChunkPb is raftpb.SnapshotChunk as handed to grpc-js for encoding. */
export interface SnapshotChunkPb {
  readonly message?: MessagePb;
  readonly cluster_id: Id64;
  readonly offset: number;
  readonly total_size: number;
  readonly data: Uint8Array;
}

// ---- encoding ----

function encodeEntry(e: Entry): EntryPb {
  return { term: e.term, index: e.index, type: e.type === 'normal' ? 'ENTRY_NORMAL' : 'ENTRY_CONF_CHANGE', data: e.data };
}

function encodeSnapshot(s: Snapshot): SnapshotPb {
  const { confState, index, term: t } = s.metadata;
  return { metadata: { conf_state: { voters: confState.voters, learners: confState.learners }, index, term: t }, data: s.data };
}

/** encodeMessage turns a raft message into its wire object (for SnapshotChunk.message). */
export function encodeMessage(m: Message): MessagePb {
  const base = { type: TYPE_TO_PB[m.type], from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'app':
      return { ...base, index: m.index, log_term: m.logTerm, entries: m.entries.map(encodeEntry), commit: m.commit };
    case 'app-resp':
      return { ...base, index: m.index, reject: m.reject, reject_hint: m.rejectHint, log_term: m.logTerm };
    case 'vote':
    case 'pre-vote':
      return { ...base, index: m.index, log_term: m.logTerm, force: m.force };
    case 'vote-resp':
    case 'pre-vote-resp':
      return { ...base, reject: m.reject };
    case 'heartbeat':
      return m.context === null ? { ...base, commit: m.commit } : { ...base, commit: m.commit, context: m.context };
    case 'heartbeat-resp':
      return m.context === null ? base : { ...base, context: m.context };
    case 'snap':
      return { ...base, snapshot: encodeSnapshot(m.snapshot) };
    case 'timeout-now':
      return base;
    case 'read-index':
      return { ...base, context: m.context };
    case 'read-index-resp':
      return { ...base, index: m.index, context: m.context };
    case 'prop':
      return { ...base, entries: m.entries.map(encodeEntry) };
  }
}

// ---- decoding ----

/**
 * plain returns bytes as a plain Uint8Array over the same memory (no copy). NB: a decoded
 * Buffer is a view into the received frame, so the frame stays alive as long as the bytes do.
 */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const plainBytes: FieldDecoder<Uint8Array> = (value, path) => plain(bytes(value, path));

const node: FieldDecoder<NodeId> = (value, path) => {
  const n = uint(value, path);
  if (n === 0) fail(path, 'a node id (a positive integer)', value);
  return nodeId(n);
};

const entry: FieldDecoder<Entry> = (value, path) => {
  const r = record(value, path);
  const type: EntryType = enumOf(ENTRY_TYPES_PB)(r['type'], `${path}.type`) === 'ENTRY_NORMAL' ? 'normal' : 'conf-change';
  return { term: term(uint(r['term'], `${path}.term`)), index: logIndex(uint(r['index'], `${path}.index`)), type, data: plainBytes(r['data'], `${path}.data`) };
};

const confState = message<ConfState>({ voters: repeated(node), learners: repeated(node) });

const snapshot: FieldDecoder<Snapshot> = (value, path) => {
  const r = record(value, path);
  const md = r['metadata'];
  if (md === undefined || md === null) fail(`${path}.metadata`, 'snapshot metadata', md);
  const m = record(md, `${path}.metadata`);
  return {
    metadata: {
      index: logIndex(uint(m['index'], `${path}.metadata.index`)),
      term: term(uint(m['term'], `${path}.metadata.term`)),
      confState: confState(m['conf_state'], `${path}.metadata.conf_state`),
    },
    data: plainBytes(r['data'], `${path}.data`),
  };
};

const requiredContext: FieldDecoder<Uint8Array> = (value, path) => {
  if (value === undefined || value === null) fail(path, 'a context', value);
  return plainBytes(value, path);
};

const optionalContext: FieldDecoder<Uint8Array | null> = (value, path) => optional(plainBytes)(value, path) ?? null;

const raftMessage: FieldDecoder<Message> = (value, path) => {
  const r = record(value, path);
  const f = (name: string): [unknown, string] => [r[name], `${path}.${name}`];
  const pbType = enumOf(MESSAGE_TYPES_PB)(...f('type'));
  const type = PB_TO_TYPE.get(pbType);
  if (type === undefined) return fail(`${path}.type`, 'a raft message type', pbType);
  const from = node(...f('from'));
  const to = node(...f('to'));
  const t = term(uint(...f('term')));
  const index = (): ReturnType<typeof logIndex> => logIndex(uint(...f('index')));
  const logTerm = (): ReturnType<typeof term> => term(uint(...f('log_term')));
  switch (type) {
    case 'app':
      return { type, from, to, term: t, index: index(), logTerm: logTerm(), entries: repeated(entry)(...f('entries')), commit: logIndex(uint(...f('commit'))) };
    case 'app-resp':
      return { type, from, to, term: t, index: index(), reject: bool(...f('reject')), rejectHint: logIndex(uint(...f('reject_hint'))), logTerm: logTerm() };
    case 'vote':
    case 'pre-vote':
      return { type, from, to, term: t, index: index(), logTerm: logTerm(), force: bool(...f('force')) };
    case 'vote-resp':
    case 'pre-vote-resp':
      return { type, from, to, term: t, reject: bool(...f('reject')) };
    case 'heartbeat':
      return { type, from, to, term: t, commit: logIndex(uint(...f('commit'))), context: optionalContext(...f('context')) };
    case 'heartbeat-resp':
      return { type, from, to, term: t, context: optionalContext(...f('context')) };
    case 'snap': {
      const [s, at] = f('snapshot');
      if (s === undefined || s === null) return fail(at, 'a snapshot', s);
      return { type, from, to, term: t, snapshot: snapshot(s, at) };
    }
    case 'timeout-now':
      return { type, from, to, term: t };
    case 'read-index':
      return { type, from, to, term: t, context: requiredContext(...f('context')) };
    case 'read-index-resp':
      return { type, from, to, term: t, index: index(), context: requiredContext(...f('context')) };
    case 'prop':
      return { type, from, to, term: t, entries: repeated(entry)(...f('entries')) };
  }
};

/** decodeMessage narrows one wire raft message (as grpc-js hands it over) to a `Message`. */
export function decodeMessage(value: unknown): Decoded<Message> {
  return decodeWith(raftMessage, value, 'raftpb.Message');
}

/** decodeSnapshotAck narrows the SnapshotAck that ends a SendSnapshot rpc. */
export function decodeSnapshotAck(value: unknown): Decoded<SnapshotAck> {
  return decodeWith(message<SnapshotAck>({ received: uint }), value, 'raftpb.SnapshotAck');
}

// ---- snapshot chunks ----

/**
 * snapshotChunks splits a snap message for the SendSnapshot rpc: the first chunk carries the
 * message with empty snapshot data, and the chunks together carry the data in order, at most
 * `chunkSize` bytes each (views, no copies). There is always at least one chunk.
 */
export function snapshotChunks(msg: SnapshotMessage, clusterId: Id64, chunkSize: number): SnapshotChunkPb[] {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`Chunk size must be a positive integer, got ${chunkSize}`);
  const data = msg.snapshot.data;
  const header = encodeMessage({ ...msg, snapshot: { ...msg.snapshot, data: new Uint8Array(0) } });
  const chunks: SnapshotChunkPb[] = [];
  let offset = 0;
  do {
    const end = Math.min(offset + chunkSize, data.length);
    const part = { cluster_id: clusterId, offset, total_size: data.length, data: data.subarray(offset, end) };
    chunks.push(offset === 0 ? { ...part, message: header } : part);
    offset = end;
  } while (offset < data.length);
  return chunks;
}

/**
 * SnapshotAssembler rebuilds the snap message from the chunks of one SendSnapshot rpc, in the
 * order they arrive. `push` answers null while data is still missing, the message once the last
 * byte is in, and a refusal for a chunk that does not follow (wrong offset, size or cluster).
 */
export class SnapshotAssembler {
  readonly #maxBytes: number;
  readonly #expectCluster: Id64 | null;
  #header: SnapshotMessage | null = null;
  #clusterId: Id64 = '0';
  #total = 0;
  #parts: Uint8Array[] = [];
  #received = 0;
  #done = false;

  /**
   * The constructor takes `maxBytes`, the largest snapshot data accepted (default 2 GiB), and
   * `clusterId`, the cluster every chunk must belong to (default: whichever the first names).
   * Nothing is allocated on the announced size's word: the data is kept as it arrives.
   */
  constructor(options: { readonly maxBytes?: number; readonly clusterId?: Id64 } = {}) {
    this.#maxBytes = options.maxBytes ?? 2 ** 31;
    this.#expectCluster = options.clusterId ?? null;
  }

  /** received is how many data bytes have been taken so far (for the SnapshotAck). */
  get received(): number {
    return this.#received;
  }

  /** header is the snap message of the first chunk, once it has arrived. */
  get header(): SnapshotMessage | null {
    return this.#header;
  }

  /** push takes the next chunk as grpc-js hands it over. */
  push(chunk: unknown): Decoded<SnapshotMessage | null> {
    return decodeWith((value, path) => this.#take(value, path), chunk, 'raftpb.SnapshotChunk');
  }

  #take(value: unknown, path: string): SnapshotMessage | null {
    if (this.#done) fail(path, 'no chunk after the last one', value);
    const r = record(value, path);
    const clusterId = id(r['cluster_id'], `${path}.cluster_id`);
    const offset = uint(r['offset'], `${path}.offset`);
    const total = uint(r['total_size'], `${path}.total_size`);
    const data = bytes(r['data'], `${path}.data`);
    if (this.#header === null) {
      if (this.#expectCluster !== null && clusterId !== this.#expectCluster) fail(`${path}.cluster_id`, this.#expectCluster, clusterId);
      const m = r['message'];
      if (m === undefined || m === null) fail(`${path}.message`, 'the snap message on the first chunk', m);
      const decoded = raftMessage(m, `${path}.message`);
      if (decoded.type !== 'snap') fail(`${path}.message.type`, 'MSG_SNAP', decoded.type);
      if (total > this.#maxBytes) fail(`${path}.total_size`, `at most ${this.#maxBytes} bytes (raise maxBytes)`, total);
      this.#header = decoded;
      this.#clusterId = clusterId;
      this.#total = total;
    }
    if (clusterId !== this.#clusterId) fail(`${path}.cluster_id`, this.#clusterId, clusterId);
    if (total !== this.#total) fail(`${path}.total_size`, String(this.#total), total);
    if (offset !== this.#received) fail(`${path}.offset`, String(this.#received), offset);
    if (offset + data.length > total) fail(`${path}.data`, `at most ${total - offset} bytes`, data);
    if (data.length > 0) this.#parts.push(data);
    this.#received += data.length;
    if (this.#received < total) return null;
    this.#done = true;
    // NB: sized by what arrived, not by what the first chunk announced.
    const all = new Uint8Array(this.#received);
    let at = 0;
    for (const p of this.#parts) {
      all.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    return { ...this.#header, snapshot: { ...this.#header.snapshot, data: all } };
  }
}
