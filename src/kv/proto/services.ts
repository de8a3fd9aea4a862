/**
 * services: the gRPC services raftkube serves, as typed handler maps. A handler receives its
 * request as `unknown` (narrow it with requestDecoders / decodeBatch) and must answer with the
 * shape of etcd-types.ts / raft-codec.ts, which the compiler checks.
 */
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  Server,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type {
  AlarmResponse,
  CompactionResponse,
  DeleteRangeResponse,
  HashKVResponse,
  HashResponse,
  HeaderOnlyResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberAddResponse,
  MembersResponse,
  SnapshotResponse,
  StatusResponse,
  WatchResponse,
} from './etcd-types.js';
import type { SnapshotAck } from './raft-codec.js';

// NB: handler maps are type aliases, not interfaces, so that they are assignable to grpc-js's
// UntypedServiceImplementation (an index signature), which Server.addService requires.

/**
 * KVHandlers serve etcdserverpb.KV. Range, Put and Txn go from bytes to bytes: a member serves them
 * through a definition made by `passBytes` (loader.ts), their requests arrive undecoded and their
 * responses leave already encoded (src/kv/server/services/kv-wire.ts).
 */
export type KVHandlers = {
  Range: handleUnaryCall<unknown, Buffer>;
  Put: handleUnaryCall<unknown, Buffer>;
  DeleteRange: handleUnaryCall<unknown, DeleteRangeResponse>;
  Txn: handleUnaryCall<unknown, Buffer>;
  Compact: handleUnaryCall<unknown, CompactionResponse>;
};

/**
 * WatchHandlers serve etcdserverpb.Watch. A Watch handler writes each WatchResponse already
 * encoded (the member's does, with src/kv/server/services/watch-wire.ts); the loaded definition's
 * response serializer passes those bytes through, and still encodes an object.
 */
export type WatchHandlers = {
  Watch: handleBidiStreamingCall<unknown, Buffer | WatchResponse>;
};

/** LeaseHandlers serve etcdserverpb.Lease. */
export type LeaseHandlers = {
  LeaseGrant: handleUnaryCall<unknown, LeaseGrantResponse>;
  LeaseRevoke: handleUnaryCall<unknown, LeaseRevokeResponse>;
  LeaseKeepAlive: handleBidiStreamingCall<unknown, LeaseKeepAliveResponse>;
  LeaseTimeToLive: handleUnaryCall<unknown, LeaseTimeToLiveResponse>;
  LeaseLeases: handleUnaryCall<unknown, LeaseLeasesResponse>;
};

/** ClusterHandlers serve etcdserverpb.Cluster. */
export type ClusterHandlers = {
  MemberAdd: handleUnaryCall<unknown, MemberAddResponse>;
  MemberRemove: handleUnaryCall<unknown, MembersResponse>;
  MemberUpdate: handleUnaryCall<unknown, MembersResponse>;
  MemberList: handleUnaryCall<unknown, MembersResponse>;
  MemberPromote: handleUnaryCall<unknown, MembersResponse>;
};

/** MaintenanceHandlers serve etcdserverpb.Maintenance. */
export type MaintenanceHandlers = {
  Alarm: handleUnaryCall<unknown, AlarmResponse>;
  Status: handleUnaryCall<unknown, StatusResponse>;
  Defragment: handleUnaryCall<unknown, HeaderOnlyResponse>;
  Hash: handleUnaryCall<unknown, HashResponse>;
  HashKV: handleUnaryCall<unknown, HashKVResponse>;
  Snapshot: handleServerStreamingCall<unknown, SnapshotResponse>;
  MoveLeader: handleUnaryCall<unknown, HeaderOnlyResponse>;
};

/** AUTH_METHODS are the methods of etcdserverpb.Auth (all unary). */
export const AUTH_METHODS = [
  'AuthEnable',
  'AuthDisable',
  'AuthStatus',
  'Authenticate',
  'UserAdd',
  'UserGet',
  'UserList',
  'UserDelete',
  'UserChangePassword',
  'UserGrantRole',
  'UserRevokeRole',
  'RoleAdd',
  'RoleGet',
  'RoleList',
  'RoleDelete',
  'RoleGrantPermission',
  'RoleRevokePermission',
] as const;

/**
 * AuthHandlers serve etcdserverpb.Auth. raftkube has no typed auth messages (it does not
 * implement auth); a server answers these with UNIMPLEMENTED or with plain objects.
 */
export type AuthHandlers = {
  [M in (typeof AUTH_METHODS)[number]]: handleUnaryCall<unknown, Readonly<Record<string, unknown>>>;
};

/** RaftHandlers serve raftkube.raftpb.Raft, the peer protocol. */
export type RaftHandlers = {
  SendSnapshot: handleClientStreamingCall<unknown, SnapshotAck>;
};

/**
 * ServiceDef is a grpc-js service definition keyed by the methods of handler map H. Its
 * serializers take and its deserializers return `unknown` (grpc-js's own type says `any`):
 * what comes off the wire is narrowed by a decoder, and what goes on it is checked by H.
 */
export type ServiceDef<H> = { readonly [K in keyof H]: MethodDefinition<unknown, unknown> };

/** EtcdServices are the etcdserverpb service definitions, typed by their handler maps. */
export interface EtcdServices {
  readonly KV: ServiceDef<KVHandlers>;
  readonly Watch: ServiceDef<WatchHandlers>;
  readonly Lease: ServiceDef<LeaseHandlers>;
  readonly Cluster: ServiceDef<ClusterHandlers>;
  readonly Maintenance: ServiceDef<MaintenanceHandlers>;
  readonly Auth: ServiceDef<AuthHandlers>;
}

/** StreamingKind is how a method streams. */
export type StreamingKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** ServiceShape maps each method of a service to its streaming kind. */
export type ServiceShape = Readonly<Record<string, StreamingKind>>;

/**
 * SERVICE_SHAPES is what the loader checks the .proto files against: every service, by full
 * name, with every method and how it streams. It must agree with the handler maps above.
 */
export const SERVICE_SHAPES = {
  'etcdserverpb.KV': { Range: 'unary', Put: 'unary', DeleteRange: 'unary', Txn: 'unary', Compact: 'unary' },
  'etcdserverpb.Watch': { Watch: 'bidi' },
  'etcdserverpb.Lease': {
    LeaseGrant: 'unary',
    LeaseRevoke: 'unary',
    LeaseKeepAlive: 'bidi',
    LeaseTimeToLive: 'unary',
    LeaseLeases: 'unary',
  },
  'etcdserverpb.Cluster': {
    MemberAdd: 'unary',
    MemberRemove: 'unary',
    MemberUpdate: 'unary',
    MemberList: 'unary',
    MemberPromote: 'unary',
  },
  'etcdserverpb.Maintenance': {
    Alarm: 'unary',
    Status: 'unary',
    Defragment: 'unary',
    Hash: 'unary',
    HashKV: 'unary',
    Snapshot: 'server-stream',
    MoveLeader: 'unary',
  },
  'etcdserverpb.Auth': Object.fromEntries(AUTH_METHODS.map((m) => [m, 'unary' as const])),
  'raftkube.raftpb.Raft': { SendSnapshot: 'client-stream' },
} as const satisfies Readonly<Record<string, ServiceShape>>;

/**
 * addService registers a typed implementation on a grpc-js server; unlike Server.addService it
 * checks at compile time that the handlers match the service definition.
 */
export function addService<H extends UntypedServiceImplementation>(server: Server, service: ServiceDef<H>, handlers: H): void {
  server.addService(service, handlers);
}
