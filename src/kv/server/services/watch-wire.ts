/**
 * watch-wire: etcdserverpb.WatchResponse written by hand, for the watch fan-out.
 *
 * One applied change reaches every watcher of its key, each in a response of its own (a
 * WatchResponse carries one watch_id). protobufjs would turn the same event into bytes once per
 * watcher, through `fromObject` and its writer; here an event is encoded once (the hub hands every
 * watcher the same event object) and a response is its header, its few scalars and the events'
 * cached bytes copied into one buffer. The response header is the same for every response of a
 * revision and is cached too.
 *
 * Field numbers are those of etcd's rpc.proto; a KeyValue is written by the store's own codec
 * (src/kv/mvcc/codec.ts, the bytes etcd stores). As etcd's Go encoder does, fields holding their
 * zero value are left out; any protobuf decoder reads the absent field as that zero.
 * test/kv/watch-wire.test.ts checks every shape against protobufjs's decoder.
 */
import type { Id64 } from '../../proto/index.js';
import { varintSize, writeKeyValue, writeVarint, type KeyValue } from '../../mvcc/index.js';
import { GRPC_FRAME_BYTES, HeaderWire, checkQuantity as checkQuantityOf, keyValueSizeIn, scalarSize, writeFrame, writeScalar } from './header-wire.js';
import type { WatchEvent } from '../../watch/index.js';

/** WireResponse is one WatchResponse to encode; `events` are the hub's event objects. */
export interface WireResponse {
  readonly revision: number;
  readonly watchId: number;
  readonly created?: boolean;
  readonly canceled?: boolean;
  readonly compactRevision?: number;
  readonly cancelReason?: string;
  readonly fragment?: boolean;
  readonly events?: readonly WatchEvent[];
}

// Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
const TAG_WATCH_ID = 0x10; // watch_id = 2
const TAG_CREATED = 0x18; // created = 3
const TAG_CANCELED = 0x20; // canceled = 4
const TAG_COMPACT_REVISION = 0x28; // compact_revision = 5
const TAG_CANCEL_REASON = 0x32; // cancel_reason = 6
const TAG_FRAGMENT = 0x38; // fragment = 7
const TAG_EVENTS = 0x5a; // events = 11
const TAG_EVENT_TYPE = 0x08; // Event.type = 1
const TAG_EVENT_KV = 0x12; // Event.kv = 2
const TAG_EVENT_PREV_KV = 0x1a; // Event.prev_kv = 3
const EVENT_TYPE_DELETE = 1;

function checkQuantity(what: string, n: number): number {
  return checkQuantityOf('WatchResponse', what, n);
}

function kvSize(kv: KeyValue): number {
  return keyValueSizeIn('WatchResponse', kv);
}

// NB: keyed by the hub's event object, which every watcher of a change shares; the bytes go
// when the event does.
const encodedEvents = new WeakMap<WatchEvent, Uint8Array>();
// NB: the event asked for last, answered without the map: a change's responses are sized and
// written one after another, each asking for the same event twice.
let lastEvent: WatchEvent | null = null;
let lastBytes: Uint8Array = new Uint8Array(0);

/** encodeEvent is an mvccpb.Event's bytes, encoded once per event object. */
export function encodeEvent(e: WatchEvent): Uint8Array {
  if (e === lastEvent) return lastBytes;
  let out = encodedEvents.get(e);
  if (out !== undefined) {
    lastEvent = e;
    lastBytes = out;
    return out;
  }
  const kvLen = kvSize(e.kv);
  const prevLen = e.prev_kv === undefined ? -1 : kvSize(e.prev_kv);
  const size = (e.type === 'DELETE' ? 2 : 0) + 1 + varintSize(kvLen) + kvLen + (prevLen < 0 ? 0 : 1 + varintSize(prevLen) + prevLen);
  out = new Uint8Array(size);
  let pos = 0;
  if (e.type === 'DELETE') {
    out[pos++] = TAG_EVENT_TYPE;
    out[pos++] = EVENT_TYPE_DELETE;
  }
  // NB: kv is always written, even when empty: etcd's events always carry one.
  out[pos++] = TAG_EVENT_KV;
  pos = writeVarint(out, pos, kvLen);
  pos = writeKeyValue(out, pos, e.kv);
  if (e.prev_kv !== undefined) {
    out[pos++] = TAG_EVENT_PREV_KV;
    pos = writeVarint(out, pos, prevLen);
    writeKeyValue(out, pos, e.prev_kv);
  }
  encodedEvents.set(e, out);
  lastEvent = e;
  lastBytes = out;
  return out;
}

/** WatchWire encodes the WatchResponses of one member (its cluster and member IDs fixed). */
export class WatchWire {
  readonly #header: HeaderWire;

  /** constructor takes the IDs every header names and where the current Raft term is read. */
  constructor(clusterId: Id64, memberId: Id64, term: () => number) {
    this.#header = new HeaderWire(clusterId, memberId, term);
  }

  /**
   * encode writes one response; with `framed`, behind a gRPC message prefix (uncompressed), as
   * it travels in an HTTP/2 DATA frame.
   */
  encode(r: WireResponse, framed: boolean): Buffer {
    const header = this.header(r.revision);
    const out = Buffer.allocUnsafe(this.size(r, header, framed));
    const end = this.write(out, 0, r, header, framed);
    if (end !== out.length) throw new Error(`WatchResponse encoded to ${end} bytes, sized ${out.length}; this is a bug`);
    return out;
  }

  /** header is the header field of the responses at `revision`, in the current term. */
  header(revision: number): Uint8Array {
    return this.#header.field(revision);
  }

  /**
   * size is how many bytes `write` takes for a response with `header` (its gRPC prefix included
   * when `framed`). It checks what the response holds and encodes its events (each once, see
   * encodeEvent): a response it sized is one `write` can write, so several responses sized one
   * by one can be written into one buffer later.
   */
  size(r: WireResponse, header: Uint8Array, framed: boolean): number {
    let size = (framed ? GRPC_FRAME_BYTES : 0) + header.length + scalarSize(checkQuantity('watch_id', r.watchId));
    size += (r.created === true ? 2 : 0) + (r.canceled === true ? 2 : 0) + (r.fragment === true ? 2 : 0);
    size += scalarSize(checkQuantity('compact_revision', r.compactRevision ?? 0));
    if (r.cancelReason !== undefined && r.cancelReason !== '') {
      const len = Buffer.byteLength(r.cancelReason, 'utf8');
      size += 1 + varintSize(len) + len;
    }
    const events = r.events;
    if (events !== undefined) {
      for (let i = 0; i < events.length; i++) {
        const len = encodeEvent(events[i] as WatchEvent).length;
        size += 1 + varintSize(len) + len;
      }
    }
    return size;
  }

  /** write writes at `pos` of `out` a response `size` accepted with the same header; returns the position after it. */
  write(out: Buffer, pos: number, r: WireResponse, header: Uint8Array, framed: boolean): number {
    const start = pos;
    if (framed) pos += GRPC_FRAME_BYTES;
    out.set(header, pos);
    pos += header.length;
    pos = writeScalar(out, pos, TAG_WATCH_ID, r.watchId);
    if (r.created === true) pos = writeScalar(out, pos, TAG_CREATED, 1);
    if (r.canceled === true) pos = writeScalar(out, pos, TAG_CANCELED, 1);
    pos = writeScalar(out, pos, TAG_COMPACT_REVISION, r.compactRevision ?? 0);
    if (r.cancelReason !== undefined && r.cancelReason !== '') {
      out[pos++] = TAG_CANCEL_REASON;
      pos = writeVarint(out, pos, Buffer.byteLength(r.cancelReason, 'utf8'));
      pos += out.write(r.cancelReason, pos, 'utf8');
    }
    if (r.fragment === true) pos = writeScalar(out, pos, TAG_FRAGMENT, 1);
    const events = r.events;
    if (events !== undefined) {
      for (let i = 0; i < events.length; i++) {
        const b = encodeEvent(events[i] as WatchEvent);
        out[pos++] = TAG_EVENTS;
        pos = writeVarint(out, pos, b.length);
        out.set(b, pos);
        pos += b.length;
      }
    }
    if (framed) writeFrame(out, pos - start - GRPC_FRAME_BYTES, start);
    return pos;
  }
}
