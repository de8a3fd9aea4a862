/**
 * range-request-wire: etcdserverpb.RangeRequest read straight from its bytes, for the member's
 * Range handler (every get).
 *
 * Through proto-loader a get's request was decoded by protobufjs, turned into a plain object
 * (each int64 through a Long into a decimal string, the enums into their names) and narrowed by
 * requestDecoders.RangeRequest. Here the same value comes out of one pass: key and range_end as
 * views into the request's bytes, quantities as exact numbers (refused at 2^53 and beyond, as the
 * narrowing does), enums by name (an unknown value refused), absent fields as their zero values.
 * test/kv/range-request-wire.test.ts checks it against the old path over random requests and
 * every truncation of them.
 *
 * Field numbers are those of etcd's rpc.proto.
 */
import type { Decoded } from './decode.js';
import { SORT_ORDERS, SORT_TARGETS, type RangeRequest, type SortOrder, type SortTarget } from './etcd-types.js';
import { EMPTY, readMessage, type Cursor } from './wire-cursor.js';

const PATH = 'RangeRequest';

/** rangeRequestBody reads a message from the cursor up to `end` (the buffer's end, or a TxnRequest operation's). */
export function rangeRequestBody(c: Cursor, end = c.buf.length): RangeRequest {
  let key = EMPTY;
  let rangeEnd = EMPTY;
  let limit = 0;
  let revision = 0;
  let sortOrder: SortOrder = SORT_ORDERS[0];
  let sortTarget: SortTarget = SORT_TARGETS[0];
  let serializable = false;
  let keysOnly = false;
  let countOnly = false;
  let minMod = 0;
  let maxMod = 0;
  let minCreate = 0;
  let maxCreate = 0;
  while (c.pos < end) {
    const tag = c.tag(PATH);
    switch (tag >>> 3) {
      case 1:
        key = c.bytes(tag, PATH, 'key');
        break;
      case 2:
        rangeEnd = c.bytes(tag, PATH, 'range_end');
        break;
      case 3:
        limit = c.quantity(tag, PATH, 'limit');
        break;
      case 4:
        revision = c.quantity(tag, PATH, 'revision');
        break;
      case 5:
        sortOrder = c.enumName(tag, PATH, 'sort_order', SORT_ORDERS);
        break;
      case 6:
        sortTarget = c.enumName(tag, PATH, 'sort_target', SORT_TARGETS);
        break;
      case 7:
        serializable = c.bool(tag, PATH, 'serializable');
        break;
      case 8:
        keysOnly = c.bool(tag, PATH, 'keys_only');
        break;
      case 9:
        countOnly = c.bool(tag, PATH, 'count_only');
        break;
      case 10:
        minMod = c.quantity(tag, PATH, 'min_mod_revision');
        break;
      case 11:
        maxMod = c.quantity(tag, PATH, 'max_mod_revision');
        break;
      case 12:
        minCreate = c.quantity(tag, PATH, 'min_create_revision');
        break;
      case 13:
        maxCreate = c.quantity(tag, PATH, 'max_create_revision');
        break;
      default:
        c.skip(tag & 7, PATH);
    }
  }
  return {
    key,
    range_end: rangeEnd,
    limit,
    revision,
    sort_order: sortOrder,
    sort_target: sortTarget,
    serializable,
    keys_only: keysOnly,
    count_only: countOnly,
    min_mod_revision: minMod,
    max_mod_revision: maxMod,
    min_create_revision: minCreate,
    max_create_revision: maxCreate,
  };
}

/**
 * decodeRangeRequest reads one RangeRequest message. Key and range_end are views into `bytes`.
 * Never throws for bad input: a malformed message comes back as `{ ok: false }` naming the field.
 */
export function decodeRangeRequest(bytes: Buffer): Decoded<RangeRequest> {
  return readMessage(bytes, rangeRequestBody);
}
