/**
 * frame-codec: the wire format of the members' raft link, one TCP (or TLS) connection per
 * ordered pair of members. Hand-written: one Buffer per batch, no intermediate objects.
 *
 * A connection opens with a hello from the dialling member, fixed size:
 *
 *   "RKPL" | version u16 | cluster id u64 | from u64 | to u64        (30 bytes, little-endian)
 *
 * then carries frames in both directions, each `length u32 | kind u8 | body`, where `length`
 * counts the kind byte and the body:
 *
 *   BATCH  (dialler → listener): raft messages back to back, until the frame ends
 *   ACCEPT (listener → dialler): the hello was taken (no body)
 *   REFUSE (listener → dialler): the hello was refused; the body is the reason (UTF-8)
 *
 * Messages carry no from/to: every message of a link is from the hello's `from` to its `to`,
 * so a peer cannot speak for another member on its link. A message is `type u8 | term u64`
 * and then its type's fields (see `encodeInto`); numbers are u64 holding safe integers,
 * booleans one byte (0 or 1), bytes `length u32 | bytes`, an optional context a presence byte
 * first. Snapshots do not travel here (they have their own rpc).
 *
 * Decoding never trusts a length or count: each is checked against the bytes left in the
 * frame, a frame's length against the largest frame allowed, and frames are assembled only
 * from bytes that arrived. Malformed input is a `LinkError` value, never a throw.
 */
import { logIndex, nodeId, term, type Entry, type Message, type MessageType, type NodeId } from '../../raft/types.js';
import type { Id64 } from '../proto/etcd-types.js';

/** LINK_MAGIC opens every raft link connection (and tells the peer listener what it is). */
export const LINK_MAGIC = Buffer.from('RKPL', 'latin1');
/** FRAME_VERSION is the version of the hello and frame layout this member speaks. */
export const FRAME_VERSION = 1;
/** LINK_ALPN is the ALPN protocol name of the raft link on https:// peer URLs. */
export const LINK_ALPN = 'raftkube-raft/1';
/** HELLO_BYTES is the size of a version-1 hello. */
export const HELLO_BYTES = 30;
/** HELLO_PREFIX_BYTES is what must arrive to know the version (magic and version). */
const HELLO_PREFIX_BYTES = 6;

/** FrameKind names the kinds of frame. */
export const FrameKind = { batch: 1, accept: 2, refuse: 3 } as const;
/** MAX_REASON_BYTES bounds the reason of a REFUSE frame. */
export const MAX_REASON_BYTES = 1024;

const TWO_32 = 2 ** 32;
/** MAX_HI is the largest high word of a safe integer (2^53 - 1 >> 32). */
const MAX_HI = 0x1f_ffff;

/** Hello is what a dialling member says about itself and the link. */
export interface Hello {
  readonly version: number;
  readonly clusterId: Id64;
  readonly from: NodeId;
  readonly to: NodeId;
}

/** LinkError is why bytes from a peer were refused; the link is closed after one. */
export interface LinkError {
  readonly kind: 'not-a-link' | 'version' | 'too-large' | 'malformed';
  readonly message: string;
}

const TYPE_CODE: Readonly<Record<MessageType, number>> = {
  app: 1,
  'app-resp': 2,
  vote: 3,
  'pre-vote': 4,
  'vote-resp': 5,
  'pre-vote-resp': 6,
  heartbeat: 7,
  'heartbeat-resp': 8,
  snap: 9,
  'timeout-now': 10,
  'read-index': 11,
  'read-index-resp': 12,
  prop: 13,
};

// ---- encoding ----

function writeU64(b: Buffer, at: number, n: number): number {
  b.writeUInt32LE(n % TWO_32, at);
  b.writeUInt32LE(Math.floor(n / TWO_32), at + 4);
  return at + 8;
}

function writeBytes(b: Buffer, at: number, data: Uint8Array): number {
  b.writeUInt32LE(data.length, at);
  b.set(data, at + 4);
  return at + 4 + data.length;
}

function entriesSize(es: readonly Entry[]): number {
  let n = 4;
  for (const e of es) n += 21 + e.data.length;
  return n;
}

function writeEntries(b: Buffer, at: number, es: readonly Entry[]): number {
  b.writeUInt32LE(es.length, at);
  at += 4;
  for (const e of es) {
    at = writeU64(b, at, e.term);
    at = writeU64(b, at, e.index);
    b[at++] = e.type === 'normal' ? 0 : 1;
    at = writeBytes(b, at, e.data);
  }
  return at;
}

const contextSize = (c: Uint8Array | null): number => (c === null ? 1 : 5 + c.length);

function writeContext(b: Buffer, at: number, c: Uint8Array | null): number {
  if (c === null) {
    b[at] = 0;
    return at + 1;
  }
  b[at] = 1;
  return writeBytes(b, at + 1, c);
}

/**
 * messageSize is how many bytes `m` takes in a BATCH frame; `snap` messages, which this link
 * does not carry, are an error of the caller.
 */
export function messageSize(m: Message): number {
  const head = 9;
  switch (m.type) {
    case 'app':
      return head + 24 + entriesSize(m.entries);
    case 'app-resp':
      return head + 25;
    case 'vote':
    case 'pre-vote':
      return head + 17;
    case 'vote-resp':
    case 'pre-vote-resp':
      return head + 1;
    case 'heartbeat':
      return head + 8 + contextSize(m.context);
    case 'heartbeat-resp':
      return head + contextSize(m.context);
    case 'timeout-now':
      return head;
    case 'read-index':
      return head + 4 + m.context.length;
    case 'read-index-resp':
      return head + 12 + m.context.length;
    case 'prop':
      return head + entriesSize(m.entries);
    case 'snap':
      throw new RangeError('A snap message does not travel on the raft link; send it with SendSnapshot');
  }
}

function encodeInto(b: Buffer, at: number, m: Message): number {
  b[at++] = TYPE_CODE[m.type];
  at = writeU64(b, at, m.term);
  switch (m.type) {
    case 'app':
      at = writeU64(b, at, m.index);
      at = writeU64(b, at, m.logTerm);
      at = writeU64(b, at, m.commit);
      return writeEntries(b, at, m.entries);
    case 'app-resp':
      at = writeU64(b, at, m.index);
      at = writeU64(b, at, m.rejectHint);
      at = writeU64(b, at, m.logTerm);
      b[at++] = m.reject ? 1 : 0;
      return at;
    case 'vote':
    case 'pre-vote':
      at = writeU64(b, at, m.index);
      at = writeU64(b, at, m.logTerm);
      b[at++] = m.force ? 1 : 0;
      return at;
    case 'vote-resp':
    case 'pre-vote-resp':
      b[at++] = m.reject ? 1 : 0;
      return at;
    case 'heartbeat':
      at = writeU64(b, at, m.commit);
      return writeContext(b, at, m.context);
    case 'heartbeat-resp':
      return writeContext(b, at, m.context);
    case 'timeout-now':
      return at;
    case 'read-index':
      return writeBytes(b, at, m.context);
    case 'read-index-resp':
      at = writeU64(b, at, m.index);
      return writeBytes(b, at, m.context);
    case 'prop':
      return writeEntries(b, at, m.entries);
    case 'snap':
      throw new RangeError('A snap message does not travel on the raft link; send it with SendSnapshot');
  }
}

/**
 * encodeBatchFrame writes messages as one BATCH frame, length prefix included, into one Buffer
 * of exactly the frame's size. `size` is the sum of their messageSize, when the caller has it.
 */
export function encodeBatchFrame(messages: readonly Message[], size?: number): Buffer {
  let body = 1;
  if (size === undefined) for (const m of messages) body += messageSize(m);
  else body += size;
  const b = Buffer.allocUnsafe(4 + body);
  b.writeUInt32LE(body, 0);
  b[4] = FrameKind.batch;
  let at = 5;
  for (const m of messages) at = encodeInto(b, at, m);
  if (at !== b.length) throw new RangeError(`Batch frame size mismatch: wrote ${at} of ${b.length} bytes`);
  return b;
}

/** encodeHello writes the hello that opens a link. */
export function encodeHello(h: Omit<Hello, 'version'>): Buffer {
  const b = Buffer.alloc(HELLO_BYTES);
  LINK_MAGIC.copy(b, 0);
  b.writeUInt16LE(FRAME_VERSION, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(h.clusterId)), 6);
  writeU64(b, 14, h.from);
  writeU64(b, 22, h.to);
  return b;
}

/** encodeAccept is the ACCEPT frame. */
export function encodeAccept(): Buffer {
  return Buffer.from([1, 0, 0, 0, FrameKind.accept]);
}

/** encodeRefuse is a REFUSE frame with a reason (cut to MAX_REASON_BYTES). */
export function encodeRefuse(reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, MAX_REASON_BYTES);
  const b = Buffer.allocUnsafe(5 + text.length);
  b.writeUInt32LE(1 + text.length, 0);
  b[4] = FrameKind.refuse;
  text.copy(b, 5);
  return b;
}

/** clusterIdOnWire is how a cluster id reads after a trip through a hello (as uint64). */
export function clusterIdOnWire(id: Id64): Id64 {
  return BigInt.asUintN(64, BigInt(id)).toString();
}

// ---- decoding ----

/** Malformed is thrown inside the decoder only and caught at its edge. */
class Malformed extends Error {}

/**
 * Cursor reads a frame body front to back, checking every read against the bytes left.
 *
 * Reads take the name of the field; the message and the entry being read are kept as numbers
 * (`enter`, `entries`) and joined into the field's full name ("message 2 (1) entries[0].term")
 * only when an error is thrown: building those names for every read allocated about a kilobyte
 * per message on a member's hot path.
 */
class Cursor {
  at: number;
  #message = -1;
  #code = -1;
  #entry = -1;
  constructor(
    readonly b: Buffer,
    start: number,
  ) {
    this.at = start;
  }
  get left(): number {
    return this.b.length - this.at;
  }
  /** enter starts message number `message`; `code` is its type once read (-1 before). */
  enter(message: number, code: number): void {
    this.#message = message;
    this.#code = code;
    this.#entry = -1;
  }
  /** #name is a field's full name, for an error. */
  #name(what: string, suffix = ''): string {
    let s = '';
    if (this.#message >= 0) s = this.#code >= 0 ? `message ${this.#message} (${this.#code}) ` : `message ${this.#message} `;
    if (this.#entry >= 0) s += `entries[${this.#entry}].`;
    return `${s}${what}${suffix}`;
  }
  #need(n: number, what: string, suffix = ''): void {
    if (n > this.left) throw new Malformed(`${this.#name(what, suffix)} needs ${n} bytes, ${this.left} are left in the frame`);
  }
  u8(what: string): number {
    this.#need(1, what);
    return this.b[this.at++]!;
  }
  bool(what: string, suffix = ''): boolean {
    this.#need(1, what, suffix);
    const v = this.b[this.at++]!;
    if (v > 1) throw new Malformed(`${this.#name(what, suffix)} is ${v}, not 0 or 1`);
    return v === 1;
  }
  u32(what: string, suffix = ''): number {
    this.#need(4, what, suffix);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(what: string): number {
    this.#need(8, what);
    const lo = this.b.readUInt32LE(this.at);
    const hi = this.b.readUInt32LE(this.at + 4);
    if (hi > MAX_HI) throw new Malformed(`${this.#name(what)} is larger than 2^53 - 1`);
    this.at += 8;
    return hi * TWO_32 + lo;
  }
  /** bytes is a view into the frame (no copy): the frame lives as long as the bytes do. */
  bytes(what: string): Uint8Array {
    const n = this.u32(what, ' length');
    this.#need(n, what);
    const v = new Uint8Array(this.b.buffer, this.b.byteOffset + this.at, n);
    this.at += n;
    return v;
  }
  context(what: string): Uint8Array | null {
    return this.bool(what, ' presence') ? this.bytes(what) : null;
  }
  entries(): Entry[] {
    const count = this.u32('entries', ' count');
    // NB: every entry takes at least 21 bytes, so a count the frame cannot hold is a lie.
    if (count * 21 > this.left) throw new Malformed(`${this.#name('entries')} count ${count} does not fit in the ${this.left} bytes left`);
    const out: Entry[] = [];
    for (let i = 0; i < count; i++) {
      this.#entry = i;
      const t = term(this.u64('term'));
      const index = logIndex(this.u64('index'));
      const type = this.u8('type');
      if (type > 1) throw new Malformed(`${this.#name('type')} is ${type}, not 0 (normal) or 1 (conf-change)`);
      out.push({ term: t, index, type: type === 0 ? 'normal' : 'conf-change', data: this.bytes('data') });
    }
    this.#entry = -1;
    return out;
  }
}

function decodeOne(c: Cursor, from: NodeId, to: NodeId, n: number): Message {
  c.enter(n, -1);
  const code = c.u8('type');
  const t = term(c.u64('term'));
  c.enter(n, code);
  switch (code) {
    case 1: {
      const index = logIndex(c.u64('index'));
      const logTerm = term(c.u64('logTerm'));
      const commit = logIndex(c.u64('commit'));
      return { type: 'app', from, to, term: t, index, logTerm, commit, entries: c.entries() };
    }
    case 2: {
      const index = logIndex(c.u64('index'));
      const rejectHint = logIndex(c.u64('rejectHint'));
      const logTerm = term(c.u64('logTerm'));
      return { type: 'app-resp', from, to, term: t, index, rejectHint, logTerm, reject: c.bool('reject') };
    }
    case 3:
    case 4: {
      const index = logIndex(c.u64('index'));
      const logTerm = term(c.u64('logTerm'));
      return { type: code === 3 ? 'vote' : 'pre-vote', from, to, term: t, index, logTerm, force: c.bool('force') };
    }
    case 5:
    case 6:
      return { type: code === 5 ? 'vote-resp' : 'pre-vote-resp', from, to, term: t, reject: c.bool('reject') };
    case 7: {
      const commit = logIndex(c.u64('commit'));
      return { type: 'heartbeat', from, to, term: t, commit, context: c.context('context') };
    }
    case 8:
      return { type: 'heartbeat-resp', from, to, term: t, context: c.context('context') };
    case 10:
      return { type: 'timeout-now', from, to, term: t };
    case 11:
      return { type: 'read-index', from, to, term: t, context: c.bytes('context') };
    case 12: {
      const index = logIndex(c.u64('index'));
      return { type: 'read-index-resp', from, to, term: t, index, context: c.bytes('context') };
    }
    case 13:
      return { type: 'prop', from, to, term: t, entries: c.entries() };
    case 9:
      throw new Malformed(`message ${n} is a snap message, which travels on the SendSnapshot rpc, not the raft link`);
    default:
      throw new Malformed(`message ${n} has unknown type ${code}`);
  }
}

/** Decoded is a value or a LinkError. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: LinkError };

const malformed = (message: string): { ok: false; error: LinkError } => ({ ok: false, error: { kind: 'malformed', message } });

/**
 * decodeBatchBody reads the messages of a BATCH frame's body (its kind byte at offset 0), each
 * from `from` to `to` (the link's hello). Any malformed message refuses the whole frame.
 */
export function decodeBatchBody(body: Buffer, link: { readonly from: NodeId; readonly to: NodeId }): Decoded<Message[]> {
  const c = new Cursor(body, 1);
  const out: Message[] = [];
  try {
    while (c.left > 0) out.push(decodeOne(c, link.from, link.to, out.length));
  } catch (err: unknown) {
    if (err instanceof Malformed) return malformed(`Malformed batch frame: ${err.message}`);
    throw err;
  }
  return { ok: true, value: out };
}

/** decodeBatchFrame reads a whole BATCH frame, length prefix included (for tests and tools). */
export function decodeBatchFrame(frame: Buffer, link: { readonly from: NodeId; readonly to: NodeId }): Decoded<Message[]> {
  if (frame.length < 5 || frame.readUInt32LE(0) !== frame.length - 4 || frame[4] !== FrameKind.batch) return malformed('Not a batch frame');
  return decodeBatchBody(frame.subarray(4), link);
}

/**
 * readHello checks the opening bytes of a link: null while fewer than needed have arrived, an
 * error for another protocol or version, the hello otherwise.
 */
function readHello(head: Buffer): Decoded<Hello> | null {
  const n = Math.min(head.length, LINK_MAGIC.length);
  if (!head.subarray(0, n).equals(LINK_MAGIC.subarray(0, n))) return { ok: false, error: { kind: 'not-a-link', message: 'The connection does not open with a raft link hello' } };
  if (head.length < HELLO_PREFIX_BYTES) return null;
  const version = head.readUInt16LE(4);
  if (version !== FRAME_VERSION) {
    return { ok: false, error: { kind: 'version', message: `The peer speaks raft link frame version ${version}, this member version ${FRAME_VERSION}; run the same raftkube version on every member` } };
  }
  if (head.length < HELLO_BYTES) return null;
  const clusterId = head.readBigUInt64LE(6).toString();
  const c = new Cursor(head, 14);
  try {
    const from = c.u64('hello from');
    const to = c.u64('hello to');
    if (from === 0 || to === 0) return malformed('The hello names member 0');
    return { ok: true, value: { version, clusterId, from: nodeId(from), to: nodeId(to) } };
  } catch (err: unknown) {
    if (err instanceof Malformed) return malformed(`Malformed hello: ${err.message}`);
    throw err;
  }
}

/**
 * ByteQueue holds received chunks and hands out exact byte runs: a view when the run lies in
 * one chunk, a copy of only the bytes that arrived when it spans several.
 */
class ByteQueue {
  #chunks: Buffer[] = [];
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.#chunks.push(b);
    this.#length += b.length;
  }

  /** peek copies out (at most) the first n bytes without consuming them. */
  peek(n: number): Buffer {
    n = Math.min(n, this.#length);
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    let off = this.#head;
    for (const c of this.#chunks) {
      if (got === n) break;
      const k = Math.min(n - got, c.length - off);
      c.copy(out, got, off, off + k);
      got += k;
      off = 0;
    }
    return out;
  }

  /** take removes the first n bytes (n ≤ length) and returns them. */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      const avail = first.length - this.#head;
      if (avail > n) {
        this.#head += n;
        return out;
      }
      n -= avail;
      this.#chunks.shift();
      this.#head = 0;
    }
    return out;
  }

  /** clear drops everything queued. */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#length = 0;
  }
}

/** Frame is one frame as read: its kind and its whole body (kind byte at offset 0). */
export interface Frame {
  readonly kind: number;
  readonly body: Buffer;
}

/**
 * FrameReader splits a byte stream into frames. Feed it chunks with `push`, then call `next`
 * until it answers null (more bytes needed). A frame longer than `maxFrameBytes` or empty is
 * an error, after which the reader answers that error forever. With `hello`, the stream must
 * first open with a hello, which `next` hands out as its first item.
 */
export class FrameReader {
  readonly #max: number;
  readonly #q = new ByteQueue();
  #need: number | null = null;
  #awaitHello: boolean;
  #failed: LinkError | null = null;

  constructor(o: { readonly maxFrameBytes: number; readonly hello: boolean }) {
    this.#max = o.maxFrameBytes;
    this.#awaitHello = o.hello;
  }

  /** buffered is how many received bytes wait for the rest of their frame. */
  get buffered(): number {
    return this.#q.length;
  }

  push(chunk: Buffer): void {
    if (this.#failed === null) this.#q.push(chunk);
  }

  /** next is the next hello or frame, null when more bytes are needed, or the error that ended the stream. */
  next(): { readonly hello: Hello } | Frame | LinkError | null {
    if (this.#failed !== null) return this.#failed;
    if (this.#awaitHello) {
      const h = readHello(this.#q.peek(HELLO_BYTES));
      if (h === null) return null;
      if (!h.ok) return this.#fail(h.error);
      this.#q.take(HELLO_BYTES);
      this.#awaitHello = false;
      return { hello: h.value };
    }
    if (this.#need === null) {
      if (this.#q.length < 4) return null;
      const n = this.#q.take(4).readUInt32LE(0);
      if (n === 0) return this.#fail({ kind: 'malformed', message: 'An empty frame (length 0)' });
      if (n > this.#max) return this.#fail({ kind: 'too-large', message: `A frame of ${n} bytes is over the limit of ${this.#max}` });
      this.#need = n;
    }
    if (this.#q.length < this.#need) return null;
    const body = this.#q.take(this.#need);
    this.#need = null;
    return { kind: body[0]!, body };
  }

  #fail(e: LinkError): LinkError {
    this.#failed = e;
    this.#q.clear();
    return e;
  }
}

/** isLinkError tells a LinkError from what else FrameReader.next answers. */
export function isLinkError(v: ReturnType<FrameReader['next']>): v is LinkError {
  return v !== null && 'message' in v;
}
