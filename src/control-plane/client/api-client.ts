/**
 * api-client: the typed client of the apiserver's gRPC API (proto/apiserver/v1) that the
 * scheduler, the controllers and the node agents use. It holds one channel per apiserver
 * endpoint and fails over to the next on UNAVAILABLE; every call has a deadline; every expected
 * failure comes back as an `ApiError` value, rebuilt from the Kubernetes Status the server puts
 * in the `k8s-status-bin` trailer, and 503 'ServiceUnavailable' when no endpoint answers.
 */
import * as grpc from '@grpc/grpc-js';
import type { KubeObject, ResourceInfo, Result } from '../api/types.js';
import { err, ok } from '../api/types.js';
import { apiErrorOf, apiServerService, encodeFence, FENCE_METADATA, STATUS_TRAILER } from '../apiserver/grpc/proto.js';
import type { ApiServerMethod } from '../apiserver/grpc/proto.js';
import type { ApiError, DeleteOptions, Disposable, ListOptions, StatusReason, WatchOptions, WriteFence, WriteOptions } from '../apiserver/registry-api.js';

/** ResourceDescriptor addresses a resource: a ResourceInfo from the catalogue fits. */
export type ResourceDescriptor = Pick<ResourceInfo, 'group' | 'version' | 'plural' | 'namespaced'>;

/** ObjectKey names one object: its namespace (absent for cluster-scoped objects) and name. */
export interface ObjectKey {
  readonly namespace?: string;
  readonly name: string;
}

/** ApiClientOptions configure a client. */
export interface ApiClientOptions {
  /** endpoints are the apiservers' gRPC addresses, 'host:port', tried in order. */
  readonly endpoints: readonly string[];
  /** token is sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  /** caPem turns TLS on and verifies the servers against this CA. */
  readonly caPem?: string;
  /** tlsServerName overrides the name the servers' certificates are checked against. */
  readonly tlsServerName?: string;
  /** deadlineMs bounds each unary call on each endpoint (default 10 s). */
  readonly deadlineMs?: number;
}

/** TypedList is a list response with its items typed. */
export interface TypedList<T> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly resourceVersion: string; readonly continue?: string; readonly remainingItemCount?: number };
  readonly items: readonly T[];
}

/** ClientWatchEvent is one watch event; ERROR events end the watch and arrive as `end(error)`. */
export interface ClientWatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  readonly object: T;
}

/** WatchHandlers receive a watch's events and, once, its end. */
export interface WatchHandlers<T> {
  readonly event: (ev: ClientWatchEvent<T>) => void;
  /**
   * end is called once when the watch ends by itself: null when the server closed the stream
   * cleanly (watch again from the last resourceVersion), an ApiError otherwise (410 Expired:
   * relist; 503: no apiserver reachable). It is not called after `dispose()`.
   */
  readonly end: (why: ApiError | null) => void;
}

/** PatchBody is a patch and its type. */
export interface PatchBody {
  readonly type: 'json' | 'merge' | 'strategic';
  readonly patch: unknown;
}

/**
 * FenceOption attaches a leader's WriteFence to a write: the apiserver applies the write only
 * while the fence's Lease is still in the leader's term (atomically with the write), and
 * refuses it with 409 Conflict otherwise. FencedClient attaches it to every write.
 */
export interface FenceOption {
  readonly fence?: WriteFence;
}

/** SubresourceOption picks the status or scale subresource of an object. */
export interface SubresourceOption {
  readonly subresource?: 'status' | 'scale';
}

/** ClientDeleted is delete's outcome: the object, and whether it is gone or awaits finalizers. */
export interface ClientDeleted<T> {
  readonly object: T;
  readonly gone: boolean;
}

/** Scale is an autoscaling/v1 Scale as the scale subresource serves it. */
export interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}

interface WireRef {
  group: string;
  version: string;
  resource: string;
  namespace: string;
  name: string;
  subresource: string;
}

type Method = grpc.MethodDefinition<unknown, unknown>;

const UNAVAILABLE = grpc.status.UNAVAILABLE;

/** READS are the methods that are safe to repeat on another endpoint after a timeout. */
const READS: ReadonlySet<ApiServerMethod> = new Set(['Get', 'List']);

/**
 * brokenTransport says a failure came from the connection, not from an apiserver's answer: no
 * Status trailer, and UNAVAILABLE or CANCELLED (what a stream sees when its server dies).
 */
function brokenTransport(e: grpc.ServiceError): boolean {
  return (e.code === UNAVAILABLE || e.code === grpc.status.CANCELLED) && (e.metadata?.get(STATUS_TRAILER).length ?? 0) === 0;
}

/**
 * neverSent says grpc-js failed the call before sending it: it could not pick a connection
 * ("No connection established ..."), which it reports when the channel's connection broke
 * before the call went out, even if the channel looked ready a moment earlier.
 */
function neverSent(e: grpc.ServiceError): boolean {
  return e.details.startsWith('No connection established');
}

function unavailable(message: string): ApiError {
  return { code: 503, reason: 'ServiceUnavailable', message };
}

function internal(message: string): ApiError {
  return { code: 500, reason: 'InternalError', message };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseBytes(b: unknown, what: string): Result<Record<string, unknown>, ApiError> {
  if (!Buffer.isBuffer(b)) return err(internal(`The apiserver's ${what} carries no JSON bytes; check that client and server speak the same proto`));
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    if (!isRecord(v)) return err(internal(`The apiserver's ${what} is not a JSON object`));
    return ok(v);
  } catch (e: unknown) {
    return err(internal(`The apiserver's ${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`));
  }
}

function decodeObject<T>(b: unknown, what: string): Result<T, ApiError> {
  const v = parseBytes(b, what);
  if (!v.ok) return v;
  if (!isRecord(v.value['metadata'])) return err(internal(`The apiserver's ${what} has no metadata`));
  // NB: the object is trusted to be of the resource's kind; the server encoded it from its schema.
  return ok(v.value as T);
}

function decodeList<T>(b: unknown): Result<TypedList<T>, ApiError> {
  const v = parseBytes(b, 'list');
  if (!v.ok) return v;
  const md = v.value['metadata'];
  if (!isRecord(md) || typeof md['resourceVersion'] !== 'string' || !Array.isArray(v.value['items'])) return err(internal("The apiserver's list lacks metadata.resourceVersion or items"));
  return ok(v.value as unknown as TypedList<T>);
}

/** statusToApiError turns a Status object (an ERROR watch event) into an ApiError. */
export function statusToApiError(s: Record<string, unknown>): ApiError {
  const code = typeof s['code'] === 'number' ? s['code'] : 500;
  const reason = (typeof s['reason'] === 'string' ? s['reason'] : 'InternalError') as StatusReason;
  const message = typeof s['message'] === 'string' ? s['message'] : `The watch failed with status ${code}`;
  const details = isRecord(s['details']) ? { details: s['details'] as ApiError['details'] & object } : {};
  return { code, reason, message, ...details };
}

function refOf(res: ResourceDescriptor, namespace: string | undefined, name: string, subresource: string): WireRef {
  return { group: res.group, version: res.version, resource: res.plural, namespace: res.namespaced ? namespace ?? '' : '', name, subresource };
}

function writeOpts(o: WriteOptions | undefined): { dry_run: boolean; field_validation: string; field_manager: string } {
  return { dry_run: o?.dryRun ?? false, field_validation: o?.fieldValidation ?? '', field_manager: o?.fieldManager ?? '' };
}

function listRequest(res: ResourceDescriptor, o: ListOptions): Record<string, unknown> {
  return {
    ref: refOf(res, o.namespace, '', ''),
    label_selector: o.labelSelector ?? '',
    field_selector: o.fieldSelector ?? '',
    limit: o.limit ?? 0,
    continue: o.continue ?? '',
    resource_version: o.resourceVersion ?? '',
    resource_version_match: o.resourceVersionMatch ?? '',
  };
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function metaOf(obj: KubeObject): ObjectKey {
  const ns = obj.metadata.namespace;
  return { ...(ns === undefined ? {} : { namespace: ns }), name: obj.metadata.name ?? '' };
}

/**
 * KubeClient is the verbs controllers and the scheduler write through; ApiClient implements
 * it, and a controller test can pass a recording fake instead.
 */
export type KubeClient = Pick<ApiClient, 'get' | 'list' | 'watch' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete' | 'deleteCollection' | 'bind' | 'getScale' | 'updateScale'>;

/**
 * ApiClient is the apiserver's gRPC API as methods returning `Result<T, ApiError>`. Calls go to
 * the endpoint that answered last. A read that finds an endpoint unavailable (or too slow)
 * moves on to the next; a write does so only when it was never sent, and otherwise answers 503
 * or 504 without repeating it (read the object again, then decide). 503 when every endpoint
 * failed. Stop informers and watches before `close()`.
 */
export class ApiClient {
  readonly #endpoints: readonly string[];
  readonly #channels: grpc.Client[];
  readonly #methods: Readonly<Record<ApiServerMethod, Method>>;
  readonly #token: string | undefined;
  readonly #deadlineMs: number;
  #preferred = 0;
  #closed = false;

  constructor(o: ApiClientOptions) {
    if (o.endpoints.length === 0) throw new Error('ApiClient needs at least one apiserver endpoint (host:port)');
    this.#endpoints = [...o.endpoints];
    this.#token = o.token;
    this.#deadlineMs = o.deadlineMs ?? 10_000;
    const creds = o.caPem === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(o.caPem));
    const options: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': -1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // Pings on open calls, so a watch on a connection whose peer vanished fails in seconds.
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      ...(o.tlsServerName === undefined ? {} : { 'grpc.ssl_target_name_override': o.tlsServerName, 'grpc.default_authority': o.tlsServerName }),
    };
    this.#channels = this.#endpoints.map((e) => new grpc.Client(e, creds, options));
    const def = apiServerService();
    const method = (m: ApiServerMethod): Method => {
      const d = def[m];
      if (d === undefined) throw new Error(`The ApiServer service lacks ${m}; reinstall raftkube`);
      return d as Method;
    };
    this.#methods = {
      Get: method('Get'),
      List: method('List'),
      Watch: method('Watch'),
      Create: method('Create'),
      Update: method('Update'),
      Patch: method('Patch'),
      Delete: method('Delete'),
      DeleteCollection: method('DeleteCollection'),
    };
  }

  /** endpoint is the address calls go to first (the last one that answered). */
  get endpoint(): string {
    return this.#endpoints[this.#preferred] ?? '';
  }

  #metadata(fence?: WriteFence): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.#token !== undefined) md.set('authorization', `Bearer ${this.#token}`);
    if (fence !== undefined) md.set(FENCE_METADATA, encodeFence(fence));
    return md;
  }

  #unaryOn(i: number, m: ApiServerMethod, req: unknown, fence: WriteFence | undefined): Promise<{ readonly ok: true; readonly value: Record<string, unknown> } | { readonly ok: false; readonly error: grpc.ServiceError; readonly wasConnected: boolean }> {
    const def = this.#methods[m];
    const ch = this.#channels[i]!;
    const wasConnected = ch.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
    return new Promise((resolve) => {
      ch.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, this.#metadata(fence), { deadline: Date.now() + this.#deadlineMs }, (e, v) => {
        if (e !== null) resolve({ ok: false, error: e, wasConnected });
        else resolve({ ok: true, value: isRecord(v) ? v : {} });
      });
    });
  }

  async #unary(m: ApiServerMethod, req: unknown, fence?: WriteFence): Promise<Result<Record<string, unknown>, ApiError>> {
    if (this.#closed) return err(unavailable('The client is closed; create a new ApiClient'));
    const n = this.#endpoints.length;
    const start = this.#preferred;
    const failures: string[] = [];
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const r = await this.#unaryOn(i, m, req, fence);
      if (r.ok) {
        this.#preferred = i;
        return r;
      }
      const e = r.error;
      const where = this.#endpoints[i] ?? '?';
      const noAnswer = (e.metadata?.get(STATUS_TRAILER).length ?? 0) === 0;
      const read = READS.has(m);
      // NB: a write is repeated elsewhere only when this endpoint was not connected when it was
      // sent, so it most likely never arrived; on a live connection an UNAVAILABLE write may have
      // been applied, and repeating it could, say, create a second pod from one generateName.
      if ((e.code === UNAVAILABLE && (read || !r.wasConnected || neverSent(e))) || (e.code === grpc.status.DEADLINE_EXCEEDED && noAnswer && read)) {
        failures.push(`${where}: ${e.details}`);
        continue;
      }
      if (brokenTransport(e) || (e.code === grpc.status.DEADLINE_EXCEEDED && noAnswer)) {
        // The apiserver went away or stalled mid-write; the write may or may not have taken effect.
        this.#preferred = (i + 1) % n;
        const message = `The apiserver at ${where} did not finish the call (${e.details}); read the object again before retrying`;
        return err(e.code === grpc.status.DEADLINE_EXCEEDED ? { code: 504, reason: 'Timeout', message } : unavailable(message));
      }
      this.#preferred = i;
      return err(apiErrorOf(e));
    }
    this.#preferred = (start + 1) % n;
    return err(unavailable(`No apiserver answered (${failures.join('; ')}); check that an apiserver is running and the endpoints are right`));
  }

  /** get reads one object (or its status or scale subresource). */
  async get<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, o: SubresourceOption = {}): Promise<Result<T, ApiError>> {
    const r = await this.#unary('Get', { ref: refOf(res, key.namespace, key.name, o.subresource ?? '') });
    return r.ok ? decodeObject<T>(r.value['object'], 'object') : r;
  }

  /** list reads one page of objects (all of them without `limit`). */
  async list<T = KubeObject>(res: ResourceDescriptor, o: ListOptions = {}): Promise<Result<TypedList<T>, ApiError>> {
    const r = await this.#unary('List', listRequest(res, o));
    return r.ok ? decodeList<T>(r.value['list']) : r;
  }

  /** create makes an object in its metadata.namespace (or `o.namespace`). */
  async create<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & FenceOption & { readonly namespace?: string } = {}): Promise<Result<T, ApiError>> {
    const r = await this.#unary('Create', { ref: refOf(res, obj.metadata.namespace ?? o.namespace, '', ''), object: json(obj), options: writeOpts(o) }, o.fence);
    return r.ok ? decodeObject<T>(r.value['object'], 'object') : r;
  }

  /** update replaces an object; its metadata.resourceVersion makes the write conditional (409 on mismatch). */
  async update<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & SubresourceOption & FenceOption = {}): Promise<Result<T, ApiError>> {
    const k = metaOf(obj);
    const r = await this.#unary('Update', { ref: refOf(res, k.namespace, k.name, o.subresource ?? ''), object: json(obj), options: writeOpts(o) }, o.fence);
    return r.ok ? decodeObject<T>(r.value['object'], 'object') : r;
  }

  /** updateStatus replaces an object's status through the status subresource. */
  updateStatus<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & FenceOption = {}): Promise<Result<T, ApiError>> {
    return this.update<T>(res, obj, { ...o, subresource: 'status' });
  }

  /** patch applies a JSON, merge or strategic merge patch to an object (or a subresource). */
  async patch<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, p: PatchBody, o: WriteOptions & SubresourceOption & FenceOption = {}): Promise<Result<T, ApiError>> {
    const r = await this.#unary('Patch', { ref: refOf(res, key.namespace, key.name, o.subresource ?? ''), patch_type: p.type, patch: json(p.patch), options: writeOpts(o) }, o.fence);
    return r.ok ? decodeObject<T>(r.value['object'], 'object') : r;
  }

  /** delete deletes an object; `gone` is false while finalizers or a grace period keep it. */
  async delete<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, o: DeleteOptions & FenceOption = {}): Promise<Result<ClientDeleted<T>, ApiError>> {
    const { fence, ...opts } = o;
    const r = await this.#unary('Delete', { ref: refOf(res, key.namespace, key.name, ''), options: Object.keys(opts).length === 0 ? Buffer.alloc(0) : json(opts) }, fence);
    if (!r.ok) return r;
    const obj = decodeObject<T>(r.value['object'], 'object');
    return obj.ok ? ok({ object: obj.value, gone: r.value['gone'] === true }) : obj;
  }

  /** deleteCollection deletes every object the list options select and returns them. */
  async deleteCollection<T = KubeObject>(res: ResourceDescriptor, list: ListOptions, o: DeleteOptions & FenceOption = {}): Promise<Result<TypedList<T>, ApiError>> {
    const { fence, ...opts } = o;
    const r = await this.#unary('DeleteCollection', { list: listRequest(res, list), options: Object.keys(opts).length === 0 ? Buffer.alloc(0) : json(opts) }, fence);
    return r.ok ? decodeList<T>(r.value['list']) : r;
  }

  /** bind binds a pod to a node through the pods/binding subresource (the scheduler's write). */
  async bind(pod: ObjectKey, node: string, o: { readonly podUid?: string } & FenceOption = {}): Promise<Result<void, ApiError>> {
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod.name, ...(pod.namespace === undefined ? {} : { namespace: pod.namespace }), ...(o.podUid === undefined ? {} : { uid: o.podUid }) },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    };
    const r = await this.#unary('Create', { ref: refOf({ group: '', version: 'v1', plural: 'pods', namespaced: true }, pod.namespace, pod.name, 'binding'), object: json(binding), options: writeOpts(undefined) }, o.fence);
    return r.ok ? ok(undefined) : r;
  }

  /** getScale reads the scale subresource (Deployments, ReplicaSets). */
  getScale(res: ResourceDescriptor, key: ObjectKey): Promise<Result<Scale, ApiError>> {
    return this.get<Scale>(res, key, { subresource: 'scale' });
  }

  /** updateScale writes the scale subresource (spec.replicas; conditional on its resourceVersion). */
  updateScale(res: ResourceDescriptor, scale: Scale, o: FenceOption = {}): Promise<Result<Scale, ApiError>> {
    return this.update<Scale>(res, scale, { ...o, subresource: 'scale' });
  }

  /**
   * watch streams changes of a resource from `o.resourceVersion`. If an endpoint is unavailable
   * before the stream delivered anything, the watch moves on to the next endpoint; once events
   * flowed, a broken stream ends with 503 and the caller resumes (the next call starts at the
   * next endpoint). Dispose to cancel.
   */
  watch<T = KubeObject>(res: ResourceDescriptor, o: WatchOptions, h: WatchHandlers<T>): Disposable {
    const req = {
      ref: refOf(res, o.namespace, '', ''),
      label_selector: o.labelSelector ?? '',
      field_selector: o.fieldSelector ?? '',
      resource_version: o.resourceVersion ?? '',
      allow_bookmarks: o.allowWatchBookmarks ?? false,
      send_initial_events: o.sendInitialEvents ?? false,
    };
    let finished = false;
    let call: grpc.ClientReadableStream<unknown> | null = null;
    const failures: string[] = [];
    const finish = (why: ApiError | null): void => {
      if (finished) return;
      finished = true;
      const c = call;
      call = null;
      c?.cancel();
      h.end(why);
    };
    if (this.#closed) {
      queueMicrotask(() => finish(unavailable('The client is closed; create a new ApiClient')));
      return { dispose: () => (finished = true) };
    }
    const n = this.#endpoints.length;
    const start = this.#preferred;
    const attempt = (k: number): void => {
      if (finished) return;
      if (k >= n) {
        this.#preferred = (start + 1) % n;
        finish(unavailable(`No apiserver accepted the watch (${failures.join('; ')}); check that an apiserver is running`));
        return;
      }
      const i = (start + k) % n;
      const def = this.#methods.Watch;
      const c = this.#channels[i]!.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, req, this.#metadata(), {});
      call = c;
      let received = false;
      c.on('metadata', () => {
        received = true;
        this.#preferred = i;
      });
      c.on('data', (msg: unknown) => {
        if (finished || call !== c) return;
        received = true;
        this.#preferred = i;
        if (!isRecord(msg)) return;
        const type = msg['type'];
        if (type === 'ERROR') {
          const s = parseBytes(msg['object'], 'watch error');
          finish(s.ok ? statusToApiError(s.value) : s.error);
          return;
        }
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') return;
        const obj = decodeObject<T>(msg['object'], 'watch event');
        if (!obj.ok) {
          finish(obj.error);
          return;
        }
        h.event({ type, object: obj.value });
      });
      c.on('error', (e: grpc.ServiceError) => {
        if (finished || call !== c) return;
        if (e.code === UNAVAILABLE && !received) {
          failures.push(`${this.#endpoints[i] ?? '?'}: ${e.details}`);
          attempt(k + 1);
          return;
        }
        if (brokenTransport(e)) {
          this.#preferred = (i + 1) % n;
          finish(unavailable(`The watch stream from ${this.#endpoints[i] ?? '?'} broke (${e.details}); watch again from the last resourceVersion seen`));
          return;
        }
        finish(apiErrorOf(e));
      });
      c.on('status', (s: grpc.StatusObject) => {
        if (finished || call !== c) return;
        if (s.code === grpc.status.OK) finish(null);
      });
    };
    attempt(0);
    return {
      dispose: () => {
        if (finished) return;
        finished = true;
        const c = call;
        call = null;
        c?.cancel();
      },
    };
  }

  /** close closes every channel; later calls fail with 503. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#channels) c.close();
  }
}
