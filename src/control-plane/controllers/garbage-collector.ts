/**
 * garbage-collector: the ownerReferences graph and its three propagation policies, as
 * Kubernetes' garbage collector.
 * - Background: an object all of whose owners are gone is deleted. "Gone" is checked by uid,
 *   with a live GET when the cache does not show the owner, so a stale cache never deletes a
 *   dependent of a live owner; owners that are gone while others live are dropped from its
 *   ownerReferences.
 * - Orphan: an object being deleted with the 'orphan' finalizer has its ownerReference removed
 *   from every dependent (listed live, not from the caches), then the finalizer removed (and the
 *   registry completes the delete).
 * - Foreground: an object being deleted with 'foregroundDeletion' has its dependents deleted
 *   (blockOwnerDeletion ones first); once no blocking dependent is left, the finalizer goes.
 * The graph is the union of the OWNER_UID_INDEX of informers on every kind that has owners
 * here: Deployments own ReplicaSets, ReplicaSets own Pods, and any other reference found on
 * the kinds in GC_RESOURCES.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { resourceByKind } from '../api/resources.js';
import type { KubeObject, ResourceInfo } from '../api/types.js';
import type { ResourceDescriptor } from '../client/api-client.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { Reconciled } from '../client/work-queue.js';
import type { Controller, ControllerContext } from './controller.js';
import { isGone, QueueLoop } from './controller.js';
import { OWNER_UID_INDEX, ownerUids } from './objects.js';

/** ORPHAN_FINALIZER makes the collector orphan an object's dependents before it goes. */
export const ORPHAN_FINALIZER = 'orphan';
/** FOREGROUND_FINALIZER makes the collector delete an object's dependents before it goes. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** GC_RESOURCES are the kinds the collector follows, as owners and as dependents. */
export const GC_RESOURCES: readonly (readonly [group: string, plural: string])[] = [
  ['apps', 'deployments'],
  ['apps', 'replicasets'],
  ['', 'pods'],
  ['', 'services'],
  ['', 'endpoints'],
  ['discovery.k8s.io', 'endpointslices'],
  ['', 'configmaps'],
  ['', 'secrets'],
  ['', 'serviceaccounts'],
];

type OwnerState = 'present' | 'absent' | 'unknown';

function resKey(res: ResourceDescriptor): string {
  return `${res.group}/${res.plural}`;
}

/** gcKey is the collector's queue key of an object: '<group>/<plural>:<namespace>/<name>'. */
export function gcKey(res: ResourceDescriptor, obj: KubeObject): string {
  return `${resKey(res)}:${keyOf(obj)}`;
}

/** GarbageCollector is the garbage collector controller. */
export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  readonly #ctx: ControllerContext;
  readonly #loop: QueueLoop;
  /** informers: '<group>/<plural>' → the resource and its informer. */
  readonly #informers = new Map<string, { readonly res: ResourceInfo; readonly inf: Informer }>();

  constructor(ctx: ControllerContext, resources: readonly ResourceInfo[]) {
    this.#ctx = ctx;
    this.#loop = new QueueLoop(this.name, ctx);
    for (const res of resources) {
      const inf = ctx.informers.informerFor(res, { [OWNER_UID_INDEX]: ownerUids });
      this.#informers.set(resKey(res), { res, inf });
      const q = this.#loop.queue;
      this.#loop.watch(inf, {
        onAdd: (obj) => this.#changed(res, obj),
        onUpdate: (_old, obj) => this.#changed(res, obj),
        onDelete: (obj) => {
          // Its dependents may now be orphans; owners waiting in foreground may now be free.
          for (const d of this.#dependents(obj.metadata.uid ?? '')) q.add(gcKey(d.res, d.obj));
          this.#enqueueOwners(obj);
        },
      });
    }
  }

  #changed(res: ResourceInfo, obj: KubeObject): void {
    const m = obj.metadata;
    if ((m.ownerReferences ?? []).length > 0 || (m.deletionTimestamp !== undefined && (m.finalizers ?? []).some((f) => f === ORPHAN_FINALIZER || f === FOREGROUND_FINALIZER))) {
      this.#loop.queue.add(gcKey(res, obj));
    }
    this.#enqueueOwners(obj);
  }

  #enqueueOwners(obj: KubeObject): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const res = resourceByKind(ref.apiVersion, ref.kind);
      if (res === undefined || !this.#informers.has(resKey(res))) continue;
      const ns = res.namespaced ? obj.metadata.namespace : undefined;
      this.#loop.queue.add(`${resKey(res)}:${ns === undefined ? '' : `${ns}/`}${ref.name}`);
    }
  }

  #dependents(uid: string): { readonly res: ResourceInfo; readonly obj: KubeObject }[] {
    if (uid === '') return [];
    const out: { res: ResourceInfo; obj: KubeObject }[] = [];
    for (const { res, inf } of this.#informers.values()) for (const obj of inf.byIndex(OWNER_UID_INDEX, uid)) out.push({ res, obj });
    return out;
  }

  /** reconcile handles one object: its owners' absence, or its orphan/foreground deletion. */
  async reconcile(key: string): Promise<Reconciled> {
    const colon = key.indexOf(':');
    const entry = this.#informers.get(key.slice(0, colon));
    if (colon < 0 || entry === undefined) return 'done';
    const obj = entry.inf.get(key.slice(colon + 1));
    if (obj === undefined) return 'done';
    const m = obj.metadata;
    if (m.deletionTimestamp !== undefined) {
      const fins = m.finalizers ?? [];
      if (fins.includes(ORPHAN_FINALIZER)) return this.#orphanDependents(entry.res, obj);
      if (fins.includes(FOREGROUND_FINALIZER)) return this.#deleteDependents(entry.res, obj);
      return 'done';
    }
    return this.#checkOwners(entry.res, obj);
  }

  async #ownerState(ref: OwnerReference, namespace: string | undefined): Promise<OwnerState | 'retry'> {
    const res = resourceByKind(ref.apiVersion, ref.kind);
    // A kind this cluster does not serve: leave the reference alone rather than guess.
    if (res === undefined) return 'unknown';
    const ns = res.namespaced ? namespace : undefined;
    const cached = this.#informers.get(resKey(res))?.inf.get(ns === undefined ? ref.name : `${ns}/${ref.name}`);
    if (cached?.metadata.uid === ref.uid) return 'present';
    // NB: the cache may lag (an owner created a moment ago); only the apiserver can say it is gone.
    const live = await this.#ctx.client.get(res, { ...(ns === undefined ? {} : { namespace: ns }), name: ref.name });
    if (live.ok) return live.value.metadata.uid === ref.uid ? 'present' : 'absent';
    return isGone(live.error) ? 'absent' : 'retry';
  }

  async #checkOwners(res: ResourceInfo, obj: KubeObject): Promise<Reconciled> {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return 'done';
    const absent = new Set<string>();
    for (const ref of refs) {
      const s = await this.#ownerState(ref, obj.metadata.namespace);
      if (s === 'retry') return 'retry';
      if (s === 'absent') absent.add(ref.uid);
    }
    if (absent.size === 0) return 'done';
    const ns = obj.metadata.namespace;
    const key = { ...(ns === undefined ? {} : { namespace: ns }), name: obj.metadata.name ?? '' };
    if (absent.size === refs.length) {
      // Every owner is gone: the object goes too (its own dependents follow in the background).
      const d = await this.#ctx.client.delete(res, key, { preconditions: { uid: obj.metadata.uid ?? '' }, propagationPolicy: 'Background' });
      if (d.ok || isGone(d.error) || d.error.code === 409) return 'done';
      return 'retry';
    }
    // Some owners live: only the references to the dead ones go.
    return this.#patchOwners(res, obj, refs.filter((r) => !absent.has(r.uid)));
  }

  async #patchOwners(res: ResourceInfo, obj: KubeObject, keep: readonly OwnerReference[]): Promise<Reconciled> {
    const ns = obj.metadata.namespace;
    const key = { ...(ns === undefined ? {} : { namespace: ns }), name: obj.metadata.name ?? '' };
    // The resourceVersion pins the patch to what we looked at: a concurrent change means look again.
    const patch = { metadata: { resourceVersion: obj.metadata.resourceVersion, uid: obj.metadata.uid, ownerReferences: keep.length === 0 ? null : keep } };
    const r = await this.#ctx.client.patch(res, key, { type: 'merge', patch });
    if (r.ok || isGone(r.error)) return 'done';
    return 'retry';
  }

  async #removeFinalizer(res: ResourceInfo, obj: KubeObject, finalizer: string): Promise<Reconciled> {
    const ns = obj.metadata.namespace;
    const key = { ...(ns === undefined ? {} : { namespace: ns }), name: obj.metadata.name ?? '' };
    const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    const r = await this.#ctx.client.patch(res, key, { type: 'merge', patch: { metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: rest.length === 0 ? null : rest } } });
    if (r.ok || isGone(r.error)) return 'done';
    return 'retry';
  }

  /**
   * liveDependents lists `uid`'s dependents from the apiserver (a quorum list of each kind in the
   * owner's namespace), not from the caches: a dependent created a moment before its owner's
   * orphaning delete may not be in an informer yet, and orphaning without it would let the
   * owner go while it still names the owner — then it would be collected as an orphan.
   */
  async #liveDependents(uid: string, namespace: string | undefined): Promise<{ readonly res: ResourceInfo; readonly obj: KubeObject }[] | 'retry'> {
    const out: { res: ResourceInfo; obj: KubeObject }[] = [];
    for (const { res } of this.#informers.values()) {
      const r = await this.#ctx.client.list(res, res.namespaced && namespace !== undefined ? { namespace } : {});
      if (!r.ok) return 'retry';
      for (const obj of r.value.items) if ((obj.metadata.ownerReferences ?? []).some((o) => o.uid === uid)) out.push({ res, obj });
    }
    return out;
  }

  async #orphanDependents(res: ResourceInfo, obj: KubeObject): Promise<Reconciled> {
    const uid = obj.metadata.uid ?? '';
    const deps = await this.#liveDependents(uid, obj.metadata.namespace);
    if (deps === 'retry') return 'retry';
    let failed = false;
    for (const d of deps) {
      const keep = (d.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      if ((await this.#patchOwners(d.res, d.obj, keep)) !== 'done') failed = true;
    }
    if (failed) return 'retry';
    return this.#removeFinalizer(res, obj, ORPHAN_FINALIZER);
  }

  async #deleteDependents(res: ResourceInfo, obj: KubeObject): Promise<Reconciled> {
    const uid = obj.metadata.uid ?? '';
    const blocks = (d: KubeObject): boolean => (d.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion === true);
    const deps = this.#dependents(uid).sort((a, b) => Number(blocks(b.obj)) - Number(blocks(a.obj)));
    let failed = false;
    for (const d of deps) {
      if (d.obj.metadata.deletionTimestamp !== undefined) continue;
      const ns = d.obj.metadata.namespace;
      // A dependent with dependents of its own goes in the foreground too, so the wait is transitive.
      const policy = this.#dependents(d.obj.metadata.uid ?? '').length > 0 ? 'Foreground' : 'Background';
      const r = await this.#ctx.client.delete(d.res, { ...(ns === undefined ? {} : { namespace: ns }), name: d.obj.metadata.name ?? '' }, { preconditions: { uid: d.obj.metadata.uid ?? '' }, propagationPolicy: policy });
      if (!r.ok && !isGone(r.error) && r.error.code !== 409) failed = true;
    }
    if (failed) return 'retry';
    // Wait for the blocking dependents to disappear; their deletion events bring us back here.
    if (deps.some((d) => blocks(d.obj))) return 'done';
    return this.#removeFinalizer(res, obj, FOREGROUND_FINALIZER);
  }

  /** run processes the queue. */
  run(workers: number): Promise<void> {
    return this.#loop.run(workers, (k) => this.reconcile(k));
  }

  /** stop stops the queue and unregisters the handlers. */
  stop(): void {
    this.#loop.stop();
  }
}

/** gcResources resolves GC_RESOURCES against the resource table. */
export function gcResources(all: readonly ResourceInfo[]): ResourceInfo[] {
  return GC_RESOURCES.map(([g, p]) => all.find((r) => r.group === g && r.plural === p)).filter((r): r is ResourceInfo => r !== undefined);
}
