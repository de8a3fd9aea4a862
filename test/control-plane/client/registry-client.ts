/**
 * registry-client: a KubeClient (and ListWatcher) that calls a Registry in-process and records
 * every call, for controller and scheduler tests. It has the real registry's semantics (CAS,
 * defaults, binding, scale, graceful deletion) without sockets, so informers over it sync and
 * follow changes on a virtual clock, and a test can assert the exact writes a reconcile made.
 */
import type { KubeObject, ResourceInfo, Result } from '../../../src/control-plane/api/types.js';
import { err, ok } from '../../../src/control-plane/api/types.js';
import type { ApiError, DeleteOptions, Disposable, ListOptions, Registry, RequestContext, WatchOptions, WriteOptions } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ClientDeleted, FenceOption, KubeClient, ObjectKey, PatchBody, ResourceDescriptor, Scale, SubresourceOption, TypedList, WatchHandlers } from '../../../src/control-plane/client/api-client.js';
import { statusToApiError } from '../../../src/control-plane/client/api-client.js';
import type { ListWatcher } from '../../../src/control-plane/client/informer.js';

/** RecordedCall is one call the client made: verb, resource (plural[/subresource]) and object key. */
export interface RecordedCall {
  readonly verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
}

const ADMIN: RequestContext = { user: { username: 'admin', uid: 'admin', groups: ['system:masters'] } };

/** RegistryClient is a recording KubeClient over an in-process Registry. */
export class RegistryClient implements KubeClient, ListWatcher {
  readonly calls: RecordedCall[] = [];
  readonly #registry: Registry;
  readonly #ctx: RequestContext;

  constructor(registry: Registry, ctx: RequestContext = ADMIN) {
    this.#registry = registry;
    this.#ctx = ctx;
  }

  /** writes renders the recorded writes as 'verb resource ns/name', the form controller tests assert. */
  writes(): string[] {
    return this.calls
      .filter((c) => c.verb !== 'get' && c.verb !== 'list' && c.verb !== 'watch')
      .map((c) => `${c.verb} ${c.resource} ${c.namespace === undefined ? '' : `${c.namespace}/`}${c.name ?? ''}`);
  }

  #info(res: ResourceDescriptor): ResourceInfo {
    const r = this.#registry.resources().find((x) => x.group === res.group && x.version === res.version && x.plural === res.plural);
    if (r === undefined) throw new Error(`The registry does not serve ${res.plural}`);
    return r;
  }

  /** #as is the request context of a write: this client's, with the write's fence if it carries one. */
  #as(o: FenceOption): RequestContext {
    return o.fence === undefined ? this.#ctx : { ...this.#ctx, fence: o.fence };
  }

  #record(verb: RecordedCall['verb'], res: ResourceDescriptor, namespace: string | undefined, name?: string, sub?: string): void {
    this.calls.push({ verb, resource: sub === undefined ? res.plural : `${res.plural}/${sub}`, ...(namespace === undefined ? {} : { namespace }), ...(name === undefined ? {} : { name }) });
  }

  async get<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, o: SubresourceOption = {}): Promise<Result<T, ApiError>> {
    this.#record('get', res, key.namespace, key.name, o.subresource);
    const r = await this.#registry.get(this.#ctx, this.#info(res), key.namespace, key.name, o.subresource);
    return r.ok ? ok(structuredClone(r.value) as T) : r;
  }

  async list<T = KubeObject>(res: ResourceDescriptor, o: ListOptions = {}): Promise<Result<TypedList<T>, ApiError>> {
    this.#record('list', res, o.namespace);
    const r = await this.#registry.list(this.#ctx, this.#info(res), o);
    return r.ok ? ok(structuredClone(r.value) as unknown as TypedList<T>) : r;
  }

  watch<T = KubeObject>(res: ResourceDescriptor, o: WatchOptions, h: WatchHandlers<T>): Disposable {
    this.#record('watch', res, o.namespace);
    let done = false;
    let inner: Disposable | null = null;
    const end = (why: ApiError | null): void => {
      if (done) return;
      done = true;
      inner?.dispose();
      h.end(why);
    };
    void this.#registry
      .watch(this.#ctx, this.#info(res), o, {
        event: (ev) => {
          if (done) return;
          if (ev.type === 'ERROR') end(statusToApiError(ev.object as unknown as Record<string, unknown>));
          else h.event({ type: ev.type, object: structuredClone(ev.object) as T });
        },
        closed: (why) => end(why),
      })
      .then((r) => {
        if (!r.ok) end(r.error);
        else if (done) r.value.dispose();
        else inner = r.value;
      });
    return {
      dispose: () => {
        done = true;
        inner?.dispose();
      },
    };
  }

  async create<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & FenceOption & { readonly namespace?: string } = {}): Promise<Result<T, ApiError>> {
    const ns = obj.metadata.namespace ?? o.namespace;
    this.#record('create', res, ns, obj.metadata.name ?? obj.metadata.generateName);
    const r = await this.#registry.create(this.#as(o), this.#info(res), res.namespaced ? ns : undefined, structuredClone(obj), o);
    return r.ok ? ok(r.value.object as T) : r;
  }

  async update<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & SubresourceOption & FenceOption = {}): Promise<Result<T, ApiError>> {
    const ns = obj.metadata.namespace;
    this.#record('update', res, ns, obj.metadata.name, o.subresource);
    const r = await this.#registry.update(this.#as(o), this.#info(res), res.namespaced ? ns : undefined, obj.metadata.name ?? '', structuredClone(obj), o, o.subresource);
    return r.ok ? ok(r.value.object as T) : r;
  }

  updateStatus<T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o: WriteOptions & FenceOption = {}): Promise<Result<T, ApiError>> {
    return this.update<T>(res, obj, { ...o, subresource: 'status' });
  }

  async patch<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, p: PatchBody, o: WriteOptions & SubresourceOption & FenceOption = {}): Promise<Result<T, ApiError>> {
    this.#record('patch', res, key.namespace, key.name, o.subresource);
    const r = await this.#registry.patch(this.#as(o), this.#info(res), key.namespace, key.name, p.type, p.patch, o, o.subresource);
    return r.ok ? ok(r.value.object as T) : r;
  }

  async delete<T = KubeObject>(res: ResourceDescriptor, key: ObjectKey, o: DeleteOptions & FenceOption = {}): Promise<Result<ClientDeleted<T>, ApiError>> {
    this.#record('delete', res, key.namespace, key.name);
    const { fence: _fence, ...opts } = o;
    const r = await this.#registry.delete(this.#as(o), this.#info(res), key.namespace, key.name, opts);
    return r.ok ? ok({ object: r.value.object as T, gone: r.value.gone }) : r;
  }

  async deleteCollection<T = KubeObject>(res: ResourceDescriptor, list: ListOptions, o: DeleteOptions & FenceOption = {}): Promise<Result<TypedList<T>, ApiError>> {
    this.#record('deletecollection', res, list.namespace);
    const { fence: _fence, ...opts } = o;
    const r = await this.#registry.deleteCollection(this.#as(o), this.#info(res), list, opts);
    return r.ok ? ok(r.value as unknown as TypedList<T>) : r;
  }

  async bind(pod: ObjectKey, node: string, o: { readonly podUid?: string } & FenceOption = {}): Promise<Result<void, ApiError>> {
    const pods = { group: '', version: 'v1', plural: 'pods', namespaced: true };
    this.#record('create', pods, pod.namespace, pod.name, 'binding');
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod.name, ...(pod.namespace === undefined ? {} : { namespace: pod.namespace }), ...(o.podUid === undefined ? {} : { uid: o.podUid }) },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    };
    const r = await this.#registry.create(this.#as(o), this.#info(pods), pod.namespace, body, {}, { subresource: 'binding', name: pod.name });
    return r.ok ? ok(undefined) : err(r.error);
  }

  getScale(res: ResourceDescriptor, key: ObjectKey): Promise<Result<Scale, ApiError>> {
    return this.get<Scale>(res, key, { subresource: 'scale' });
  }

  updateScale(res: ResourceDescriptor, scale: Scale, o: FenceOption = {}): Promise<Result<Scale, ApiError>> {
    return this.update<Scale>(res, scale, { ...o, subresource: 'scale' });
  }
}
