/**
 * fake-registry: a small map-backed Registry for the REST face's tests — enough of each verb
 * (equality label selectors, metadata.name field selectors, merge and JSON patches, watches)
 * to drive the server and kubectl, and a record of every call for assertions.
 */
import { randomUUID } from 'node:crypto';
import fastJsonPatch from 'fast-json-patch';
import type { KubeObject, ResourceInfo, Result, Subresource, Verb } from '../../../src/control-plane/api/types.js';
import { apiVersionOf, err, ok } from '../../../src/control-plane/api/types.js';
import type {
  ApiError, DeleteOptions, Deleted, Disposable, KubeList, ListOptions, PatchType, Registry, RequestContext, WatchOptions, WatchSink, WriteOptions, Written,
} from '../../../src/control-plane/apiserver/registry-api.js';

const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resource(group: string, kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceInfo> = {}): ResourceInfo {
  return {
    group, version: 'v1', kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), namespaced,
    shortNames: [], categories: [], subresources: [], verbs: ALL_VERBS, ...extra,
  };
}

/** FAKE_RESOURCES are the resources the fake serves. */
export const FAKE_RESOURCES: readonly ResourceInfo[] = [
  resource('', 'Pod', 'pods', true, { shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec'] satisfies Subresource[] }),
  resource('', 'Namespace', 'namespaces', false, { shortNames: ['ns'], subresources: ['status'] }),
  resource('', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  resource('', 'Secret', 'secrets', true),
  resource('', 'Node', 'nodes', false, { shortNames: ['no'], subresources: ['status'] }),
  resource('', 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  resource('apps', 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  resource('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, { verbs: ['create'] }),
];

/** Call is one recorded registry call. */
export interface Call {
  readonly verb: string;
  readonly resource: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly opts?: unknown;
  readonly patchType?: PatchType;
  readonly subresource?: string | undefined;
  readonly body?: unknown;
}

interface Watcher {
  readonly res: ResourceInfo;
  readonly opts: WatchOptions;
  readonly sink: WatchSink;
}

function notFound(res: ResourceInfo, name: string): ApiError {
  return { code: 404, reason: 'NotFound', message: `${res.plural} "${name}" not found`, details: { name, kind: res.plural, group: res.group } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function matchesLabels(o: KubeObject, selector: string | undefined): boolean {
  if (selector === undefined) return true;
  const labels = o.metadata.labels ?? {};
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && labels[k] === v;
  });
}

function matchesFields(o: KubeObject, selector: string | undefined): boolean {
  if (selector === undefined) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    if (k === 'metadata.name') return o.metadata.name === v;
    if (k === 'metadata.namespace') return o.metadata.namespace === v;
    return true;
  });
}

/** FakeRegistry is the map-backed Registry; `calls` records every call, `failNext` injects failures. */
export class FakeRegistry implements Registry {
  readonly calls: Call[] = [];
  readonly #objects = new Map<string, KubeObject>();
  readonly #watchers = new Set<Watcher>();
  #rv = 100;
  /** disposed counts disposed watches. */
  disposed = 0;
  /** warnings are returned with every successful write. */
  warnings: readonly string[] = [];
  /** throwOn makes the verb throw (a bug in the registry) instead of answering. */
  throwOn: string | undefined;

  resources(): readonly ResourceInfo[] {
    return FAKE_RESOURCES;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  #key(res: ResourceInfo, ns: string | undefined, name: string): string {
    return `${res.group}/${res.plural}/${res.namespaced ? (ns ?? '') : ''}/${name}`;
  }

  #check(verb: string): void {
    if (this.throwOn === verb) throw new Error(`Injected failure in ${verb}`);
  }

  #emit(res: ResourceInfo, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubeObject): void {
    for (const w of this.#watchers) {
      if (w.res !== res) continue;
      if (w.opts.namespace !== undefined && o.metadata.namespace !== w.opts.namespace) continue;
      if (!matchesLabels(o, w.opts.labelSelector) || !matchesFields(o, w.opts.fieldSelector)) continue;
      w.sink.event({ type, object: structuredClone(o) });
    }
  }

  /** seed stores an object directly (no watch events), stamping metadata as create would. */
  seed(res: ResourceInfo, o: Omit<KubeObject, 'apiVersion' | 'kind'> & Partial<KubeObject>): KubeObject {
    const full: KubeObject = {
      ...o,
      apiVersion: apiVersionOf(res),
      kind: res.kind,
      metadata: { uid: randomUUID(), creationTimestamp: new Date().toISOString(), ...o.metadata, resourceVersion: String(++this.#rv) },
    };
    this.#objects.set(this.#key(res, full.metadata.namespace, full.metadata.name ?? ''), full);
    return full;
  }

  async get(_ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): Promise<Result<KubeObject, ApiError>> {
    this.#check('get');
    this.calls.push({ verb: 'get', resource: res.plural, namespace, name, subresource });
    const o = this.#objects.get(this.#key(res, namespace, name));
    return o === undefined ? err(notFound(res, name)) : ok(structuredClone(o));
  }

  async list(_ctx: RequestContext, res: ResourceInfo, opts: ListOptions): Promise<Result<KubeList, ApiError>> {
    this.#check('list');
    this.calls.push({ verb: 'list', resource: res.plural, opts });
    const items = [...this.#objects.entries()]
      .filter(([k]) => k.startsWith(`${res.group}/${res.plural}/`))
      .map(([, o]) => o)
      .filter((o) => opts.namespace === undefined || o.metadata.namespace === opts.namespace)
      .filter((o) => matchesLabels(o, opts.labelSelector) && matchesFields(o, opts.fieldSelector))
      .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`));
    return ok({ apiVersion: apiVersionOf(res), kind: res.listKind, metadata: { resourceVersion: String(this.#rv) }, items: structuredClone(items) });
  }

  async watch(_ctx: RequestContext, res: ResourceInfo, opts: WatchOptions, sink: WatchSink): Promise<Result<Disposable, ApiError>> {
    this.#check('watch');
    this.calls.push({ verb: 'watch', resource: res.plural, opts });
    if (opts.resourceVersion === '1') {
      return err({ code: 410, reason: 'Expired', message: 'too old resource version: 1; list again and watch from the list' });
    }
    if (opts.resourceVersion === '2') {
      // An expired version discovered after the stream started: an ERROR event, then the end.
      queueMicrotask(() => {
        sink.event({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', message: 'too old resource version: 2', code: 410 } });
        sink.closed(null);
      });
    }
    const w: Watcher = { res, opts, sink };
    this.#watchers.add(w);
    if (opts.sendInitialEvents === true) {
      const list = await this.list(_ctx, res, opts);
      if (list.ok) for (const o of list.value.items) sink.event({ type: 'ADDED', object: o });
    }
    return ok({
      dispose: () => {
        if (this.#watchers.delete(w)) this.disposed++;
      },
    });
  }

  async create(_ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions, sub?: { readonly subresource: 'binding'; readonly name: string }): Promise<Result<Written, ApiError>> {
    this.#check('create');
    this.calls.push({ verb: 'create', resource: res.plural, namespace, opts, body, subresource: sub?.subresource, name: sub?.name });
    if (!isRecord(body) || !isRecord(body['metadata'])) {
      return err({ code: 422, reason: 'Invalid', message: `${res.kind} is invalid: metadata: Required value`, details: { kind: res.kind, causes: [{ type: 'FieldValueRequired', field: 'metadata', message: 'Required value' }] } });
    }
    if (sub !== undefined) {
      const pod = this.#objects.get(this.#key(res, namespace, sub.name));
      if (pod === undefined) return err(notFound(res, sub.name));
      const node = typeof body['target'] === 'object' && body['target'] !== null ? (body['target'] as { name?: unknown }).name : undefined;
      const bound: KubeObject = { ...pod, spec: { ...(pod['spec'] as object), nodeName: node }, metadata: { ...pod.metadata, resourceVersion: String(++this.#rv) } };
      this.#objects.set(this.#key(res, namespace, sub.name), bound);
      this.#emit(res, 'MODIFIED', bound);
      return ok({ object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, warnings: [], created: true });
    }
    if (res.plural === 'selfsubjectaccessreviews') {
      return ok({ object: { ...(body as KubeObject), status: { allowed: true } }, warnings: [], created: true });
    }
    const meta = body['metadata'] as KubeObject['metadata'];
    const name = meta.name ?? (meta.generateName !== undefined ? `${meta.generateName}${randomUUID().slice(0, 5)}` : undefined);
    if (name === undefined || name === '') {
      return err({ code: 422, reason: 'Invalid', message: `${res.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, details: { kind: res.kind, causes: [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }] } });
    }
    const ns = res.namespaced ? (namespace ?? meta.namespace ?? 'default') : undefined;
    const key = this.#key(res, ns, name);
    if (this.#objects.has(key)) {
      return err({ code: 409, reason: 'AlreadyExists', message: `${res.plural} "${name}" already exists`, details: { name, kind: res.plural, group: res.group } });
    }
    const stored: KubeObject = {
      ...(body as KubeObject),
      apiVersion: apiVersionOf(res),
      kind: res.kind,
      metadata: { ...meta, name, ...(ns !== undefined ? { namespace: ns } : {}), uid: randomUUID(), creationTimestamp: new Date().toISOString(), resourceVersion: String(++this.#rv) },
    };
    if (opts.dryRun !== true) {
      this.#objects.set(key, stored);
      this.#emit(res, 'ADDED', stored);
    }
    return ok({ object: structuredClone(stored), warnings: this.warnings, created: true });
  }

  async update(_ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
    this.#check('update');
    this.calls.push({ verb: 'update', resource: res.plural, namespace, name, opts, body, subresource });
    const key = this.#key(res, namespace, name);
    const old = this.#objects.get(key);
    if (old === undefined) return err(notFound(res, name));
    if (!isRecord(body) || !isRecord(body['metadata'])) return err({ code: 400, reason: 'BadRequest', message: 'The body must be an object with metadata' });
    const rv = (body['metadata'] as { resourceVersion?: unknown }).resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) {
      return err({ code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on ${res.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again` });
    }
    const stored: KubeObject = { ...(body as KubeObject), metadata: { ...old.metadata, ...(body['metadata'] as object), resourceVersion: String(++this.#rv) } };
    this.#objects.set(key, stored);
    this.#emit(res, 'MODIFIED', stored);
    return ok({ object: structuredClone(stored), warnings: this.warnings, created: false });
  }

  async patch(_ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
    this.#check('patch');
    this.calls.push({ verb: 'patch', resource: res.plural, namespace, name, opts, patchType: type, body: patch, subresource });
    const key = this.#key(res, namespace, name);
    const old = this.#objects.get(key);
    if (old === undefined) return err(notFound(res, name));
    let next: KubeObject;
    if (type === 'json') {
      try {
        next = fastJsonPatch.applyPatch(structuredClone(old), patch as fastJsonPatch.Operation[], true).newDocument;
      } catch (e: unknown) {
        return err({ code: 422, reason: 'Invalid', message: `The JSON patch does not apply: ${e instanceof Error ? e.message : String(e)}` });
      }
    } else {
      next = mergePatch(old, patch) as KubeObject;
    }
    next = { ...next, metadata: { ...next.metadata, resourceVersion: String(++this.#rv) } };
    this.#objects.set(key, next);
    this.#emit(res, 'MODIFIED', next);
    return ok({ object: structuredClone(next), warnings: this.warnings, created: false });
  }

  async delete(_ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<Result<Deleted, ApiError>> {
    this.#check('delete');
    this.calls.push({ verb: 'delete', resource: res.plural, namespace, name, opts });
    const key = this.#key(res, namespace, name);
    const old = this.#objects.get(key);
    if (old === undefined) return err(notFound(res, name));
    if (opts.dryRun === true) return ok({ object: old, gone: true });
    this.#objects.delete(key);
    this.#emit(res, 'DELETED', old);
    return ok({ object: structuredClone(old), gone: true });
  }

  async deleteCollection(ctx: RequestContext, res: ResourceInfo, opts: ListOptions, del: DeleteOptions): Promise<Result<KubeList, ApiError>> {
    this.#check('deletecollection');
    this.calls.push({ verb: 'deletecollection', resource: res.plural, opts: { list: opts, del } });
    const list = await this.list(ctx, res, opts);
    if (!list.ok) return list;
    for (const o of list.value.items) {
      this.#objects.delete(this.#key(res, o.metadata.namespace, o.metadata.name ?? ''));
      this.#emit(res, 'DELETED', o);
    }
    return list;
  }
}
