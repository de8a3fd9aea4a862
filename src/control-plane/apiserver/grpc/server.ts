/**
 * server: the apiserver's gRPC face. Each call names a resource (group, version, plural),
 * authenticates with the bearer token in its `authorization` metadata, and goes to the same
 * registry the REST face uses; objects travel as JSON bytes. A watch is a server stream that
 * ends when the client cancels or the registry closes it (an ERROR event carries the Status).
 */
import * as grpc from '@grpc/grpc-js';
import type { ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import { badRequest, statusOf } from '../registry/errors.js';
import type { ApiError, DeleteOptions, ListOptions, Registry, RequestContext, UserInfo, WriteOptions } from '../registry-api.js';
import { FENCED_NAMESPACE } from '../../storage/fencing.js';
import { apiServerService, decodeFence, FENCE_METADATA, grpcCodeOf, STATUS_TRAILER } from './proto.js';

/** Authenticate turns a request's Authorization header into a user, or refuses it. */
export type Authenticate = (authorization: string | undefined) => UserInfo | 'anonymous' | 'invalid';

/** GrpcFaceOptions configure the gRPC face. */
export interface GrpcFaceOptions {
  readonly registry: Registry;
  readonly authenticate: Authenticate;
  /** anonymous is the user an unauthenticated call runs as (default: refused with 401). */
  readonly anonymous?: UserInfo;
}

interface Ref {
  group: string;
  version: string;
  resource: string;
  namespace: string;
  name: string;
  subresource: string;
}

interface Wire {
  ref?: Ref | null;
  object?: Buffer;
  patch?: Buffer;
  patch_type?: string;
  options?: Buffer | { dry_run: boolean; field_validation: string; field_manager: string } | null;
  label_selector?: string;
  field_selector?: string;
  limit?: string;
  continue?: string;
  resource_version?: string;
  resource_version_match?: string;
  allow_bookmarks?: boolean;
  send_initial_events?: boolean;
  list?: Wire | null;
}

function fail(e: ApiError): Partial<grpc.StatusObject> {
  const md = new grpc.Metadata();
  md.set(STATUS_TRAILER, Buffer.from(JSON.stringify(statusOf(e))));
  return { code: grpcCodeOf(e), details: e.message, metadata: md };
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function parseJson(b: Buffer | undefined, what: string): Result<unknown, ApiError> {
  if (b === undefined || b.length === 0) return err(badRequest(`The request carries no ${what}`));
  try {
    return ok(JSON.parse(b.toString('utf8')) as unknown);
  } catch (e: unknown) {
    return err(badRequest(`The ${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`));
  }
}

function writeOptions(w: Wire): WriteOptions {
  const o = w.options;
  if (o === undefined || o === null || Buffer.isBuffer(o)) return {};
  const fv = o.field_validation;
  return {
    ...(o.dry_run ? { dryRun: true } : {}),
    ...(fv === 'Strict' || fv === 'Warn' || fv === 'Ignore' ? { fieldValidation: fv } : {}),
    ...(o.field_manager !== '' ? { fieldManager: o.field_manager } : {}),
  };
}

function deleteOptions(w: Wire): Result<DeleteOptions, ApiError> {
  const o = w.options;
  if (o === undefined || o === null || !Buffer.isBuffer(o) || o.length === 0) return ok({});
  const p = parseJson(o, 'DeleteOptions');
  if (!p.ok) return p;
  return ok(p.value as DeleteOptions);
}

function listOptions(w: Wire, ref: Ref): ListOptions {
  const limit = Number(w.limit ?? '0');
  return {
    ...(ref.namespace !== '' ? { namespace: ref.namespace } : {}),
    ...(w.label_selector !== undefined && w.label_selector !== '' ? { labelSelector: w.label_selector } : {}),
    ...(w.field_selector !== undefined && w.field_selector !== '' ? { fieldSelector: w.field_selector } : {}),
    ...(limit > 0 ? { limit } : {}),
    ...(w.continue !== undefined && w.continue !== '' ? { continue: w.continue } : {}),
    ...(w.resource_version !== undefined && w.resource_version !== '' ? { resourceVersion: w.resource_version } : {}),
    ...(w.resource_version_match === 'Exact' || w.resource_version_match === 'NotOlderThan' ? { resourceVersionMatch: w.resource_version_match } : {}),
  };
}

/** GrpcFace is the gRPC service bound to a registry. */
export class GrpcFace {
  readonly #o: GrpcFaceOptions;

  constructor(o: GrpcFaceOptions) {
    this.#o = o;
  }

  #context(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): Result<RequestContext, ApiError> {
    const header = call.metadata.get('authorization')[0];
    const who = this.#o.authenticate(typeof header === 'string' ? header : header?.toString('utf8'));
    if (who === 'invalid') return err({ code: 401, reason: 'Unauthorized', message: 'Unauthorized: the bearer token is not valid; use a token from the cluster\'s token file' });
    let user: UserInfo;
    if (who === 'anonymous') {
      if (this.#o.anonymous === undefined) return err({ code: 401, reason: 'Unauthorized', message: 'Unauthorized: send a bearer token in the authorization metadata' });
      user = this.#o.anonymous;
    } else {
      user = who;
    }
    const raw = call.metadata.get(FENCE_METADATA)[0];
    if (raw === undefined) return ok({ user });
    const fence = decodeFence(typeof raw === 'string' ? raw : raw.toString('utf8'));
    if (typeof fence === 'string') return err(badRequest(fence));
    // NB: only kube-system Leases keep the term record a fence is checked against (storage/fencing.ts).
    if (fence.namespace !== FENCED_NAMESPACE) return err(badRequest(`Only Leases in ${FENCED_NAMESPACE} can fence writes, not ${fence.namespace}/${fence.name}`));
    return ok({ user, fence });
  }

  #resource(ref: Ref | null | undefined): Result<{ res: ResourceInfo; ref: Ref }, ApiError> {
    if (ref === null || ref === undefined) return err(badRequest('The request names no resource (ref is empty)'));
    const res = this.#o.registry.resources().find((r) => r.group === ref.group && r.version === ref.version && r.plural === ref.resource);
    if (res === undefined) return err({ code: 404, reason: 'NotFound', message: `The server does not serve ${ref.resource} in ${ref.group === '' ? '' : `${ref.group}/`}${ref.version}` });
    return ok({ res, ref });
  }

  #unary<T>(run: (ctx: RequestContext, res: ResourceInfo, ref: Ref, w: Wire) => Promise<Result<T, ApiError>>, render: (v: T) => unknown): grpc.handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      const w = call.request as Wire;
      const ctx = this.#context(call);
      const target = this.#resource(w.ref ?? w.list?.ref);
      const start = !ctx.ok ? Promise.resolve(ctx) : !target.ok ? Promise.resolve(target) : run(ctx.value, target.value.res, target.value.ref, w);
      start.then(
        (r) => (r.ok ? callback(null, render(r.value)) : callback(fail(r.error))),
        (e: unknown) => callback(fail({ code: 500, reason: 'InternalError', message: `Internal error: ${e instanceof Error ? e.message : String(e)}` })),
      );
    };
  }

  /** implementation is the handler map for grpc.Server.addService. */
  implementation(): grpc.UntypedServiceImplementation {
    const reg = this.#o.registry;
    const ns = (ref: Ref): string | undefined => (ref.namespace === '' ? undefined : ref.namespace);
    const sub = (ref: Ref): 'status' | 'scale' | undefined => (ref.subresource === 'status' || ref.subresource === 'scale' ? ref.subresource : undefined);
    return {
      Get: this.#unary((ctx, res, ref) => reg.get(ctx, res, ns(ref), ref.name, sub(ref)), (o) => ({ object: json(o), warnings: [], created: false })),
      List: this.#unary((ctx, res, ref, w) => reg.list(ctx, res, listOptions(w, ref)), (l) => ({ list: json(l) })),
      Create: this.#unary(
        async (ctx, res, ref, w) => {
          const body = parseJson(w.object, 'object');
          if (!body.ok) return body;
          const binding = ref.subresource === 'binding' ? { subresource: 'binding' as const, name: ref.name } : undefined;
          return reg.create(ctx, res, ns(ref), body.value, writeOptions(w), binding);
        },
        (r) => ({ object: json(r.object), warnings: r.warnings, created: r.created }),
      ),
      Update: this.#unary(
        async (ctx, res, ref, w) => {
          const body = parseJson(w.object, 'object');
          if (!body.ok) return body;
          return reg.update(ctx, res, ns(ref), ref.name, body.value, writeOptions(w), sub(ref));
        },
        (r) => ({ object: json(r.object), warnings: r.warnings, created: r.created }),
      ),
      Patch: this.#unary(
        async (ctx, res, ref, w) => {
          const type = w.patch_type;
          if (type !== 'json' && type !== 'merge' && type !== 'strategic') return err(badRequest(`patch_type must be json, merge or strategic, not ${JSON.stringify(type)}`));
          const body = parseJson(w.patch, 'patch');
          if (!body.ok) return body;
          return reg.patch(ctx, res, ns(ref), ref.name, type, body.value, writeOptions(w), sub(ref));
        },
        (r) => ({ object: json(r.object), warnings: r.warnings, created: r.created }),
      ),
      Delete: this.#unary(
        async (ctx, res, ref, w) => {
          const o = deleteOptions(w);
          if (!o.ok) return o;
          return reg.delete(ctx, res, ns(ref), ref.name, o.value);
        },
        (r) => ({ object: json(r.object), gone: r.gone }),
      ),
      DeleteCollection: this.#unary(
        async (ctx, res, ref, w) => {
          const o = deleteOptions(w);
          if (!o.ok) return o;
          return reg.deleteCollection(ctx, res, listOptions(w.list ?? {}, ref), o.value);
        },
        (l) => ({ list: json(l) }),
      ),
      Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => this.#watch(call),
    };
  }

  #watch(call: grpc.ServerWritableStream<unknown, unknown>): void {
    const w = call.request as Wire;
    const ctx = this.#context(call);
    const target = this.#resource(w.ref);
    if (!ctx.ok) {
      call.emit('error', fail(ctx.error));
      return;
    }
    if (!target.ok) {
      call.emit('error', fail(target.error));
      return;
    }
    const { res, ref } = target.value;
    let ended = false;
    let handle: { dispose(): void } | null = null;
    const end = (): void => {
      if (ended) return;
      ended = true;
      handle?.dispose();
      call.end();
    };
    call.on('cancelled', end);
    call.on('close', end);
    const opts = {
      ...listOptions(w, ref),
      ...(w.allow_bookmarks === true ? { allowWatchBookmarks: true } : {}),
      ...(w.send_initial_events === true ? { sendInitialEvents: true } : {}),
    };
    this.#o.registry
      .watch(ctx.value, res, opts, {
        event: (ev) => {
          if (!ended) call.write({ type: ev.type, object: json(ev.object) });
        },
        closed: () => end(),
      })
      .then(
        (r) => {
          if (!r.ok) {
            if (!ended) {
              ended = true;
              call.emit('error', fail(r.error));
            }
            return;
          }
          if (ended) r.value.dispose();
          else handle = r.value;
        },
        (e: unknown) => {
          ended = true;
          call.emit('error', fail({ code: 500, reason: 'InternalError', message: `Internal error: ${e instanceof Error ? e.message : String(e)}` }));
        },
      );
  }
}

/** serveGrpc starts a gRPC server for the face on host:port (TLS when credentials are given). */
export async function serveGrpc(face: GrpcFace, o: { readonly host: string; readonly port: number; readonly tls?: { readonly certPem: string; readonly keyPem: string } }): Promise<{ readonly server: grpc.Server; readonly port: number }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
  server.addService(apiServerService(), face.implementation());
  const creds = o.tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(o.tls.certPem), private_key: Buffer.from(o.tls.keyPem) }], false);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${o.host}:${o.port}`, creds, (e, p) => (e === null ? resolve(p) : reject(new Error(`Cannot listen for gRPC on ${o.host}:${o.port}: ${e.message}; pick another port`))));
  });
  return { server, port };
}
