/**
 * etcd-decoders: narrowing decoders from what grpc-js hands over (`unknown`, produced by
 * proto-loader under LOADER_OPTIONS) to the shapes of etcd-types.ts. Servers decode requests;
 * our own etcd clients (apiserver, bench, tests) decode responses.
 */
import {
  bool,
  bytes,
  decodeWith,
  enumOf,
  fail,
  id,
  int,
  message,
  optional,
  record,
  repeated,
  str,
  uint,
  type Decoded,
  type FieldDecoder,
} from './decode.js';
import {
  ALARM_ACTIONS,
  ALARM_TYPES,
  COMPARE_RESULTS,
  COMPARE_TARGETS,
  EVENT_TYPES,
  FILTER_TYPES,
  SORT_ORDERS,
  SORT_TARGETS,
  type AlarmMember,
  type AlarmRequest,
  type AlarmResponse,
  type CompactionRequest,
  type Compare,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type EmptyRequest,
  type Event,
  type HashKVRequest,
  type HashKVResponse,
  type HashResponse,
  type HeaderOnlyResponse,
  type KeyValue,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeRequest,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type Member,
  type MemberAddRequest,
  type MemberAddResponse,
  type MemberListRequest,
  type MemberPromoteRequest,
  type MemberRemoveRequest,
  type MembersResponse,
  type MemberUpdateRequest,
  type MoveLeaderRequest,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type SnapshotResponse,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
  type WatchCancelRequest,
  type WatchCreateRequest,
  type WatchRequest,
  type WatchResponse,
} from './etcd-types.js';

/**
 * oneofCase names the member of a oneof that is set: proto-loader's virtual property when
 * present (LOADER_OPTIONS.oneofs), otherwise the first member that is not null.
 */
function oneofCase<const M extends string>(r: Readonly<Record<string, unknown>>, virtual: string, members: readonly M[]): M | undefined {
  const named = r[virtual];
  const byName = members.find((m) => m === named);
  if (byName !== undefined) return byName;
  return members.find((m) => r[m] !== undefined && r[m] !== null);
}

const empty: FieldDecoder<EmptyRequest> = (value, path) => {
  record(value, path);
  return {};
};

const responseHeader = message<ResponseHeader>({ cluster_id: id, member_id: id, revision: int, raft_term: uint });

const keyValue = message<KeyValue>({
  key: bytes,
  create_revision: int,
  mod_revision: int,
  version: int,
  value: bytes,
  lease: id,
});

const event = message<Event>({ type: enumOf(EVENT_TYPES), kv: optional(keyValue), prev_kv: optional(keyValue) });

const rangeRequest = message<RangeRequest>({
  key: bytes,
  range_end: bytes,
  limit: int,
  revision: int,
  sort_order: enumOf(SORT_ORDERS),
  sort_target: enumOf(SORT_TARGETS),
  serializable: bool,
  keys_only: bool,
  count_only: bool,
  min_mod_revision: int,
  max_mod_revision: int,
  min_create_revision: int,
  max_create_revision: int,
});

const rangeResponse = message<RangeResponse>({ header: responseHeader, kvs: repeated(keyValue), more: bool, count: int });

const putRequest = message<PutRequest>({
  key: bytes,
  value: bytes,
  lease: id,
  prev_kv: bool,
  ignore_value: bool,
  ignore_lease: bool,
});

const putResponse = message<PutResponse>({ header: responseHeader, prev_kv: optional(keyValue) });

const deleteRangeRequest = message<DeleteRangeRequest>({ key: bytes, range_end: bytes, prev_kv: bool });

const deleteRangeResponse = message<DeleteRangeResponse>({ header: responseHeader, deleted: int, prev_kvs: repeated(keyValue) });

const REQUEST_OPS = ['request_range', 'request_put', 'request_delete_range', 'request_txn'] as const;

const requestOp: FieldDecoder<RequestOp> = (value, path) => {
  const r = record(value, path);
  const which = oneofCase(r, 'request', REQUEST_OPS);
  const at = `${path}.${which ?? 'request'}`;
  switch (which) {
    case 'request_range':
      return { request: which, request_range: rangeRequest(r[which], at) };
    case 'request_put':
      return { request: which, request_put: putRequest(r[which], at) };
    case 'request_delete_range':
      return { request: which, request_delete_range: deleteRangeRequest(r[which], at) };
    case 'request_txn':
      return { request: which, request_txn: txnRequest(r[which], at) };
    case undefined:
      return fail(at, `one of ${REQUEST_OPS.join(', ')} set`, undefined);
  }
};

const RESPONSE_OPS = ['response_range', 'response_put', 'response_delete_range', 'response_txn'] as const;

const responseOp: FieldDecoder<ResponseOp> = (value, path) => {
  const r = record(value, path);
  const which = oneofCase(r, 'response', RESPONSE_OPS);
  const at = `${path}.${which ?? 'response'}`;
  switch (which) {
    case 'response_range':
      return { response: which, response_range: rangeResponse(r[which], at) };
    case 'response_put':
      return { response: which, response_put: putResponse(r[which], at) };
    case 'response_delete_range':
      return { response: which, response_delete_range: deleteRangeResponse(r[which], at) };
    case 'response_txn':
      return { response: which, response_txn: txnResponse(r[which], at) };
    case undefined:
      return fail(at, `one of ${RESPONSE_OPS.join(', ')} set`, undefined);
  }
};

/**
 * compare decodes a Compare and ties its operand to its target. NB: etcd reads only the oneof
 * member that matches `target` and takes the zero value when that member is unset or another
 * one is set; normalising here gives every consumer that same meaning.
 */
const compare: FieldDecoder<Compare> = (value, path) => {
  const r = record(value, path);
  const common = {
    result: enumOf(COMPARE_RESULTS)(r['result'], `${path}.result`),
    key: bytes(r['key'], `${path}.key`),
    range_end: bytes(r['range_end'], `${path}.range_end`),
  };
  const target = enumOf(COMPARE_TARGETS)(r['target'], `${path}.target`);
  const set = oneofCase(r, 'target_union', ['version', 'create_revision', 'mod_revision', 'value', 'lease'] as const);
  const operand = (member: string): unknown => (set === member ? r[member] : undefined);
  switch (target) {
    case 'VERSION':
      return { ...common, target, target_union: 'version', version: int(operand('version'), `${path}.version`) };
    case 'CREATE':
      return { ...common, target, target_union: 'create_revision', create_revision: int(operand('create_revision'), `${path}.create_revision`) };
    case 'MOD':
      return { ...common, target, target_union: 'mod_revision', mod_revision: int(operand('mod_revision'), `${path}.mod_revision`) };
    case 'VALUE':
      return { ...common, target, target_union: 'value', value: bytes(operand('value'), `${path}.value`) };
    case 'LEASE':
      return { ...common, target, target_union: 'lease', lease: id(operand('lease'), `${path}.lease`) };
  }
};

// Function declarations (hoisted): RequestOp and TxnRequest refer to each other.
function txnRequest(value: unknown, path: string): TxnRequest {
  return txnRequestFields(value, path);
}
const txnRequestFields = message<TxnRequest>({
  compare: repeated(compare),
  success: repeated(requestOp),
  failure: repeated(requestOp),
});

function txnResponse(value: unknown, path: string): TxnResponse {
  return txnResponseFields(value, path);
}
const txnResponseFields = message<TxnResponse>({ header: responseHeader, succeeded: bool, responses: repeated(responseOp) });

const compactionRequest = message<CompactionRequest>({ revision: int, physical: bool });

const headerOnly = message<HeaderOnlyResponse>({ header: responseHeader });

const watchCreateRequest = message<WatchCreateRequest>({
  key: bytes,
  range_end: bytes,
  start_revision: int,
  progress_notify: bool,
  filters: repeated(enumOf(FILTER_TYPES)),
  prev_kv: bool,
  watch_id: int,
  fragment: bool,
});

const watchCancelRequest = message<WatchCancelRequest>({ watch_id: int });

const WATCH_REQUESTS = ['create_request', 'cancel_request', 'progress_request'] as const;

/**
 * watchRequest decodes one message of a watch stream. A message with no member set is refused;
 * etcd ignores such a message, and a server may do the same with the refusal.
 */
const watchRequest: FieldDecoder<WatchRequest> = (value, path) => {
  const r = record(value, path);
  const which = oneofCase(r, 'request_union', WATCH_REQUESTS);
  const at = `${path}.${which ?? 'request_union'}`;
  switch (which) {
    case 'create_request':
      return { request_union: which, create_request: watchCreateRequest(r[which], at) };
    case 'cancel_request':
      return { request_union: which, cancel_request: watchCancelRequest(r[which], at) };
    case 'progress_request':
      return { request_union: which, progress_request: empty(r[which], at) };
    case undefined:
      return fail(at, `one of ${WATCH_REQUESTS.join(', ')} set`, undefined);
  }
};

const watchResponse = message<WatchResponse>({
  header: responseHeader,
  watch_id: int,
  created: bool,
  canceled: bool,
  compact_revision: int,
  cancel_reason: str,
  fragment: bool,
  events: repeated(event),
});

const member = message<Member>({
  ID: id,
  name: str,
  peerURLs: repeated(str),
  clientURLs: repeated(str),
  isLearner: bool,
});

const membersResponse = message<MembersResponse>({ header: responseHeader, members: repeated(member) });

const alarmType = enumOf(ALARM_TYPES);

const statusResponse = message<StatusResponse>({
  header: responseHeader,
  version: str,
  dbSize: int,
  leader: id,
  raftIndex: uint,
  raftTerm: uint,
  raftAppliedIndex: uint,
  errors: repeated(str),
  dbSizeInUse: int,
  isLearner: bool,
});

function top<T>(decoder: FieldDecoder<T>, name: string): (value: unknown) => Decoded<T> {
  return (value) => decodeWith(decoder, value, name);
}

/**
 * requestDecoders narrow each request a raftkube kv member serves, keyed by message name:
 * `requestDecoders.RangeRequest(call.request)`.
 */
export const requestDecoders = {
  RangeRequest: top(rangeRequest, 'RangeRequest'),
  PutRequest: top(putRequest, 'PutRequest'),
  DeleteRangeRequest: top(deleteRangeRequest, 'DeleteRangeRequest'),
  TxnRequest: top(txnRequest, 'TxnRequest'),
  CompactionRequest: top(compactionRequest, 'CompactionRequest'),
  WatchRequest: top(watchRequest, 'WatchRequest'),
  LeaseGrantRequest: top(message<LeaseGrantRequest>({ TTL: int, ID: id }), 'LeaseGrantRequest'),
  LeaseRevokeRequest: top(message<LeaseRevokeRequest>({ ID: id }), 'LeaseRevokeRequest'),
  LeaseKeepAliveRequest: top(message<LeaseKeepAliveRequest>({ ID: id }), 'LeaseKeepAliveRequest'),
  LeaseTimeToLiveRequest: top(message<LeaseTimeToLiveRequest>({ ID: id, keys: bool }), 'LeaseTimeToLiveRequest'),
  LeaseLeasesRequest: top(empty, 'LeaseLeasesRequest'),
  MemberAddRequest: top(message<MemberAddRequest>({ peerURLs: repeated(str), isLearner: bool }), 'MemberAddRequest'),
  MemberRemoveRequest: top(message<MemberRemoveRequest>({ ID: id }), 'MemberRemoveRequest'),
  MemberUpdateRequest: top(message<MemberUpdateRequest>({ ID: id, peerURLs: repeated(str) }), 'MemberUpdateRequest'),
  MemberListRequest: top(message<MemberListRequest>({ linearizable: bool }), 'MemberListRequest'),
  MemberPromoteRequest: top(message<MemberPromoteRequest>({ ID: id }), 'MemberPromoteRequest'),
  AlarmRequest: top(message<AlarmRequest>({ action: enumOf(ALARM_ACTIONS), memberID: id, alarm: alarmType }), 'AlarmRequest'),
  StatusRequest: top(empty, 'StatusRequest'),
  DefragmentRequest: top(empty, 'DefragmentRequest'),
  HashRequest: top(empty, 'HashRequest'),
  HashKVRequest: top(message<HashKVRequest>({ revision: int }), 'HashKVRequest'),
  SnapshotRequest: top(empty, 'SnapshotRequest'),
  MoveLeaderRequest: top(message<MoveLeaderRequest>({ targetID: id }), 'MoveLeaderRequest'),
} as const;

/**
 * responseDecoders narrow the responses of an etcd v3 server (raftkube's or a real etcd's),
 * keyed by message name; the member-list responses share one shape (MembersResponse).
 */
export const responseDecoders = {
  ResponseHeader: top(responseHeader, 'ResponseHeader'),
  KeyValue: top(keyValue, 'KeyValue'),
  RangeResponse: top(rangeResponse, 'RangeResponse'),
  PutResponse: top(putResponse, 'PutResponse'),
  DeleteRangeResponse: top(deleteRangeResponse, 'DeleteRangeResponse'),
  TxnResponse: top(txnResponse, 'TxnResponse'),
  CompactionResponse: top(headerOnly, 'CompactionResponse'),
  WatchResponse: top(watchResponse, 'WatchResponse'),
  LeaseGrantResponse: top(message<LeaseGrantResponse>({ header: responseHeader, ID: id, TTL: int, error: str }), 'LeaseGrantResponse'),
  LeaseRevokeResponse: top(headerOnly, 'LeaseRevokeResponse'),
  LeaseKeepAliveResponse: top(message<LeaseKeepAliveResponse>({ header: responseHeader, ID: id, TTL: int }), 'LeaseKeepAliveResponse'),
  LeaseTimeToLiveResponse: top(
    message<LeaseTimeToLiveResponse>({ header: responseHeader, ID: id, TTL: int, grantedTTL: int, keys: repeated(bytes) }),
    'LeaseTimeToLiveResponse',
  ),
  LeaseLeasesResponse: top(message<LeaseLeasesResponse>({ header: responseHeader, leases: repeated(message({ ID: id })) }), 'LeaseLeasesResponse'),
  MemberAddResponse: top(
    message<MemberAddResponse>({ header: responseHeader, member: optional(member), members: repeated(member) }),
    'MemberAddResponse',
  ),
  MembersResponse: top(membersResponse, 'MembersResponse'),
  AlarmResponse: top(
    message<AlarmResponse>({ header: responseHeader, alarms: repeated(message<AlarmMember>({ memberID: id, alarm: alarmType })) }),
    'AlarmResponse',
  ),
  StatusResponse: top(statusResponse, 'StatusResponse'),
  HashResponse: top(message<HashResponse>({ header: responseHeader, hash: uint }), 'HashResponse'),
  HashKVResponse: top(message<HashKVResponse>({ header: responseHeader, hash: uint, compact_revision: int }), 'HashKVResponse'),
  SnapshotResponse: top(message<SnapshotResponse>({ header: responseHeader, remaining_bytes: uint, blob: bytes }), 'SnapshotResponse'),
  HeaderOnlyResponse: top(headerOnly, 'HeaderOnlyResponse'),
} as const;
