/**
 * deployment: the Deployment controller. It keeps one ReplicaSet per pod template (named
 * `<deployment>-<hash>`, labelled pod-template-hash) and moves pods from the old ReplicaSets to
 * the new one: RollingUpdate within maxSurge and maxUnavailable, or Recreate (old pods gone
 * before new ones start). It numbers revisions (deployment.kubernetes.io/revision; a template
 * that returns to an old ReplicaSet's, as `kubectl rollout undo` writes it, revives that
 * ReplicaSet under a new revision), prunes history beyond revisionHistoryLimit, honours
 * spec.paused, and writes the status and conditions (Available, Progressing with its deadline)
 * that `kubectl rollout status` reads.
 * A change of spec.replicas in the middle of a rollout is spread over the active ReplicaSets in
 * proportion to their size, as Kubernetes does.
 */
import type { DeploymentCondition } from 'kubernetes-types/apps/v1.js';
import type { Selector } from '../api/selectors/labels.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { Reconciled } from '../client/work-queue.js';
import type { Controller, ControllerContext } from './controller.js';
import { isGone, QueueLoop } from './controller.js';
import { condition, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, POD_TEMPLATE_HASH_LABEL, podTemplateHash, replicasOf, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, revisionOf, sameTemplate, setCondition, sumAvailableKept, sumPodsAtMost, sumReplicas, sumStatus, surgeAndUnavailable } from './deployment-util.js';
import type { EventSink } from './events.js';
import type { Deployment, Pod, ReplicaSet } from './objects.js';
import { byCreation, canonicalJson, controllerRef, DEPLOYMENTS, isTerminal, matches, objectKey, OWNER_UID_INDEX, ownerReferenceTo, ownerUids, PODS, REPLICASETS, rfc3339, selectorOf } from './objects.js';

/** Failed is thrown inside one sync when a write failed; reconcile turns it into a retry. */
class Failed extends Error {
  override readonly name = 'Failed';
}

type DStatus = NonNullable<Deployment['status']>;

/** DeploymentController is the Deployment controller. */
export class DeploymentController implements Controller {
  readonly name = 'deployment';
  readonly #ctx: ControllerContext;
  readonly #loop: QueueLoop;
  readonly #events: EventSink;
  readonly #deploys: Informer<Deployment>;
  readonly #rss: Informer<ReplicaSet>;
  readonly #pods: Informer<Pod>;

  constructor(ctx: ControllerContext) {
    this.#ctx = ctx;
    this.#loop = new QueueLoop(this.name, ctx);
    this.#events = ctx.events('deployment-controller');
    this.#deploys = ctx.informers.informerFor<Deployment>(DEPLOYMENTS);
    this.#rss = ctx.informers.informerFor<ReplicaSet>(REPLICASETS, { [OWNER_UID_INDEX]: ownerUids });
    this.#pods = ctx.informers.informerFor<Pod>(PODS, { [OWNER_UID_INDEX]: ownerUids });
    const q = this.#loop.queue;
    this.#loop.watch(this.#deploys, { onAdd: (d) => q.add(keyOf(d)), onUpdate: (_o, d) => q.add(keyOf(d)), onDelete: (d) => q.add(keyOf(d)) });
    const rsChanged = (rs: ReplicaSet): void => {
      const ref = controllerRef(rs);
      if (ref?.kind === 'Deployment') q.add(`${rs.metadata.namespace ?? ''}/${ref.name}`);
      else for (const d of this.#deploys.byIndex('namespace', rs.metadata.namespace ?? '')) if (this.#selects(d, rs)) q.add(keyOf(d));
    };
    this.#loop.watch(this.#rss, {
      onAdd: rsChanged,
      onUpdate: (old, rs) => {
        const was = controllerRef(old);
        if (was?.kind === 'Deployment' && was.uid !== controllerRef(rs)?.uid) q.add(`${old.metadata.namespace ?? ''}/${was.name}`);
        rsChanged(rs);
      },
      onDelete: rsChanged,
    });
    // A Recreate rollout waits for the old pods to be gone.
    this.#loop.watch(this.#pods, {
      onDelete: (pod) => {
        const ref = controllerRef(pod);
        const rs = ref?.kind === 'ReplicaSet' ? this.#rss.get(`${pod.metadata.namespace ?? ''}/${ref.name}`) : undefined;
        const owner = rs === undefined ? undefined : controllerRef(rs);
        if (owner?.kind === 'Deployment') q.add(`${pod.metadata.namespace ?? ''}/${owner.name}`);
      },
    });
  }

  #selects(d: Deployment, rs: ReplicaSet): boolean {
    const sel = selectorOf(d.spec?.selector);
    return sel.ok && matches(sel.value, rs);
  }

  /** reconcile converges one Deployment. */
  async reconcile(key: string): Promise<Reconciled> {
    const cached = this.#deploys.get(key);
    if (cached === undefined) return 'done';
    const sel = selectorOf(cached.spec?.selector);
    if (!sel.ok) {
      await this.#events.event(cached, 'Warning', 'SelectorParsingFailed', `Invalid selector: ${sel.error}`);
      return 'done';
    }
    try {
      const sync = new DeploymentSync(this.#ctx, this.#events, structuredClone(cached), await this.#claim(cached, sel.value), this.#pods);
      return await sync.run();
    } catch (e: unknown) {
      if (e instanceof Failed) return 'retry';
      throw e;
    }
  }

  async #claim(d: Deployment, sel: Selector): Promise<ReplicaSet[]> {
    const uid = d.metadata.uid ?? '';
    const deleting = d.metadata.deletionTimestamp !== undefined;
    const out: ReplicaSet[] = [];
    for (const rs of this.#rss.byIndex('namespace', d.metadata.namespace ?? '')) {
      const ref = controllerRef(rs);
      if (ref !== undefined) {
        if (ref.uid !== uid) continue;
        if (matches(sel, rs)) out.push(rs);
        else if (!deleting) await this.#patchOwners(rs, (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid));
        continue;
      }
      if (deleting || rs.metadata.deletionTimestamp !== undefined || !matches(sel, rs)) continue;
      const adopted = await this.#patchOwners(rs, [...(rs.metadata.ownerReferences ?? []), ownerReferenceTo(DEPLOYMENTS, d)]);
      if (adopted !== null) out.push(adopted);
    }
    return out;
  }

  async #patchOwners(rs: ReplicaSet, refs: NonNullable<ReplicaSet['metadata']['ownerReferences']>): Promise<ReplicaSet | null> {
    const patch = { metadata: { resourceVersion: rs.metadata.resourceVersion, uid: rs.metadata.uid, ownerReferences: refs.length === 0 ? null : refs } };
    const r = await this.#ctx.client.patch<ReplicaSet>(REPLICASETS, objectKey(rs), { type: 'merge', patch });
    return r.ok ? r.value : null;
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

/** DeploymentSync is one pass over one Deployment and its ReplicaSets. */
class DeploymentSync {
  readonly #ctx: ControllerContext;
  readonly #events: EventSink;
  readonly #pods: Informer<Pod>;
  #d: Deployment;
  #rss: ReplicaSet[];
  /** status is the status being built; written at the end if it changed. */
  #status: DStatus;
  readonly #before: DStatus;

  constructor(ctx: ControllerContext, events: EventSink, d: Deployment, rss: ReplicaSet[], pods: Informer<Pod>) {
    this.#ctx = ctx;
    this.#events = events;
    this.#d = d;
    this.#rss = rss;
    this.#pods = pods;
    this.#before = structuredClone(d.status ?? {});
    this.#status = structuredClone(d.status ?? {});
  }

  get #replicas(): number {
    return this.#d.spec?.replicas ?? 1;
  }

  #now(): string {
    return rfc3339(this.#ctx.now());
  }

  #cond(type: string, status: string, reason: string, message: string): DeploymentCondition {
    const t = this.#now();
    return { type, status, reason, message, lastUpdateTime: t, lastTransitionTime: t };
  }

  async run(): Promise<Reconciled> {
    if (this.#d.metadata.deletionTimestamp !== undefined) {
      const { newRS } = await this.#newReplicaSet(false);
      return this.#writeStatus(newRS, false);
    }
    this.#pausedCondition();
    if (this.#d.spec?.paused === true || this.#isScalingEvent()) return this.#syncScale();
    if (this.#d.spec?.strategy?.type === 'Recreate') return this.#rolloutRecreate();
    return this.#rolloutRolling();
  }

  #pausedCondition(): void {
    const p = condition({ status: this.#status }, 'Progressing');
    const paused = this.#d.spec?.paused === true;
    if (paused && p?.reason !== 'DeploymentPaused') this.#setCond(this.#cond('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused'));
    else if (!paused && p?.reason === 'DeploymentPaused') this.#setCond(this.#cond('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed'));
  }

  #setCond(c: DeploymentCondition): void {
    this.#status = { ...this.#status, conditions: setCondition(this.#status.conditions ?? [], c) };
  }

  #olds(newRS: ReplicaSet | null): ReplicaSet[] {
    return this.#rss.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid).sort(byCreation);
  }

  #replace(rs: ReplicaSet): ReplicaSet {
    this.#rss = [...this.#rss.filter((x) => x.metadata.uid !== rs.metadata.uid), rs];
    return rs;
  }

  /**
   * annotationsFor is a ReplicaSet's annotations with the revision set (when given) and, when
   * `sized`, the desired and max replica counts of the Deployment as it is now (written only
   * when the ReplicaSet is created or scaled: proportional scaling reads the old ones).
   */
  #annotationsFor(rs: ReplicaSet, revision: number | null, sized = true): Record<string, string> {
    const { maxSurge } = surgeAndUnavailable(this.#d);
    const a: Record<string, string> = { ...(rs.metadata.annotations ?? {}) };
    if (sized) {
      a[DESIRED_REPLICAS_ANNOTATION] = String(this.#replicas);
      a[MAX_REPLICAS_ANNOTATION] = String(this.#replicas + maxSurge);
    }
    if (revision !== null) {
      const old = revisionOf(rs);
      if (old > 0 && old !== revision) {
        const hist = (rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION] ?? '').split(',').filter((x) => x !== '');
        a[REVISION_HISTORY_ANNOTATION] = [...hist, String(old)].join(',');
      }
      a[REVISION_ANNOTATION] = String(revision);
    }
    return a;
  }

  /** newReplicaSet finds (and revises) the ReplicaSet of the current template, or creates it. */
  async #newReplicaSet(create: boolean): Promise<{ newRS: ReplicaSet | null; olds: ReplicaSet[] }> {
    const client = this.#ctx.client;
    const sorted = [...this.#rss].sort(byCreation);
    let existing = sorted.find((rs) => sameTemplate(rs, this.#d)) ?? null;
    const others = sorted.filter((rs) => rs !== existing);
    const revision = Math.max(0, ...others.map(revisionOf)) + 1;
    if (existing !== null) {
      const rev = revisionOf(existing) < revision ? revision : revisionOf(existing);
      const annotations = this.#annotationsFor(existing, rev, false);
      if (canonicalJson(annotations) !== canonicalJson(existing.metadata.annotations ?? {}) || (existing.spec?.minReadySeconds ?? 0) !== (this.#d.spec?.minReadySeconds ?? 0)) {
        const next = structuredClone(existing);
        next.metadata.annotations = annotations;
        if (next.spec !== undefined) next.spec.minReadySeconds = this.#d.spec?.minReadySeconds ?? 0;
        const u = await client.update<ReplicaSet>(REPLICASETS, next);
        if (!u.ok) throw new Failed(u.error.message);
        existing = this.#replace(u.value);
      }
      await this.#setDeploymentRevision(revisionOf(existing));
      if (condition({ status: this.#status }, 'Progressing') === undefined) this.#setCond(this.#cond('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${existing.metadata.name ?? ''}"`));
      return { newRS: existing, olds: this.#olds(existing) };
    }
    if (!create) return { newRS: null, olds: this.#olds(null) };
    const d = this.#d;
    const t = d.spec?.template ?? {};
    const hash = podTemplateHash(t, this.#status.collisionCount);
    const labels = { ...(t.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const replicas = this.#strategy() === 'Recreate' ? this.#replicas : this.#newReplicas(others, null);
    const name = `${d.metadata.name ?? ''}-${hash}`;
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: d.metadata.namespace ?? 'default', labels, annotations: {}, ownerReferences: [ownerReferenceTo(DEPLOYMENTS, d)] },
      spec: {
        replicas,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector: { ...d.spec?.selector, matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
        template: { ...structuredClone(t), metadata: { ...structuredClone(t.metadata ?? {}), labels } },
      },
    };
    rs.metadata.annotations = this.#annotationsFor(rs, revision);
    const c = await client.create<ReplicaSet>(REPLICASETS, rs);
    if (!c.ok) {
      if (c.error.code !== 409) throw new Failed(c.error.message);
      const live = await client.get<ReplicaSet>(REPLICASETS, objectKey(rs));
      if (live.ok && controllerRef(live.value)?.uid === d.metadata.uid && sameTemplate(live.value, d)) {
        // Ours, created by an earlier pass the cache has not shown yet.
        const got = this.#replace(live.value);
        return { newRS: got, olds: this.#olds(got) };
      }
      // A different object holds the name: hash again with a higher collision count.
      this.#status = { ...this.#status, collisionCount: (this.#status.collisionCount ?? 0) + 1 };
      await this.#putStatus();
      throw new Failed(`ReplicaSet ${name} exists and is not this Deployment's; collisionCount raised`);
    }
    const created = this.#replace(c.value);
    await this.#events.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${replicas}`);
    this.#setCond(this.#cond('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${name}"`));
    await this.#setDeploymentRevision(revision);
    return { newRS: created, olds: this.#olds(created) };
  }

  async #setDeploymentRevision(revision: number): Promise<void> {
    if (this.#d.metadata.annotations?.[REVISION_ANNOTATION] === String(revision)) return;
    const next = structuredClone(this.#d);
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION_ANNOTATION]: String(revision) };
    const u = await this.#ctx.client.update<Deployment>(DEPLOYMENTS, next);
    if (!u.ok) throw new Failed(u.error.message);
    this.#d = u.value;
  }

  #strategy(): 'Recreate' | 'RollingUpdate' {
    return this.#d.spec?.strategy?.type === 'Recreate' ? 'Recreate' : 'RollingUpdate';
  }

  /** newReplicas is how far the new ReplicaSet may grow now (Kubernetes' NewRSNewReplicas). */
  #newReplicas(all: readonly ReplicaSet[], newRS: ReplicaSet | null): number {
    const cur = newRS === null ? 0 : replicasOf(newRS);
    const { maxSurge } = surgeAndUnavailable(this.#d);
    const total = sumPodsAtMost(all);
    const maxTotal = this.#replicas + maxSurge;
    if (total >= maxTotal) return cur;
    return cur + Math.max(0, Math.min(maxTotal - total, this.#replicas - cur));
  }

  async #scale(rs: ReplicaSet, to: number): Promise<ReplicaSet> {
    const from = replicasOf(rs);
    const next = structuredClone(rs);
    next.spec = { ...next.spec, replicas: to } as NonNullable<ReplicaSet['spec']>;
    next.metadata.annotations = this.#annotationsFor(rs, null);
    if (from === to && canonicalJson(next.metadata.annotations) === canonicalJson(rs.metadata.annotations ?? {})) return rs;
    const u = await this.#ctx.client.update<ReplicaSet>(REPLICASETS, next);
    if (!u.ok) throw new Failed(u.error.message);
    if (from !== to) await this.#events.event(this.#d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name ?? ''} from ${from} to ${to}`);
    return this.#replace(u.value);
  }

  async #rolloutRolling(): Promise<Reconciled> {
    const { newRS, olds } = await this.#newReplicaSet(true);
    if (newRS === null) throw new Failed('No new ReplicaSet');
    // Grow the new ReplicaSet within the surge (or shrink it to replicas).
    const cur = replicasOf(newRS);
    const want = cur > this.#replicas ? this.#replicas : this.#newReplicas(this.#rss, newRS);
    if (want !== cur) {
      const scaled = await this.#scale(newRS, want);
      return this.#writeStatus(scaled, true);
    }
    if (await this.#scaleDownOld(olds, newRS)) return this.#writeStatus(this.#current(newRS), true);
    if (this.#complete(newRS)) await this.#cleanup();
    return this.#writeStatus(newRS, true);
  }

  #current(rs: ReplicaSet): ReplicaSet {
    return this.#rss.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
  }

  /** scaleDownOld shrinks old ReplicaSets as far as maxUnavailable allows (unhealthy pods first). */
  async #scaleDownOld(olds: readonly ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    if (sumReplicas(olds) === 0) return false;
    const { maxUnavailable } = surgeAndUnavailable(this.#d);
    const minAvailable = this.#replicas - maxUnavailable;
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = sumReplicas(this.#rss) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    let cleaned = 0;
    for (const old of olds) {
      if (cleaned >= maxScaledDown) break;
      const rs = this.#current(old);
      const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      if (replicasOf(rs) === 0 || unhealthy <= 0) continue;
      const n = Math.min(maxScaledDown - cleaned, unhealthy);
      await this.#scale(rs, replicasOf(rs) - n);
      cleaned += n;
    }
    const available = sumAvailableKept(this.#rss);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const old of olds) {
        if (scaled >= total) break;
        const rs = this.#current(old);
        if (replicasOf(rs) === 0) continue;
        const n = Math.min(replicasOf(rs), total - scaled);
        await this.#scale(rs, replicasOf(rs) - n);
        scaled += n;
      }
    }
    return cleaned + scaled > 0;
  }

  async #rolloutRecreate(): Promise<Reconciled> {
    const first = await this.#newReplicaSet(false);
    let scaledDown = false;
    for (const rs of first.olds) {
      if (replicasOf(rs) === 0) continue;
      await this.#scale(rs, 0);
      scaledDown = true;
    }
    if (scaledDown) return this.#writeStatus(first.newRS, true);
    // The new pods start only once every old pod is gone.
    const oldUids = new Set(first.olds.map((rs) => rs.metadata.uid ?? ''));
    const oldRunning = sumStatus(first.olds, 'replicas') > 0 || [...oldUids].some((uid) => this.#pods.byIndex(OWNER_UID_INDEX, uid).some((p) => !isTerminal(p)));
    if (oldRunning) return this.#writeStatus(first.newRS, true);
    const newRS = first.newRS ?? (await this.#newReplicaSet(true)).newRS;
    if (newRS === null) throw new Failed('No new ReplicaSet');
    const scaled = replicasOf(newRS) === this.#replicas ? newRS : await this.#scale(newRS, this.#replicas);
    if (this.#complete(scaled)) await this.#cleanup();
    return this.#writeStatus(scaled, true);
  }

  /** isScalingEvent says whether spec.replicas changed since the active ReplicaSets were last sized. */
  #isScalingEvent(): boolean {
    return this.#rss.some((rs) => {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      return replicasOf(rs) > 0 && desired !== undefined && Number(desired) !== this.#replicas;
    });
  }

  /** syncScale resizes the ReplicaSets for a new spec.replicas (or while paused) without rolling. */
  async #syncScale(): Promise<Reconciled> {
    const { newRS, olds } = await this.#newReplicaSet(false);
    await this.#scaleProportionally(newRS, olds);
    if (this.#d.spec?.paused === true) await this.#cleanup();
    return this.#writeStatus(newRS === null ? null : this.#current(newRS), false);
  }

  /**
   * scaleProportionally is Kubernetes' scale(): one active ReplicaSet (or none: the newest)
   * takes the whole size; a saturated new ReplicaSet leaves the old ones at zero; otherwise, in a
   * rolling update, the change is spread over the active ReplicaSets in proportion to their size
   * (their max-replicas annotation), the leftover going to the largest.
   */
  async #scaleProportionally(newRS: ReplicaSet | null, olds: readonly ReplicaSet[]): Promise<void> {
    const n = this.#replicas;
    const active = [...(newRS === null ? [] : [newRS]), ...olds].map((rs) => this.#current(rs)).filter((rs) => replicasOf(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? [...olds].sort(byCreation).at(-1) ?? null;
      if (target !== null && replicasOf(target) !== n) await this.#scale(target, n);
      return;
    }
    if (newRS !== null && replicasOf(this.#current(newRS)) === n && (this.#current(newRS).status?.availableReplicas ?? 0) === n) {
      for (const old of olds) if (replicasOf(this.#current(old)) > 0) await this.#scale(this.#current(old), 0);
      return;
    }
    if (this.#strategy() !== 'RollingUpdate') return;
    const { maxSurge } = surgeAndUnavailable(this.#d);
    const allowed = n > 0 ? n + maxSurge : 0;
    const toAdd = allowed - sumReplicas(active);
    if (toAdd === 0) return;
    // Up: the biggest (then newest) first; down: the biggest (then oldest) first.
    const sorted = [...active].sort((a, b) => replicasOf(b) - replicasOf(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
    const sizes = new Map<ReplicaSet, number>();
    let added = 0;
    for (const rs of sorted) {
      const cur = replicasOf(rs);
      let proportion = 0;
      if (cur > 0 && toAdd !== added) {
        const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION] ?? this.#d.status?.replicas ?? 0);
        const fraction = n === 0 ? -cur : Math.round((cur * allowed) / (annotated > 0 ? annotated : allowed)) - cur;
        const left = toAdd - added;
        proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
      }
      sizes.set(rs, cur + proportion);
      added += proportion;
    }
    const first = sorted[0]!;
    sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + (toAdd - added)));
    for (const rs of sorted) await this.#scale(rs, Math.max(0, sizes.get(rs) ?? replicasOf(rs)));
  }

  #complete(newRS: ReplicaSet): boolean {
    const n = this.#replicas;
    const rs = this.#current(newRS);
    return (rs.status?.replicas ?? 0) === n && sumStatus(this.#rss, 'replicas') === n && sumStatus(this.#rss, 'availableReplicas') === n && replicasOf(rs) === n;
  }

  /** cleanup deletes the oldest idle ReplicaSets beyond revisionHistoryLimit. */
  async #cleanup(): Promise<void> {
    const limit = this.#d.spec?.revisionHistoryLimit ?? 10;
    const newest = Math.max(0, ...this.#rss.map(revisionOf));
    const idle = this.#rss.filter((rs) => revisionOf(rs) !== newest && replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && rs.metadata.deletionTimestamp === undefined).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      const r = await this.#ctx.client.delete(REPLICASETS, objectKey(rs), { preconditions: { uid: rs.metadata.uid ?? '' } });
      if (!r.ok && !isGone(r.error)) throw new Failed(r.error.message);
      this.#rss = this.#rss.filter((x) => x !== rs);
    }
  }

  /** writeStatus computes the status (and, in a rollout, the Progressing condition) and writes it if it changed. */
  async #writeStatus(newRS: ReplicaSet | null, rollout: boolean): Promise<Reconciled> {
    const d = this.#d;
    const n = this.#replicas;
    const all = this.#rss;
    const cur = newRS === null ? null : this.#current(newRS);
    const available = sumStatus(all, 'availableReplicas');
    const { maxUnavailable } = surgeAndUnavailable(d);
    const s: DStatus = {
      ...(d.metadata.generation === undefined ? {} : { observedGeneration: d.metadata.generation }),
      replicas: sumStatus(all, 'replicas'),
      updatedReplicas: cur?.status?.replicas ?? 0,
      readyReplicas: sumStatus(all, 'readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, n - available),
      ...(this.#status.collisionCount === undefined ? {} : { collisionCount: this.#status.collisionCount }),
      conditions: this.#status.conditions ?? [],
    };
    for (const k of ['readyReplicas', 'availableReplicas', 'unavailableReplicas', 'updatedReplicas', 'replicas'] as const) if (s[k] === 0) delete s[k];
    this.#status = s;
    if (available >= n - maxUnavailable) this.#setCond(this.#cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'));
    else this.#setCond(this.#cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'));
    let requeue: number | null = null;
    const deadline = d.spec?.progressDeadlineSeconds ?? 600;
    if (rollout && cur !== null && d.spec?.paused !== true) {
      const name = cur.metadata.name ?? '';
      const p = condition({ status: this.#status }, 'Progressing');
      const b = this.#before;
      const progressed = (s.updatedReplicas ?? 0) > (b.updatedReplicas ?? 0) || (s.replicas ?? 0) - (s.updatedReplicas ?? 0) < (b.replicas ?? 0) - (b.updatedReplicas ?? 0) || (s.readyReplicas ?? 0) > (b.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (b.availableReplicas ?? 0);
      if (this.#complete(cur)) {
        this.#setCond(this.#cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${name}" has successfully progressed.`));
      } else if (progressed) {
        // Progress moves lastUpdateTime even though status and reason stay the same.
        const c = this.#cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${name}" is progressing.`);
        const kept = p?.status === 'True' && p.lastTransitionTime !== undefined ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
        this.#status = { ...this.#status, conditions: [...(this.#status.conditions ?? []).filter((x) => x.type !== 'Progressing'), kept] };
        requeue = deadline * 1000;
      } else if (p !== undefined && p.reason !== 'NewReplicaSetAvailable') {
        const since = Date.parse(p.lastUpdateTime ?? p.lastTransitionTime ?? '') || this.#ctx.now().getTime();
        const left = since + deadline * 1000 - this.#ctx.now().getTime();
        if (p.reason === 'ProgressDeadlineExceeded' || left <= 0) this.#setCond(this.#cond('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${name}" has timed out progressing.`));
        else requeue = left + 1000;
      }
    }
    await this.#putStatus();
    return requeue === null ? 'done' : { requeueAfter: requeue };
  }

  async #putStatus(): Promise<void> {
    if (canonicalJson(this.#status) === canonicalJson(this.#d.status ?? {})) return;
    const r = await this.#ctx.client.updateStatus<Deployment>(DEPLOYMENTS, { ...this.#d, status: this.#status });
    if (!r.ok && !isGone(r.error)) throw new Failed(r.error.message);
    if (r.ok) this.#d = r.value;
  }
}
