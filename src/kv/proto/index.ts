/**
 * kv/proto: the wire layer of a raftkube kv member. It loads the etcd v3 API and the raft peer
 * protocol from proto/, hands out typed grpc-js service definitions, and narrows what arrives
 * (always `unknown`) into the message shapes the services work with.
 *
 * Representation, in short (details in loader.ts): field names as in the .proto files;
 * 64-bit quantities as exact JS numbers (refused at 2^53 and above); 64-bit IDs as decimal
 * strings (Id64); bytes as Uint8Array (Buffers on arrival); enums by name.
 */
export { findProtoDir, loadProtoDefinitions, LOADER_OPTIONS, passBytes, PROTO_FILES, type ProtoDefinitions } from './loader.js';
export {
  addService,
  AUTH_METHODS,
  SERVICE_SHAPES,
  type AuthHandlers,
  type ClusterHandlers,
  type EtcdServices,
  type KVHandlers,
  type LeaseHandlers,
  type MaintenanceHandlers,
  type RaftHandlers,
  type ServiceDef,
  type ServiceShape,
  type StreamingKind,
  type WatchHandlers,
} from './services.js';
export type { Decoded } from './decode.js';
export { requestDecoders, responseDecoders } from './etcd-decoders.js';
export { decodeWatchResponse } from './watch-response-wire.js';
export { decodePutRequest } from './put-request-wire.js';
export { decodeTxnRequest } from './txn-request-wire.js';
export { decodeRangeRequest } from './range-request-wire.js';
export * from './etcd-types.js';
export {
  decodeMessage,
  decodeSnapshotAck,
  encodeMessage,
  MESSAGE_TYPES_PB,
  snapshotChunks,
  SnapshotAssembler,
  type EntryPb,
  type EntryTypePb,
  type MessagePb,
  type MessageTypePb,
  type SnapshotAck,
  type SnapshotChunkPb,
  type SnapshotPb,
} from './raft-codec.js';
