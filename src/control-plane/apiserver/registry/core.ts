/**
 * core: the state every registry verb shares — storage, schema functions, the authorizer, the
 * service IP allocator and the clock — and the small steps they all take (authorize, map a
 * storage error to an ApiError, find the namespace an object must live in).
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import { objectKey } from '../../storage/keys.js';
import type { ApiError, RequestContext } from '../registry-api.js';
import { alreadyExists, badRequest, conflict, forbidden, gone, internal, notFound, STALE_OBJECT, timeout, unavailable } from './errors.js';
import type { Clock } from './meta.js';
import type { Authorizer, ResourceAttributes, SchemaFunctions } from './ports.js';
import type { ServiceIPAllocator } from './service-ips.js';
import type { ObjectStorePort, PortError, StoragePort } from './storage-port.js';

/** RegistryCore is what the verbs of the registry share. */
export interface RegistryCore {
  readonly storage: StoragePort;
  readonly schema: SchemaFunctions;
  readonly authorizer: Authorizer;
  readonly serviceIPs: ServiceIPAllocator;
  readonly clock: Clock;
  readonly resources: readonly ResourceInfo[];
  /** namespacesResource is core/v1 namespaces (namespace existence checks). */
  readonly namespaces: ResourceInfo;
  /** serviceAccounts is core/v1 serviceaccounts (a default one per namespace). */
  readonly serviceAccounts: ResourceInfo;
}

/**
 * coreFor is the core one request runs on: the shared core, or, when the caller sent a write
 * fence, a view of it whose store attaches the fence to every write (reads pass through), so
 * each write the request makes — whatever verb, retry or side effect — applies only while the
 * caller still leads.
 */
export function coreFor(core: RegistryCore, ctx: RequestContext): RegistryCore {
  const fence = ctx.fence;
  if (fence === undefined) return core;
  const store = core.storage.store;
  const fenced: ObjectStorePort = {
    create: (key, obj) => store.create(key, obj, { fence }),
    get: (key) => store.get(key),
    list: (prefix, o) => store.list(prefix, o),
    update: (key, obj, rv) => store.update(key, obj, rv, { fence }),
    delete: (key, rv) => store.delete(key, rv, { fence }),
    continueToken: (revision, afterKey) => store.continueToken(revision, afterKey),
    currentRevision: () => store.currentRevision(),
  };
  return { ...core, storage: { store: fenced, cacheFor: (res) => core.storage.cacheFor(res) } };
}

/** keyOf is an object's key in the store. */
export function keyOf(res: ResourceInfo, namespace: string | undefined, name: string): string {
  return objectKey(res, res.namespaced ? namespace : undefined, name);
}

/** authorize checks a request with the authorizer; a denial becomes 403. */
export function authorize(
  core: RegistryCore,
  ctx: RequestContext,
  res: ResourceInfo,
  verb: string,
  o: { readonly namespace?: string | undefined; readonly name?: string | undefined; readonly subresource?: string | undefined; readonly existing?: KubeObject; readonly incoming?: KubeObject } = {},
): Result<void, ApiError> {
  const attrs: ResourceAttributes = {
    verb,
    apiGroup: res.group,
    resource: res.plural,
    ...(o.subresource === undefined ? {} : { subresource: o.subresource }),
    ...(res.namespaced && o.namespace !== undefined ? { namespace: o.namespace } : {}),
    ...(o.name === undefined ? {} : { name: o.name }),
  };
  const objects = { ...(o.existing === undefined ? {} : { existing: o.existing }), ...(o.incoming === undefined ? {} : { incoming: o.incoming }) };
  const d = core.authorizer.authorize(ctx.user, attrs, objects);
  return d.allowed ? ok(undefined) : err(forbidden(d.message, res, o.name));
}

/** fromPort maps a storage failure to the ApiError a client sees. */
export function fromPort(res: ResourceInfo, name: string, e: PortError): ApiError {
  switch (e.kind) {
    case 'not-found':
      return notFound(res, name);
    case 'already-exists':
      return alreadyExists(res, name);
    case 'conflict':
      return conflict(res, name, STALE_OBJECT);
    case 'gone':
      return gone(e.message);
    case 'unavailable':
      return unavailable(`The etcd layer is unavailable (${e.message}); retry in a moment`);
    case 'timeout':
      return timeout(e.message);
    case 'too-large':
      return { code: 413, reason: 'RequestEntityTooLarge', message: e.message };
    case 'invalid':
      return badRequest(e.message);
    case 'internal':
      return internal(e.message);
    case 'fenced':
      return { code: 409, reason: 'Conflict', message: e.message, details: { name, group: res.group, kind: res.plural } };
    default: {
      const never: never = e.kind;
      return internal(`Unknown storage error ${String(never)}`);
    }
  }
}

/** revisionOf reads metadata.resourceVersion as a number (0 when absent or malformed). */
export function revisionOf(obj: KubeObject): number {
  const rv = obj.metadata.resourceVersion;
  if (rv === undefined || !/^\d+$/.test(rv)) return 0;
  return Number(rv);
}

/**
 * requireLiveNamespace refuses writes into a namespace that does not exist (404) or is being
 * deleted (403), as Kubernetes' NamespaceLifecycle admission does.
 */
export async function requireLiveNamespace(core: RegistryCore, res: ResourceInfo, namespace: string | undefined): Promise<Result<void, ApiError>> {
  if (!res.namespaced || namespace === undefined) return ok(undefined);
  // The namespaces' watch cache answers most writes without a round trip to the etcd layer (as
  // Kubernetes' admission reads its informer); a namespace it does not hold yet (just created)
  // is read from the etcd layer before the write is refused.
  const cached = await core.storage.cacheFor(core.namespaces).list({ filter: (o) => o.metadata.name === namespace });
  let ns = cached.ok ? (cached.value.items[0] ?? null) : null;
  if (ns === null) {
    const r = await core.storage.store.get(keyOf(core.namespaces, undefined, namespace));
    if (!r.ok) return err(fromPort(core.namespaces, namespace, r.error));
    ns = r.value;
  }
  if (ns === null) return err(notFound(core.namespaces, namespace));
  if (ns.metadata.deletionTimestamp !== undefined) {
    return err(forbidden(`${res.plural} "${''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`.replace(' ""', ''), res));
  }
  return ok(undefined);
}
