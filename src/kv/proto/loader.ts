/**
 * loader: finds the package's proto/ directory, loads the etcd v3 API and raftkube's raft peer
 * protocol with @grpc/proto-loader, and hands out the service definitions grpc-js needs, typed
 * by the handler maps of services.ts.
 *
 * Representation (LOADER_OPTIONS), which every decoder in this folder relies on:
 * - keepCase: field names stay as in the .proto files (`range_end`, `TTL`, `isLearner`).
 * - longs: String. int64/uint64 arrive as decimal strings. A Number would round silently above
 *   2^53, and real etcd lease, member and cluster IDs are random 64-bit values; Long objects
 *   would leak a library type into every handler. Decoders turn quantities into exact numbers
 *   (refusing 2^53 and above) and keep IDs as strings. Encoding accepts numbers or strings.
 * - enums: String. Enum values arrive as their names; a value unknown to this API version
 *   arrives as a number and decoders refuse it.
 * - bytes: Buffer. Bytes arrive as Node Buffers (which are Uint8Arrays); encoding accepts any
 *   Uint8Array.
 * - defaults: true, oneofs: true. Every scalar and repeated field is present (unset message
 *   fields are null), and each oneof has a virtual property naming its set member; proto3
 *   `optional` fields stay undefined when absent.
 *
 * NB: on encoding, protobufjs writes every property that is set, zeros included (`more: false`
 * becomes 18 00), where etcd's Go encoder leaves zero scalars out. Both decode to the same
 * message; leave zero fields out of hot responses to save the bytes. Oneof members are the
 * exception that must be set even when zero (Compare.mod_revision = 0 is a real operand).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { SERVICE_SHAPES, type EtcdServices, type RaftHandlers, type ServiceDef, type ServiceShape } from './services.js';

/** LOADER_OPTIONS are the proto-loader options every raftkube process uses (see the file comment). */
export const LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

/** PROTO_FILES are the entry .proto files, relative to the proto directory (imports follow). */
export const PROTO_FILES: readonly string[] = ['etcdserverpb/rpc.proto', 'raftpb/raft.proto'];

/**
 * findProtoDir walks up from `from` (a file URL or path; this module by default) to the first
 * directory holding proto/etcdserverpb/rpc.proto, so the same code works from src/ under tsx
 * and from dist/src/ after a build.
 */
export function findProtoDir(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from);
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'etcdserverpb', 'rpc.proto'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`Cannot find proto/etcdserverpb/rpc.proto above ${from}; run raftkube from its package, with its proto/ directory installed next to src/ or dist/`);
    }
    dir = parent;
  }
}

/** ProtoDefinitions is everything the loader yields. */
export interface ProtoDefinitions {
  /** protoDir is the directory the .proto files were loaded from. */
  readonly protoDir: string;
  /** packageDefinition is proto-loader's raw result (services, messages and enums by full name). */
  readonly packageDefinition: PackageDefinition;
  /** etcd holds the etcdserverpb services. */
  readonly etcd: EtcdServices;
  /** raft is raftkube.raftpb.Raft, the peer protocol. */
  readonly raft: ServiceDef<RaftHandlers>;
}

let cached: ProtoDefinitions | undefined;

/**
 * loadProtoDefinitions loads the .proto files once per process (synchronously: it is startup
 * work) and checks every service against SERVICE_SHAPES, so a missing method or a wrong
 * streaming kind fails at startup instead of on the first call.
 */
export function loadProtoDefinitions(): ProtoDefinitions {
  if (cached !== undefined) return cached;
  const protoDir = findProtoDir();
  const packageDefinition = loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  const etcd: EtcdServices = {
    KV: checkedService(packageDefinition, 'etcdserverpb.KV'),
    Watch: encodedResponses(checkedService(packageDefinition, 'etcdserverpb.Watch')),
    Lease: checkedService(packageDefinition, 'etcdserverpb.Lease'),
    Cluster: checkedService(packageDefinition, 'etcdserverpb.Cluster'),
    Maintenance: checkedService(packageDefinition, 'etcdserverpb.Maintenance'),
    Auth: checkedService(packageDefinition, 'etcdserverpb.Auth'),
  };
  cached = { protoDir, packageDefinition, etcd, raft: checkedService(packageDefinition, 'raftkube.raftpb.Raft') };
  return cached;
}

/** takesEncoded makes a method's serializer hand a Buffer on as it is and encode anything else as before. */
function takesEncoded(m: MethodDefinition<unknown, unknown>): MethodDefinition<unknown, unknown> {
  const serialize = m.responseSerialize;
  return { ...m, responseSerialize: (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : serialize(v)) };
}

/** encodedResponses lets every handler of a service write a response it has encoded itself. */
function encodedResponses<H>(def: ServiceDef<H>): ServiceDef<H> {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries<MethodDefinition<unknown, unknown>>(def)) out[name] = takesEncoded(m);
  return out as ServiceDef<H>;
}

/**
 * passBytes serves `methods` of a service from bytes to bytes: their handlers receive the request
 * message's bytes undecoded and answer with the response's bytes (anything else is still
 * encoded). The definition is a copy; clients keep encoding and decoding through the original.
 */
export function passBytes<H>(def: ServiceDef<H>, methods: readonly (keyof H & string)[]): ServiceDef<H> {
  const out: Record<string, MethodDefinition<unknown, unknown>> = { ...(def as Readonly<Record<string, MethodDefinition<unknown, unknown>>>) };
  for (const name of methods) {
    const m = out[name];
    if (m === undefined) throw new Error(`passBytes: the service has no method ${name}`);
    out[name] = { ...takesEncoded(m), requestDeserialize: (b: Buffer): Buffer => b };
  }
  return out as ServiceDef<H>;
}

/**
 * checkedService takes one service out of the package definition after checking that its
 * methods are exactly those of SERVICE_SHAPES, with the same paths and streaming kinds; that
 * check is what makes the cast to the typed definition sound.
 */
function checkedService<H>(pkg: PackageDefinition, fullName: keyof typeof SERVICE_SHAPES): ServiceDef<H> {
  const def = pkg[fullName];
  if (def === undefined || 'format' in def) throw new Error(`Service ${fullName} is missing from the loaded protos; check proto/ against src/kv/proto/services.ts`);
  const shape: ServiceShape = SERVICE_SHAPES[fullName];
  const expected = Object.keys(shape).sort();
  const actual = Object.keys(def).sort();
  if (expected.join() !== actual.join()) {
    throw new Error(`Service ${fullName} has methods [${actual.join(', ')}], expected [${expected.join(', ')}]; update proto/ or services.ts`);
  }
  for (const [name, kind] of Object.entries(shape)) {
    const method = def[name];
    if (method === undefined) continue; // unreachable: the key sets are equal
    const got = streamingKind(method.requestStream, method.responseStream);
    if (method.path !== `/${fullName}/${name}` || got !== kind) {
      throw new Error(`Method ${method.path} is ${got}, expected /${fullName}/${name} to be ${kind}; update proto/ or services.ts`);
    }
  }
  return def as unknown as ServiceDef<H>;
}

function streamingKind(requestStream: boolean, responseStream: boolean): ServiceShape[string] {
  if (requestStream) return responseStream ? 'bidi' : 'client-stream';
  return responseStream ? 'server-stream' : 'unary';
}
