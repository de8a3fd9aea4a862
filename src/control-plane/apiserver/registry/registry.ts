/**
 * registry: `ApiRegistry`, the apiserver's one implementation of the `Registry` contract. Both
 * faces (REST for kubectl, gRPC for the control plane's own clients) call it; it authorizes,
 * decodes, defaults, validates, admits and stores through the etcd layer's API, and answers
 * every expected failure as an ApiError value.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type {
  ApiError, DeleteOptions, Deleted, Disposable, KubeList, ListOptions, PatchType, Registry, RequestContext, WatchOptions, WatchSink, WriteOptions, Written,
} from '../registry-api.js';
import { bindPod } from './binding.js';
import { coreFor, type RegistryCore } from './core.js';
import { deleteCollection, deleteObject } from './deletes.js';
import { badRequest, methodNotAllowed } from './errors.js';
import { systemClock, type Clock } from './meta.js';
import type { Authorizer, SchemaFunctions } from './ports.js';
import { getObject, listObjects, watchObjects } from './reads.js';
import { ServiceIPAllocator } from './service-ips.js';
import type { StoragePort } from './storage-port.js';
import { createObject, patchObject, updateObject } from './writes.js';

/** RegistryOptions are the registry's collaborators. */
export interface RegistryOptions {
  readonly storage: StoragePort;
  readonly schema: SchemaFunctions;
  readonly authorizer: Authorizer;
  readonly resources: readonly ResourceInfo[];
  /** serviceCIDR is the loopback block ClusterIPs come from (default 127.96.0.0/16). */
  readonly serviceCIDR?: string;
  readonly clock?: Clock;
}

function isReview(res: ResourceInfo): boolean {
  return res.group === 'authorization.k8s.io';
}

/** ApiRegistry serves every verb of every resource. */
export class ApiRegistry implements Registry {
  readonly #core: RegistryCore;

  constructor(o: RegistryOptions) {
    const find = (plural: string): ResourceInfo => {
      const r = o.resources.find((x) => x.group === '' && x.plural === plural);
      if (r === undefined) throw new Error(`The resource list lacks core/v1 ${plural}, which the registry needs`);
      return r;
    };
    this.#core = {
      storage: o.storage,
      schema: o.schema,
      authorizer: o.authorizer,
      serviceIPs: new ServiceIPAllocator(o.storage.store, o.serviceCIDR),
      clock: o.clock ?? systemClock,
      resources: o.resources,
      namespaces: find('namespaces'),
      serviceAccounts: find('serviceaccounts'),
    };
  }

  /** core exposes the shared state to the bootstrap step. */
  get core(): RegistryCore {
    return this.#core;
  }

  resources(): readonly ResourceInfo[] {
    return this.#core.resources;
  }

  get(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): Promise<Result<KubeObject, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return getObject(this.#core, ctx, res, namespace, name, subresource);
  }

  list(ctx: RequestContext, res: ResourceInfo, opts: ListOptions): Promise<Result<KubeList, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return listObjects(this.#core, ctx, res, opts);
  }

  watch(ctx: RequestContext, res: ResourceInfo, opts: WatchOptions, sink: WatchSink): Promise<Result<Disposable, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return watchObjects(this.#core, ctx, res, opts, sink);
  }

  async create(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions, sub?: { readonly subresource: 'binding'; readonly name: string }): Promise<Result<Written, ApiError>> {
    if (sub !== undefined) {
      if (res.group !== '' || res.plural !== 'pods') return err(badRequest(`${res.plural} have no binding subresource`));
      return bindPod(coreFor(this.#core, ctx), ctx, res, namespace, sub.name, body, opts);
    }
    if (isReview(res)) {
      const r = this.#core.authorizer.review(ctx.user, res, body);
      return r.ok ? ok({ object: r.value, warnings: [], created: true }) : err(badRequest(r.error));
    }
    return createObject(coreFor(this.#core, ctx), ctx, res, namespace, body, opts);
  }

  update(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return updateObject(coreFor(this.#core, ctx), ctx, res, namespace, name, body, opts, subresource);
  }

  patch(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return patchObject(coreFor(this.#core, ctx), ctx, res, namespace, name, type, patch, opts, subresource);
  }

  delete(ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<Result<Deleted, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return deleteObject(coreFor(this.#core, ctx), ctx, res, namespace, name, opts);
  }

  deleteCollection(ctx: RequestContext, res: ResourceInfo, opts: ListOptions, del: DeleteOptions): Promise<Result<KubeList, ApiError>> {
    if (isReview(res)) return Promise.resolve(err(methodNotAllowed(`${res.plural} can only be created`)));
    return deleteCollection(coreFor(this.#core, ctx), ctx, res, opts, del);
  }
}
