/**
 * etcd-client: a small etcd v3 gRPC client used by raftkube's own tools — `raftkube status`,
 * the benchmarks (the same client drives raftkube and a real etcd) and the apiserver. It fails
 * over between endpoints on UNAVAILABLE and narrows every response with the wire decoders.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadProtoDefinitions, responseDecoders, type Decoded } from '../proto/index.js';
import type {
  DeleteRangeResponse, MemberAddResponse, MembersResponse, PutResponse, RangeResponse, StatusResponse, TxnResponse,
} from '../proto/index.js';

type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance';

/** EtcdCallError is a failed call, with the gRPC status code and the server's message. */
export class EtcdCallError extends Error {
  override readonly name = 'EtcdCallError';
  constructor(readonly code: grpc.status, readonly details: string, readonly endpoint: string) {
    super(`${details} (gRPC ${grpc.status[code] ?? code} from ${endpoint})`);
  }
}

/** DEFAULT_DEADLINE_MS bounds a unary call when EtcdClientOptions.deadlineMs is not given. */
const DEFAULT_DEADLINE_MS = 10_000;
/** RECONNECT_MIN_MS and RECONNECT_MAX_MS bound the back-off between attempts to reach an endpoint. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 1_000;

/** EtcdClientOptions tunes the client. */
export interface EtcdClientOptions {
  /** deadlineMs bounds every unary call (default 10 s). */
  readonly deadlineMs?: number;
  /**
   * spread picks the endpoint each unary call starts from: 'failover' (default) sticks to the
   * last endpoint that answered; 'round-robin' starts each call at the next endpoint in turn,
   * spreading load over all members as the etcd3 client does. Both fail over on UNAVAILABLE.
   */
  readonly spread?: 'failover' | 'round-robin';
  /**
   * tls dials with TLS: to every https:// endpoint, and to endpoints given without a scheme.
   * Without it only https:// endpoints use TLS (trusting the system's CAs, no client certificate).
   */
  readonly tls?: EtcdTls;
}

/** EtcdTls is what a client needs for TLS, as PEM text or bytes (etcdctl's --cacert, --cert, --key). */
export interface EtcdTls {
  /** ca verifies the members' certificates; absent: the system's CAs. */
  readonly ca?: string | Buffer;
  /** cert and key are the client certificate, for members that demand one (--client-cert-auth). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/** EtcdTlsFiles names the files of an EtcdTls, and the flags that gave them (for messages). */
export interface EtcdTlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** flags name the three options in messages; etcdctl's by default. */
  readonly flags?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** EtcdTlsError is a TLS option that is incomplete or whose file cannot be read. */
export class EtcdTlsError extends Error {
  override readonly name = 'EtcdTlsError';
}

/**
 * readEtcdTls reads the files of an EtcdTls, or returns undefined when none is given; a
 * certificate without its key (or the other way round) or an unreadable file is an EtcdTlsError
 * naming the flag.
 */
export function readEtcdTls(f: EtcdTlsFiles): EtcdTls | undefined {
  const flags = f.flags ?? { ca: '--cacert', cert: '--cert', key: '--key' };
  const given = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (!given(f.caFile) && !given(f.certFile) && !given(f.keyFile)) return undefined;
  if (given(f.certFile) !== given(f.keyFile)) throw new EtcdTlsError(`${given(f.certFile) ? flags.cert : flags.key} is given without ${given(f.certFile) ? flags.key : flags.cert}; give both`);
  const read = (path: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err: unknown) {
      throw new EtcdTlsError(`${flag}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    ...(given(f.caFile) ? { ca: read(f.caFile, flags.ca) } : {}),
    ...(given(f.certFile) ? { cert: read(f.certFile, flags.cert) } : {}),
    ...(given(f.keyFile) ? { key: read(f.keyFile, flags.key) } : {}),
  };
}

/** pemBuffer turns PEM text or bytes into the Buffer grpc-js wants. */
function pemBuffer(v: string | Buffer | undefined): Buffer | null {
  if (v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/**
 * etcdCredentials are the gRPC credentials for one endpoint: TLS for https://, plain text for
 * http://, and for an endpoint without a scheme TLS exactly when `tls` is given (as etcdctl).
 */
export function etcdCredentials(endpoint: string, tls: EtcdTls | undefined): grpc.ChannelCredentials {
  const secure = endpoint.startsWith('https://') || (tls !== undefined && !endpoint.startsWith('http://'));
  if (!secure) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(pemBuffer(tls?.ca), pemBuffer(tls?.key), pemBuffer(tls?.cert));
}

/** stripScheme turns http(s)://host:port into host:port. */
export function stripScheme(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** TRACE_METADATA_KEY is the gRPC metadata key that marks a sampled request (raftkube's members record it). */
export const TRACE_METADATA_KEY = 'raftkube-trace';

/** CallOptions are per-call options of a unary request. */
export interface CallOptions {
  /** trace is the token of a sampled request (bench kv --trace); members record where its time goes. */
  readonly trace?: string;
  /** onHeaders hears the response's headers arrive (a member sends its response message with them, its status after). */
  readonly onHeaders?: () => void;
}

/** EtcdClient talks to a set of etcd-compatible endpoints. */
export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly #clients: grpc.Client[];
  readonly #deadlineMs: number;
  readonly #roundRobin: boolean;
  #current = 0;

  constructor(endpoints: readonly string[], o: EtcdClientOptions = {}) {
    if (endpoints.length === 0) throw new Error('EtcdClient needs at least one endpoint');
    this.endpoints = endpoints.map(stripScheme);
    this.#deadlineMs = o.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#roundRobin = o.spread === 'round-robin';
    this.#clients = endpoints.map(
      (e, i) => new grpc.Client(this.endpoints[i]!, etcdCredentials(e, o.tls), { 'grpc.max_receive_message_length': -1, 'grpc.initial_reconnect_backoff_ms': RECONNECT_MIN_MS, 'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS }),
    );
  }

  /** client returns the raw grpc client of endpoint i (for streams). */
  rawClient(i: number): grpc.Client {
    const c = this.#clients[i];
    if (c === undefined) throw new RangeError(`No endpoint ${i}`);
    return c;
  }

  /**
   * unaryAt calls one method on one endpoint and narrows the response. `o.trace` marks the
   * request as sampled (gRPC metadata raftkube-trace, see bench kv --trace).
   */
  unaryAt<T>(i: number, service: ServiceName, method: string, req: object, decode: (v: unknown) => Decoded<T>, o: CallOptions = {}): Promise<T> {
    const def = loadProtoDefinitions().etcd[service] as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;
    const m = def[method];
    if (m === undefined) return Promise.reject(new Error(`Unknown method ${service}.${method}`));
    const client = this.rawClient(i);
    const endpoint = this.endpoints[i]!;
    const md = new grpc.Metadata();
    if (o.trace !== undefined) md.set(TRACE_METADATA_KEY, o.trace);
    return new Promise<T>((resolve, reject) => {
      const call = client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        md,
        { deadline: Date.now() + this.#deadlineMs },
        (err: grpc.ServiceError | null, value?: unknown) => {
          if (err !== null) {
            reject(new EtcdCallError(err.code, err.details, endpoint));
            return;
          }
          const d = decode(value);
          if (d.ok) resolve(d.value);
          else reject(new Error(`Malformed ${service}.${method} response from ${endpoint}: ${d.error}`));
        },
      );
      if (o.onHeaders !== undefined) call.on('metadata', o.onHeaders);
    });
  }

  /** unary calls a method, failing over to the next endpoint while one is unavailable. */
  async unary<T>(service: ServiceName, method: string, req: object, decode: (v: unknown) => Decoded<T>): Promise<T> {
    let lastErr: unknown = null;
    const start = this.#current;
    if (this.#roundRobin) this.#current = (start + 1) % this.endpoints.length;
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const i = (start + attempt) % this.endpoints.length;
      try {
        const r = await this.unaryAt(i, service, method, req, decode);
        if (!this.#roundRobin) this.#current = i;
        return r;
      } catch (err: unknown) {
        if (!(err instanceof EtcdCallError) || err.code !== grpc.status.UNAVAILABLE) throw err;
        lastErr = err;
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error('No endpoint reachable');
  }

  put(key: Uint8Array | string, value: Uint8Array | string, opts: { lease?: string; prevKv?: boolean } = {}): Promise<PutResponse> {
    return this.unary('KV', 'Put', { key: buf(key), value: buf(value), lease: opts.lease ?? '0', prev_kv: opts.prevKv ?? false }, responseDecoders.PutResponse);
  }

  range(key: Uint8Array | string, opts: { rangeEnd?: Uint8Array | string; serializable?: boolean; limit?: number; revision?: number } = {}): Promise<RangeResponse> {
    const req = { key: buf(key), range_end: opts.rangeEnd === undefined ? Buffer.alloc(0) : buf(opts.rangeEnd), serializable: opts.serializable ?? false, limit: opts.limit ?? 0, revision: opts.revision ?? 0 };
    return this.unary('KV', 'Range', req, responseDecoders.RangeResponse);
  }

  rangeAt(i: number, key: Uint8Array | string, serializable = false, o: CallOptions = {}): Promise<RangeResponse> {
    return this.unaryAt(i, 'KV', 'Range', { key: buf(key), serializable }, responseDecoders.RangeResponse, o);
  }

  putAt(i: number, key: Uint8Array | string, value: Uint8Array | string, o: CallOptions = {}): Promise<PutResponse> {
    return this.unaryAt(i, 'KV', 'Put', { key: buf(key), value: buf(value) }, responseDecoders.PutResponse, o);
  }

  deleteRange(key: Uint8Array | string, rangeEnd?: Uint8Array | string): Promise<DeleteRangeResponse> {
    return this.unary('KV', 'DeleteRange', { key: buf(key), range_end: rangeEnd === undefined ? Buffer.alloc(0) : buf(rangeEnd) }, responseDecoders.DeleteRangeResponse);
  }

  txn(req: object): Promise<TxnResponse> {
    return this.unary('KV', 'Txn', req, responseDecoders.TxnResponse);
  }

  /** statusAt asks endpoint i for its Maintenance.Status. */
  statusAt(i: number): Promise<StatusResponse> {
    return this.unaryAt(i, 'Maintenance', 'Status', {}, responseDecoders.StatusResponse);
  }

  memberList(): Promise<MembersResponse> {
    return this.unary('Cluster', 'MemberList', { linearizable: true }, responseDecoders.MembersResponse);
  }

  /** memberAdd adds a member with the given peer URLs (a learner if asked); the cluster assigns its ID. */
  memberAdd(peerURLs: readonly string[], opts: { isLearner?: boolean } = {}): Promise<MemberAddResponse> {
    return this.unary('Cluster', 'MemberAdd', { peerURLs, isLearner: opts.isLearner ?? false }, responseDecoders.MemberAddResponse);
  }

  /** memberRemove removes the member with this ID (decimal) from the cluster. */
  memberRemove(id: string): Promise<MembersResponse> {
    return this.unary('Cluster', 'MemberRemove', { ID: id }, responseDecoders.MembersResponse);
  }

  /** memberPromote makes a learner a voting member; refused while it is not in sync with the leader. */
  memberPromote(id: string): Promise<MembersResponse> {
    return this.unary('Cluster', 'MemberPromote', { ID: id }, responseDecoders.MembersResponse);
  }

  /**
   * snapshotAt streams endpoint i's Maintenance.Snapshot: the snapshot file's bytes in order
   * (see mvcc/snapshot-file.ts). The stream ends when the member has sent everything; a failed
   * or malformed stream throws EtcdCallError or Error.
   */
  async *snapshotAt(i: number): AsyncGenerator<Buffer> {
    const m = (loadProtoDefinitions().etcd.Maintenance as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>)['Snapshot'];
    if (m === undefined) throw new Error('Unknown method Maintenance.Snapshot');
    const endpoint = this.endpoints[i];
    if (endpoint === undefined) throw new RangeError(`No endpoint ${i}`);
    const call = this.rawClient(i).makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, new grpc.Metadata(), {});
    try {
      for await (const raw of call as AsyncIterable<unknown>) {
        const d = responseDecoders.SnapshotResponse(raw);
        if (!d.ok) throw new Error(`Malformed Maintenance.Snapshot response from ${endpoint}: ${d.error}`);
        yield Buffer.from(d.value.blob);
      }
    } catch (err: unknown) {
      const e = err as Partial<grpc.ServiceError>;
      if (typeof e.code === 'number' && typeof e.details === 'string') throw new EtcdCallError(e.code, e.details, endpoint);
      throw err;
    } finally {
      call.cancel();
    }
  }

  close(): void {
    for (const c of this.#clients) c.close();
  }
}

/** buf turns a string or bytes into a Buffer. */
export function buf(v: Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
