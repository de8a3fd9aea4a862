/**
 * watch-response-wire: etcdserverpb.WatchResponse read straight from its bytes, for watch
 * clients (WatchStream: the apiserver's watch cache, the chaos suite, the benchmarks).
 *
 * Through proto-loader a response is decoded by protobufjs, turned into a plain object by
 * `toObject` (every 64-bit field through a Long into a decimal string, every bytes field copied)
 * and then narrowed by responseDecoders.WatchResponse: about three quarters of a watch client's
 * CPU when events arrive one or two per response. Here the same value comes out of one pass over
 * the bytes: quantities as exact numbers, IDs as decimal strings, key and value as views into the
 * message's own buffer (grpc-js gives each message a buffer of its own).
 *
 * The result is what responseDecoders.WatchResponse makes of protobufjs's output for the same
 * bytes (test/kv/watch-response-wire.test.ts checks that over random responses and every
 * truncation of them), with the same refusals: a quantity of 2^53 or more, an event type this
 * API version does not know. Beyond that it refuses a known field sent with the wrong wire type
 * and the proto2 group wire types, which protobufjs would misread or skip; etcd sends neither.
 *
 * Field numbers are those of etcd's rpc.proto and kv.proto.
 */
import type { Decoded } from './decode.js';
import { EVENT_TYPES, type Event, type EventType, type KeyValue, type ResponseHeader, type WatchResponse } from './etcd-types.js';
import { EMPTY, expect, malformed, readMessage, within, WIRE_VARINT, type Cursor } from './wire-cursor.js';

const HEADER = 'WatchResponse.header';

function header(c: Cursor, end: number): ResponseHeader {
  let cluster = '0';
  let member = '0';
  let revision = 0;
  let term = 0;
  while (c.pos < end) {
    const tag = c.tag(HEADER);
    switch (tag >>> 3) {
      case 1:
        cluster = c.id(tag, HEADER, 'cluster_id', true);
        break;
      case 2:
        member = c.id(tag, HEADER, 'member_id', true);
        break;
      case 3:
        revision = c.quantity(tag, HEADER, 'revision');
        break;
      case 4:
        term = c.quantity(tag, HEADER, 'raft_term', true);
        break;
      default:
        c.skip(tag & 7, HEADER);
    }
  }
  return { cluster_id: cluster, member_id: member, revision, raft_term: term };
}

/** keyValue reads an mvccpb.KeyValue; `path.field` names it (an event's kv or prev_kv). */
function keyValue(c: Cursor, end: number, eventPath: string, field: string): KeyValue {
  const path = `${eventPath}.${field}`;
  let key = EMPTY;
  let create = 0;
  let mod = 0;
  let version = 0;
  let value = EMPTY;
  let lease = '0';
  while (c.pos < end) {
    const tag = c.tag(path);
    switch (tag >>> 3) {
      case 1:
        key = c.bytes(tag, path, 'key');
        break;
      case 2:
        create = c.quantity(tag, path, 'create_revision');
        break;
      case 3:
        mod = c.quantity(tag, path, 'mod_revision');
        break;
      case 4:
        version = c.quantity(tag, path, 'version');
        break;
      case 5:
        value = c.bytes(tag, path, 'value');
        break;
      case 6:
        lease = c.id(tag, path, 'lease', false);
        break;
      default:
        c.skip(tag & 7, path);
    }
  }
  return { key, create_revision: create, mod_revision: mod, version, value, lease };
}

/** event reads an mvccpb.Event; `events` + `index` name it (WatchResponse.events, [i]). */
function event(c: Cursor, end: number, events: string, index: string): Event {
  const path = `${events}${index}`;
  let type: EventType = 'PUT';
  let kv: KeyValue | undefined;
  let prev: KeyValue | undefined;
  while (c.pos < end) {
    const tag = c.tag(path);
    switch (tag >>> 3) {
      case 1: {
        expect(tag, WIRE_VARINT, path, 'type');
        const n = c.varint(path, 'type');
        const name = EVENT_TYPES[n];
        if (name === undefined) malformed(path, 'type', `expected one of ${EVENT_TYPES.join(', ')}, got ${n < 0 ? 'a value out of range' : n}`);
        type = name;
        break;
      }
      case 2:
        kv = within(c, tag, path, 'kv', keyValue);
        break;
      case 3:
        prev = within(c, tag, path, 'prev_kv', keyValue);
        break;
      default:
        c.skip(tag & 7, path);
    }
  }
  // NB: absent message fields are left out, not set to undefined (as decode.ts's message()).
  if (prev === undefined) return kv === undefined ? { type } : { type, kv };
  return kv === undefined ? { type, prev_kv: prev } : { type, kv, prev_kv: prev };
}

const RESPONSE = 'WatchResponse';

function watchResponse(c: Cursor): WatchResponse {
  const buf = c.buf;
  let hdr: ResponseHeader | null = null;
  let watchId = 0;
  let created = false;
  let canceled = false;
  let compact = 0;
  let reason = '';
  let fragment = false;
  const events: Event[] = [];
  while (c.pos < buf.length) {
    const tag = c.tag(RESPONSE);
    switch (tag >>> 3) {
      case 1:
        hdr = within(c, tag, RESPONSE, 'header', header);
        break;
      case 2:
        watchId = c.quantity(tag, RESPONSE, 'watch_id');
        break;
      case 3:
        created = c.bool(tag, RESPONSE, 'created');
        break;
      case 4:
        canceled = c.bool(tag, RESPONSE, 'canceled');
        break;
      case 5:
        compact = c.quantity(tag, RESPONSE, 'compact_revision');
        break;
      case 6:
        reason = c.string(tag, RESPONSE, 'cancel_reason');
        break;
      case 7:
        fragment = c.bool(tag, RESPONSE, 'fragment');
        break;
      case 11:
        events.push(within(c, tag, 'WatchResponse.events', `[${events.length}]`, event));
        break;
      default:
        c.skip(tag & 7, RESPONSE);
    }
  }
  return {
    header: hdr ?? { cluster_id: '0', member_id: '0', revision: 0, raft_term: 0 },
    watch_id: watchId,
    created,
    canceled,
    compact_revision: compact,
    cancel_reason: reason,
    fragment,
    events,
  };
}

/**
 * decodeWatchResponse reads one WatchResponse message (without gRPC's 5-byte prefix). Keys and
 * values are views into `bytes`, which must not be reused afterwards; a consumer that keeps a
 * value for long keeps its whole message alive (the apiserver's watch source decodes each value
 * into an object at once). Never throws for bad input: a malformed message comes back as
 * `{ ok: false }` naming the field.
 */
export function decodeWatchResponse(bytes: Buffer): Decoded<WatchResponse> {
  return readMessage(bytes, watchResponse);
}
