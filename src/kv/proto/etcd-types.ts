/**
 * etcd-types: hand-written TypeScript shapes of the etcd v3 messages raftkube serves, named and
 * spelled exactly as in proto/etcdserverpb/rpc.proto (proto-loader runs with keepCase).
 *
 * One shape serves both directions: a decoder (etcd-decoders.ts) produces it from what grpc-js
 * hands a handler, and a handler returns it for grpc-js to encode. Conventions:
 * - quantities (revisions, counts, limits, TTLs, terms, indexes, sizes) are `number`; decoders
 *   refuse values of 2^53 or more instead of rounding them;
 * - identifiers (lease, member and cluster IDs) are decimal `string`s (type Id64), since etcd
 *   draws them from the whole 64-bit range;
 * - bytes are `Uint8Array` (decoded ones are Node Buffers), enums are their proto names;
 * - a message-typed field that may be absent is an optional property; a oneof is a union
 *   discriminated by proto-loader's virtual oneof property (`request`, `request_union`, ...).
 */

/** Id64 is a 64-bit identifier in canonical decimal, exact over the whole int64/uint64 range. */
export type Id64 = string;

/** ResponseHeader (etcdserverpb.ResponseHeader) heads every response. */
export interface ResponseHeader {
  readonly cluster_id: Id64;
  readonly member_id: Id64;
  readonly revision: number;
  readonly raft_term: number;
}

/** KeyValue (mvccpb.KeyValue) is one key with its MVCC metadata. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly create_revision: number;
  readonly mod_revision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: Id64;
}

/** EVENT_TYPES are the names of mvccpb.Event.EventType in numeric order. */
export const EVENT_TYPES = ['PUT', 'DELETE'] as const;
/** EventType says whether an event is a put or a delete. */
export type EventType = (typeof EVENT_TYPES)[number];

/** Event (mvccpb.Event) is one change a watcher sees. */
export interface Event {
  readonly type: EventType;
  readonly kv?: KeyValue;
  readonly prev_kv?: KeyValue;
}

// ---- KV ----

/** SORT_ORDERS are the names of RangeRequest.SortOrder in numeric order. */
export const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'] as const;
/** SortOrder is the order of a range's results. */
export type SortOrder = (typeof SORT_ORDERS)[number];
/** SORT_TARGETS are the names of RangeRequest.SortTarget in numeric order. */
export const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const;
/** SortTarget is the field a range is sorted by. */
export type SortTarget = (typeof SORT_TARGETS)[number];

/** RangeRequest (etcdserverpb.RangeRequest) reads a key or a range [key, range_end). */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly range_end: Uint8Array;
  readonly limit: number;
  readonly revision: number;
  readonly sort_order: SortOrder;
  readonly sort_target: SortTarget;
  readonly serializable: boolean;
  readonly keys_only: boolean;
  readonly count_only: boolean;
  readonly min_mod_revision: number;
  readonly max_mod_revision: number;
  readonly min_create_revision: number;
  readonly max_create_revision: number;
}

/** RangeResponse (etcdserverpb.RangeResponse) returns the keys found and the total count. */
export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

/** PutRequest (etcdserverpb.PutRequest) writes one key. */
export interface PutRequest {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly lease: Id64;
  readonly prev_kv: boolean;
  readonly ignore_value: boolean;
  readonly ignore_lease: boolean;
}

/** PutResponse (etcdserverpb.PutResponse) answers a put, with the previous pair if asked for. */
export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prev_kv?: KeyValue;
}

/** DeleteRangeRequest (etcdserverpb.DeleteRangeRequest) deletes a key or a range. */
export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly range_end: Uint8Array;
  readonly prev_kv: boolean;
}

/** DeleteRangeResponse (etcdserverpb.DeleteRangeResponse) counts the deleted keys. */
export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prev_kvs: readonly KeyValue[];
}

/** RequestOp (etcdserverpb.RequestOp) is one operation of a transaction (oneof `request`). */
export type RequestOp =
  | { readonly request: 'request_range'; readonly request_range: RangeRequest }
  | { readonly request: 'request_put'; readonly request_put: PutRequest }
  | { readonly request: 'request_delete_range'; readonly request_delete_range: DeleteRangeRequest }
  | { readonly request: 'request_txn'; readonly request_txn: TxnRequest };

/** ResponseOp (etcdserverpb.ResponseOp) is the result of one transaction operation (oneof `response`). */
export type ResponseOp =
  | { readonly response: 'response_range'; readonly response_range: RangeResponse }
  | { readonly response: 'response_put'; readonly response_put: PutResponse }
  | { readonly response: 'response_delete_range'; readonly response_delete_range: DeleteRangeResponse }
  | { readonly response: 'response_txn'; readonly response_txn: TxnResponse };

/** COMPARE_RESULTS are the names of Compare.CompareResult in numeric order. */
export const COMPARE_RESULTS = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const;
/** CompareResult is the relation a compare tests. */
export type CompareResult = (typeof COMPARE_RESULTS)[number];
/** COMPARE_TARGETS are the names of Compare.CompareTarget in numeric order. */
export const COMPARE_TARGETS = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;
/** CompareTarget is the key field a compare reads. */
export type CompareTarget = (typeof COMPARE_TARGETS)[number];

/**
 * Compare (etcdserverpb.Compare) is one guard of a transaction. The union ties `target` to
 * the oneof member it reads, which is what etcd does: a member that does not match the target
 * counts as that target's zero value, and the decoder normalises to exactly that.
 */
export type Compare = {
  readonly result: CompareResult;
  readonly key: Uint8Array;
  readonly range_end: Uint8Array;
} & (
  | { readonly target: 'VERSION'; readonly target_union: 'version'; readonly version: number }
  | { readonly target: 'CREATE'; readonly target_union: 'create_revision'; readonly create_revision: number }
  | { readonly target: 'MOD'; readonly target_union: 'mod_revision'; readonly mod_revision: number }
  | { readonly target: 'VALUE'; readonly target_union: 'value'; readonly value: Uint8Array }
  | { readonly target: 'LEASE'; readonly target_union: 'lease'; readonly lease: Id64 }
);

/** TxnRequest (etcdserverpb.TxnRequest): if every compare holds, run success, else failure. */
export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

/** TxnResponse (etcdserverpb.TxnResponse) says which branch ran and returns its results. */
export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

/** CompactionRequest (etcdserverpb.CompactionRequest) discards history before `revision`. */
export interface CompactionRequest {
  readonly revision: number;
  readonly physical: boolean;
}

/** CompactionResponse (etcdserverpb.CompactionResponse) answers a compaction. */
export interface CompactionResponse {
  readonly header: ResponseHeader;
}

// ---- Watch ----

/** FILTER_TYPES are the names of WatchCreateRequest.FilterType in numeric order. */
export const FILTER_TYPES = ['NOPUT', 'NODELETE'] as const;
/** FilterType drops puts or deletes from a watcher's events. */
export type FilterType = (typeof FILTER_TYPES)[number];

/** WatchCreateRequest (etcdserverpb.WatchCreateRequest) starts a watcher on a key or range. */
export interface WatchCreateRequest {
  readonly key: Uint8Array;
  readonly range_end: Uint8Array;
  readonly start_revision: number;
  readonly progress_notify: boolean;
  readonly filters: readonly FilterType[];
  readonly prev_kv: boolean;
  readonly watch_id: number;
  readonly fragment: boolean;
}

/** WatchCancelRequest (etcdserverpb.WatchCancelRequest) stops one watcher of the stream. */
export interface WatchCancelRequest {
  readonly watch_id: number;
}

/** WatchProgressRequest (etcdserverpb.WatchProgressRequest) asks for a progress notification now. */
export type WatchProgressRequest = Readonly<Record<string, never>>;

/** WatchRequest (etcdserverpb.WatchRequest) is one message a client sends on a watch stream. */
export type WatchRequest =
  | { readonly request_union: 'create_request'; readonly create_request: WatchCreateRequest }
  | { readonly request_union: 'cancel_request'; readonly cancel_request: WatchCancelRequest }
  | { readonly request_union: 'progress_request'; readonly progress_request: WatchProgressRequest };

/** WatchResponse (etcdserverpb.WatchResponse) carries events, or news of a watcher's creation or end. */
export interface WatchResponse {
  readonly header: ResponseHeader;
  readonly watch_id: number;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compact_revision: number;
  readonly cancel_reason: string;
  readonly fragment: boolean;
  readonly events: readonly Event[];
}

// ---- Lease ----

/** LeaseGrantRequest (etcdserverpb.LeaseGrantRequest) creates a lease; ID "0" lets the server choose. */
export interface LeaseGrantRequest {
  readonly TTL: number;
  readonly ID: Id64;
}

/** LeaseGrantResponse (etcdserverpb.LeaseGrantResponse) returns the lease granted. */
export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly ID: Id64;
  readonly TTL: number;
  readonly error: string;
}

/** LeaseRevokeRequest (etcdserverpb.LeaseRevokeRequest) revokes a lease and deletes its keys. */
export interface LeaseRevokeRequest {
  readonly ID: Id64;
}

/** LeaseRevokeResponse (etcdserverpb.LeaseRevokeResponse) answers a revoke. */
export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
}

/** LeaseKeepAliveRequest (etcdserverpb.LeaseKeepAliveRequest) renews a lease (one per stream message). */
export interface LeaseKeepAliveRequest {
  readonly ID: Id64;
}

/** LeaseKeepAliveResponse (etcdserverpb.LeaseKeepAliveResponse) gives the renewed TTL (0 or less: gone). */
export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader;
  readonly ID: Id64;
  readonly TTL: number;
}

/** LeaseTimeToLiveRequest (etcdserverpb.LeaseTimeToLiveRequest) asks for a lease's remaining time. */
export interface LeaseTimeToLiveRequest {
  readonly ID: Id64;
  readonly keys: boolean;
}

/** LeaseTimeToLiveResponse (etcdserverpb.LeaseTimeToLiveResponse): TTL -1 means the lease is gone. */
export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader;
  readonly ID: Id64;
  readonly TTL: number;
  readonly grantedTTL: number;
  readonly keys: readonly Uint8Array[];
}

/** LeaseLeasesRequest (etcdserverpb.LeaseLeasesRequest) lists all leases. */
export type LeaseLeasesRequest = Readonly<Record<string, never>>;

/** LeaseStatus (etcdserverpb.LeaseStatus) is one lease in a listing. */
export interface LeaseStatus {
  readonly ID: Id64;
}

/** LeaseLeasesResponse (etcdserverpb.LeaseLeasesResponse) lists the leases. */
export interface LeaseLeasesResponse {
  readonly header: ResponseHeader;
  readonly leases: readonly LeaseStatus[];
}

// ---- Cluster ----

/** Member (etcdserverpb.Member) is one cluster member; `name` is empty until it has started. */
export interface Member {
  readonly ID: Id64;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** MemberAddRequest (etcdserverpb.MemberAddRequest) adds a member, as a learner if asked. */
export interface MemberAddRequest {
  readonly peerURLs: readonly string[];
  readonly isLearner: boolean;
}

/** MemberAddResponse (etcdserverpb.MemberAddResponse) returns the new member and the new list. */
export interface MemberAddResponse {
  readonly header: ResponseHeader;
  readonly member?: Member;
  readonly members: readonly Member[];
}

/** MemberRemoveRequest (etcdserverpb.MemberRemoveRequest) removes a member. */
export interface MemberRemoveRequest {
  readonly ID: Id64;
}

/** MemberUpdateRequest (etcdserverpb.MemberUpdateRequest) changes a member's peer URLs. */
export interface MemberUpdateRequest {
  readonly ID: Id64;
  readonly peerURLs: readonly string[];
}

/** MemberListRequest (etcdserverpb.MemberListRequest); `linearizable` is an etcd 3.5 field. */
export interface MemberListRequest {
  readonly linearizable: boolean;
}

/** MemberPromoteRequest (etcdserverpb.MemberPromoteRequest) makes a learner a voter. */
export interface MemberPromoteRequest {
  readonly ID: Id64;
}

/**
 * MembersResponse is the shape shared by MemberRemoveResponse, MemberUpdateResponse,
 * MemberListResponse and MemberPromoteResponse: a header and the member list.
 */
export interface MembersResponse {
  readonly header: ResponseHeader;
  readonly members: readonly Member[];
}

// ---- Maintenance ----

/** ALARM_TYPES are the names of etcdserverpb.AlarmType in numeric order. */
export const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'] as const;
/** AlarmType is a kind of alarm; NONE in a request means any. */
export type AlarmType = (typeof ALARM_TYPES)[number];
/** ALARM_ACTIONS are the names of AlarmRequest.AlarmAction in numeric order. */
export const ALARM_ACTIONS = ['GET', 'ACTIVATE', 'DEACTIVATE'] as const;
/** AlarmAction is what an alarm request does. */
export type AlarmAction = (typeof ALARM_ACTIONS)[number];

/** AlarmRequest (etcdserverpb.AlarmRequest) lists, raises or clears alarms; memberID "0" means all. */
export interface AlarmRequest {
  readonly action: AlarmAction;
  readonly memberID: Id64;
  readonly alarm: AlarmType;
}

/** AlarmMember (etcdserverpb.AlarmMember) is one raised alarm. */
export interface AlarmMember {
  readonly memberID: Id64;
  readonly alarm: AlarmType;
}

/** AlarmResponse (etcdserverpb.AlarmResponse) lists alarms. */
export interface AlarmResponse {
  readonly header: ResponseHeader;
  readonly alarms: readonly AlarmMember[];
}

/** EmptyRequest is the shape of the requests that carry no fields (Status, Defragment, Hash, Snapshot). */
export type EmptyRequest = Readonly<Record<string, never>>;

/** StatusResponse (etcdserverpb.StatusResponse) describes the answering member (`etcdctl endpoint status`). */
export interface StatusResponse {
  readonly header: ResponseHeader;
  readonly version: string;
  readonly dbSize: number;
  readonly leader: Id64;
  /** raftIndex is the member's committed index. */
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly errors: readonly string[];
  readonly dbSizeInUse: number;
  readonly isLearner: boolean;
}

/** HeaderOnlyResponse is the shape of DefragmentResponse, MoveLeaderResponse and the like. */
export interface HeaderOnlyResponse {
  readonly header: ResponseHeader;
}

/** HashResponse (etcdserverpb.HashResponse) is a hash of the member's whole backend. */
export interface HashResponse {
  readonly header: ResponseHeader;
  readonly hash: number;
}

/** HashKVRequest (etcdserverpb.HashKVRequest) asks for a hash of the keys up to a revision (0: latest). */
export interface HashKVRequest {
  readonly revision: number;
}

/** HashKVResponse (etcdserverpb.HashKVResponse) is the hash of the MVCC keys. */
export interface HashKVResponse {
  readonly header: ResponseHeader;
  readonly hash: number;
  readonly compact_revision: number;
}

/** SnapshotResponse (etcdserverpb.SnapshotResponse) is one chunk of a backend snapshot stream. */
export interface SnapshotResponse {
  readonly header: ResponseHeader;
  readonly remaining_bytes: number;
  readonly blob: Uint8Array;
}

/** MoveLeaderRequest (etcdserverpb.MoveLeaderRequest) asks the leader to hand over to `targetID`. */
export interface MoveLeaderRequest {
  readonly targetID: Id64;
}
