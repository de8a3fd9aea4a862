/**
 * put-request-wire: etcdserverpb.PutRequest read straight from its bytes, for the Put handler
 * (the client's request, which then enters the log as it came) and for applying a put from the
 * Raft log on every member.
 *
 * A put's log entry carries the request as protobuf; through proto-loader each member decoded it
 * with protobufjs, turned it into a plain object (the lease through a Long into a decimal string)
 * and narrowed it with requestDecoders.PutRequest: about 5 KB of garbage per put over three
 * members. Here the same value comes out of one pass: key and value as views into the entry's
 * bytes (as protobufjs's were), the lease as its signed decimal string, absent fields as their
 * zero values. test/kv/put-request-wire.test.ts checks it against the old path over random
 * requests and every truncation of them.
 *
 * Field numbers are those of etcd's rpc.proto.
 */
import type { Decoded } from './decode.js';
import type { PutRequest } from './etcd-types.js';
import { EMPTY, readMessage, type Cursor } from './wire-cursor.js';

const PATH = 'PutRequest';

/** putRequestBody reads a message from the cursor up to `end` (the buffer's end, or a TxnRequest operation's). */
export function putRequestBody(c: Cursor, end = c.buf.length): PutRequest {
  let key = EMPTY;
  let value = EMPTY;
  let lease = '0';
  let prevKv = false;
  let ignoreValue = false;
  let ignoreLease = false;
  while (c.pos < end) {
    const tag = c.tag(PATH);
    switch (tag >>> 3) {
      case 1:
        key = c.bytes(tag, PATH, 'key');
        break;
      case 2:
        value = c.bytes(tag, PATH, 'value');
        break;
      case 3:
        lease = c.id(tag, PATH, 'lease', false);
        break;
      case 4:
        prevKv = c.bool(tag, PATH, 'prev_kv');
        break;
      case 5:
        ignoreValue = c.bool(tag, PATH, 'ignore_value');
        break;
      case 6:
        ignoreLease = c.bool(tag, PATH, 'ignore_lease');
        break;
      default:
        c.skip(tag & 7, PATH);
    }
  }
  return { key, value, lease, prev_kv: prevKv, ignore_value: ignoreValue, ignore_lease: ignoreLease };
}

/**
 * decodePutRequest reads one PutRequest message. Key and value are views into `bytes`. Never
 * throws for bad input: a malformed message comes back as `{ ok: false }` naming the field.
 */
export function decodePutRequest(bytes: Buffer): Decoded<PutRequest> {
  return readMessage(bytes, putRequestBody);
}
