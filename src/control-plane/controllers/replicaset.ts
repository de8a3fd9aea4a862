/**
 * replicaset: the ReplicaSet controller. It keeps spec.replicas pods of the template running:
 * it adopts orphan pods its selector matches and releases owned pods that stop matching,
 * creates missing pods in slow-start batches (1, 2, 4, ...) and deletes surplus ones (the
 * least useful first: unscheduled, pending, not ready, then newer), with expectations so a
 * stale cache never makes it create or delete twice, and writes status (replicas,
 * fullyLabeledReplicas, readyReplicas, availableReplicas after minReadySeconds,
 * observedGeneration).
 */
import type { ApiError } from '../apiserver/registry-api.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { Reconciled } from '../client/work-queue.js';
import type { Selector } from '../api/selectors/labels.js';
import type { Controller, ControllerContext } from './controller.js';
import { isGone, QueueLoop } from './controller.js';
import type { EventSink } from './events.js';
import { Expectations } from './expectations.js';
import type { Pod, ReplicaSet } from './objects.js';
import { canonicalJson, controllerRef, creationMs, isActivePod, isPodAvailable, isPodReady, isUncertain, matches, objectKey, OWNER_UID_INDEX, ownerReferenceTo, ownerUids, PODS, readySince, REPLICASETS, rfc3339, selectorOf } from './objects.js';

/** BURST_REPLICAS caps the pods one reconcile creates or deletes (Kubernetes: 500). */
export const BURST_REPLICAS = 500;

/** ReplicaSetControllerOptions tune the controller. */
export interface ReplicaSetControllerOptions {
  readonly burstReplicas?: number;
  readonly expectationsTtlMs?: number;
}

type RsStatus = NonNullable<ReplicaSet['status']>;

/**
 * rankForDeletion orders pods so that the ones to delete first come first: unscheduled before
 * scheduled, Pending before Unknown before Running, not ready before ready, more recently
 * ready first, more restarts first, newer first (Kubernetes' ActivePods ordering).
 */
export function rankForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod): number => (p.spec?.nodeName === undefined || p.spec.nodeName === '' ? 0 : 1);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phase = (p: Pod): number => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase ?? 'Pending'] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: Pod): number => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const ra = readySince(a);
  const rb = readySince(b);
  if (ra !== null && rb !== null && ra !== rb) return rb - ra;
  const restarts = (p: Pod): number => (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  return creationMs(b) - creationMs(a) || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? '');
}

/** ReplicaSetController is the ReplicaSet controller. */
export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  readonly expectations: Expectations;
  readonly #ctx: ControllerContext;
  readonly #loop: QueueLoop;
  readonly #events: EventSink;
  readonly #burst: number;
  readonly #rss: Informer<ReplicaSet>;
  readonly #pods: Informer<Pod>;

  constructor(ctx: ControllerContext, o: ReplicaSetControllerOptions = {}) {
    this.#ctx = ctx;
    this.#loop = new QueueLoop(this.name, ctx);
    this.#events = ctx.events('replicaset-controller');
    this.#burst = o.burstReplicas ?? BURST_REPLICAS;
    this.expectations = new Expectations(ctx.clock, o.expectationsTtlMs);
    this.#rss = ctx.informers.informerFor<ReplicaSet>(REPLICASETS);
    this.#pods = ctx.informers.informerFor<Pod>(PODS, { [OWNER_UID_INDEX]: ownerUids });
    const q = this.#loop.queue;
    this.#loop.watch(this.#rss, {
      onAdd: (rs) => q.add(keyOf(rs)),
      onUpdate: (_old, rs) => q.add(keyOf(rs)),
      onDelete: (rs) => {
        this.expectations.forget(keyOf(rs));
        q.add(keyOf(rs));
      },
    });
    this.#loop.watch(this.#pods, {
      onAdd: (pod) => {
        const owner = this.#owner(pod);
        if (owner === null) {
          for (const k of this.#matchingRss(pod)) q.add(k);
          return;
        }
        if (pod.metadata.deletionTimestamp !== undefined) this.expectations.deletionObserved(owner, keyOf(pod));
        else this.expectations.creationObserved(owner);
        q.add(owner);
      },
      onUpdate: (old, pod) => {
        const was = this.#owner(old);
        const owner = this.#owner(pod);
        if (pod.metadata.deletionTimestamp !== undefined && old.metadata.deletionTimestamp === undefined && owner !== null) this.expectations.deletionObserved(owner, keyOf(pod));
        if (was !== null && was !== owner) q.add(was);
        if (owner !== null) q.add(owner);
        else for (const k of this.#matchingRss(pod)) q.add(k);
        // A pod that stopped matching may now be someone else's orphan to adopt.
        if (canonicalJson(old.metadata.labels ?? {}) !== canonicalJson(pod.metadata.labels ?? {}) && owner !== null) for (const k of this.#matchingRss(pod)) q.add(k);
      },
      onDelete: (pod) => {
        const owner = this.#owner(pod);
        if (owner === null) return;
        this.expectations.deletionObserved(owner, keyOf(pod));
        q.add(owner);
      },
    });
  }

  /** owner is the key of the ReplicaSet controlling the pod, or null. */
  #owner(pod: Pod): string | null {
    const ref = controllerRef(pod);
    if (ref?.kind !== 'ReplicaSet' || ref.apiVersion !== 'apps/v1') return null;
    return `${pod.metadata.namespace ?? ''}/${ref.name}`;
  }

  #matchingRss(pod: Pod): string[] {
    if (pod.metadata.deletionTimestamp !== undefined) return [];
    return this.#rss.byIndex('namespace', pod.metadata.namespace ?? '').flatMap((rs) => {
      const sel = selectorOf(rs.spec?.selector);
      return sel.ok && matches(sel.value, pod) ? [keyOf(rs)] : [];
    });
  }

  /** reconcile converges one ReplicaSet's pods and writes its status. */
  async reconcile(key: string): Promise<Reconciled> {
    const rs = this.#rss.get(key);
    if (rs === undefined) {
      this.expectations.forget(key);
      return 'done';
    }
    const sel = selectorOf(rs.spec?.selector);
    if (!sel.ok) {
      // An invalid spec cannot be fixed by retrying: say so once and wait for a change.
      await this.#events.event(rs, 'Warning', 'InvalidSelector', `Invalid selector: ${sel.error}`);
      return 'done';
    }
    const needsSync = this.expectations.satisfied(key) && rs.metadata.deletionTimestamp === undefined;
    const candidates = this.#pods.byIndex('namespace', rs.metadata.namespace ?? '').filter(isActivePod);
    const pods = await this.#claim(rs, sel.value, candidates);
    let failure: ApiError | null = null;
    if (needsSync) failure = await this.#manage(key, rs, pods);
    const st = await this.#writeStatus(rs, pods, failure);
    if (failure !== null || st === 'retry') return 'retry';
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const now = this.#ctx.now().getTime();
    // A ready pod becomes available minReadySeconds later: look again then.
    if (minReady > 0 && pods.some((p) => isPodReady(p) && !isPodAvailable(p, minReady, now))) return { requeueAfter: minReady * 1000 };
    return 'done';
  }

  /**
   * claim returns the pods the ReplicaSet controls after adopting matching orphans and
   * releasing owned pods that no longer match (Kubernetes' PodControllerRefManager).
   */
  async #claim(rs: ReplicaSet, sel: Selector, candidates: readonly Pod[]): Promise<Pod[]> {
    const uid = rs.metadata.uid ?? '';
    const deleting = rs.metadata.deletionTimestamp !== undefined;
    const out: Pod[] = [];
    let canAdopt: boolean | null = null;
    for (const pod of candidates) {
      const ref = controllerRef(pod);
      if (ref !== undefined) {
        if (ref.uid !== uid) continue;
        if (matches(sel, pod)) out.push(pod);
        else if (!deleting) await this.#patchOwners(pod, (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid));
        continue;
      }
      if (deleting || !matches(sel, pod)) continue;
      if (canAdopt === null) {
        // NB: the cache may show a ReplicaSet that was deleted (or recreated) meanwhile; adopting
        // for it would hand pods to a ghost. Check the live object once before the first adoption.
        const live = await this.#ctx.client.get<ReplicaSet>(REPLICASETS, objectKey(rs));
        canAdopt = live.ok && live.value.metadata.uid === uid && live.value.metadata.deletionTimestamp === undefined;
      }
      if (!canAdopt) continue;
      const adopted = await this.#patchOwners(pod, [...(pod.metadata.ownerReferences ?? []), ownerReferenceTo(REPLICASETS, rs)]);
      if (adopted !== null) out.push(adopted);
    }
    return out;
  }

  async #patchOwners(pod: Pod, refs: NonNullable<Pod['metadata']['ownerReferences']>): Promise<Pod | null> {
    const patch = { metadata: { resourceVersion: pod.metadata.resourceVersion, uid: pod.metadata.uid, ownerReferences: refs.length === 0 ? null : refs } };
    const r = await this.#ctx.client.patch<Pod>(PODS, objectKey(pod), { type: 'merge', patch });
    return r.ok ? r.value : null;
  }

  /** manage creates or deletes pods toward spec.replicas; returns the first failure, if any. */
  async #manage(key: string, rs: ReplicaSet, pods: readonly Pod[]): Promise<ApiError | null> {
    const want = rs.spec?.replicas ?? 1;
    const diff = pods.length - want;
    if (diff < 0) return this.#createPods(key, rs, Math.min(-diff, this.#burst));
    if (diff > 0) return this.#deletePods(key, rs, [...pods].sort(rankForDeletion).slice(0, Math.min(diff, this.#burst)));
    return null;
  }

  #podFor(rs: ReplicaSet): Pod {
    const t = rs.spec?.template;
    const labels = t?.metadata?.labels;
    const annotations = t?.metadata?.annotations;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name ?? ''}-`,
        namespace: rs.metadata.namespace ?? 'default',
        ...(labels === undefined ? {} : { labels: { ...labels } }),
        ...(annotations === undefined ? {} : { annotations: { ...annotations } }),
        ...(t?.metadata?.finalizers === undefined ? {} : { finalizers: [...t.metadata.finalizers] }),
        ownerReferences: [ownerReferenceTo(REPLICASETS, rs)],
      },
      spec: structuredClone(t?.spec ?? { containers: [] }),
    };
  }

  async #createPods(key: string, rs: ReplicaSet, n: number): Promise<ApiError | null> {
    this.expectations.expect(key, n);
    let remaining = n;
    let batch = 1;
    let failure: ApiError | null = null;
    // Slow start: a batch twice the size of the last, after the last fully succeeded, so a
    // template that cannot be created (quota, admission) fails once, not n times.
    while (remaining > 0) {
      const size = Math.min(batch, remaining);
      const results = await Promise.all(Array.from({ length: size }, () => this.#ctx.client.create<Pod>(PODS, this.#podFor(rs))));
      for (const r of results) {
        if (r.ok) {
          await this.#events.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name ?? ''}`);
          continue;
        }
        failure ??= r.error;
        // A create cut off mid-call may have happened: keep expecting its pod (until the TTL).
        if (!isUncertain(r.error)) this.expectations.creationObserved(key);
        await this.#events.event(rs, 'Warning', 'FailedCreate', `Error creating: ${r.error.message}`);
      }
      remaining -= size;
      if (failure !== null) {
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(key);
        break;
      }
      batch = size * 2;
    }
    return failure;
  }

  async #deletePods(key: string, rs: ReplicaSet, victims: readonly Pod[]): Promise<ApiError | null> {
    this.expectations.expect(key, 0, victims.map(keyOf));
    const results = await Promise.all(victims.map((p) => this.#ctx.client.delete(PODS, objectKey(p), { preconditions: { uid: p.metadata.uid ?? '' } })));
    let failure: ApiError | null = null;
    for (const [i, r] of results.entries()) {
      const pod = victims[i]!;
      if (r.ok) {
        await this.#events.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name ?? ''}`);
        continue;
      }
      this.expectations.deletionObserved(key, keyOf(pod));
      if (isGone(r.error)) continue;
      failure ??= r.error;
      await this.#events.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${r.error.message}`);
    }
    return failure;
  }

  #status(rs: ReplicaSet, pods: readonly Pod[], failure: ApiError | null): RsStatus {
    const now = this.#ctx.now().getTime();
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const tmpl = rs.spec?.template?.metadata?.labels ?? {};
    const fully = pods.filter((p) => Object.entries(tmpl).every(([k, v]) => p.metadata.labels?.[k] === v)).length;
    const ready = pods.filter(isPodReady).length;
    const available = pods.filter((p) => isPodAvailable(p, minReady, now)).length;
    const prev = rs.status?.conditions ?? [];
    let conditions = prev.filter((c) => c.type !== 'ReplicaFailure');
    if (failure !== null) {
      const was = prev.find((c) => c.type === 'ReplicaFailure');
      const reason = (rs.spec?.replicas ?? 1) > pods.length ? 'FailedCreate' : 'FailedDelete';
      conditions = [...conditions, { type: 'ReplicaFailure', status: 'True', reason, message: failure.message, lastTransitionTime: was?.lastTransitionTime ?? rfc3339(this.#ctx.now()) }];
    }
    return {
      replicas: pods.length,
      ...(fully === 0 ? {} : { fullyLabeledReplicas: fully }),
      ...(ready === 0 ? {} : { readyReplicas: ready }),
      ...(available === 0 ? {} : { availableReplicas: available }),
      ...(rs.metadata.generation === undefined ? {} : { observedGeneration: rs.metadata.generation }),
      ...(conditions.length === 0 ? {} : { conditions }),
    };
  }

  async #writeStatus(rs: ReplicaSet, pods: readonly Pod[], failure: ApiError | null): Promise<'done' | 'retry'> {
    const status = this.#status(rs, pods, failure);
    if (canonicalJson(status) === canonicalJson(rs.status ?? {})) return 'done';
    const next = structuredClone(rs);
    next.status = status;
    const r = await this.#ctx.client.updateStatus<ReplicaSet>(REPLICASETS, next);
    if (r.ok || isGone(r.error)) return 'done';
    if (r.error.code !== 409) return 'retry';
    // The cache was behind: write the same status over the newest object once.
    const live = await this.#ctx.client.get<ReplicaSet>(REPLICASETS, objectKey(rs));
    if (!live.ok) return isGone(live.error) ? 'done' : 'retry';
    const again = await this.#ctx.client.updateStatus<ReplicaSet>(REPLICASETS, { ...live.value, status });
    return again.ok || isGone(again.error) ? 'done' : 'retry';
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
