/**
 * node-lifecycle: the node lifecycle controller. A node whose Lease in kube-node-lease (or whose
 * Ready condition's heartbeat) has not moved within the grace period — measured on this
 * controller's own clock from when it last saw a renewal, so masters' clocks need not agree —
 * gets Ready=Unknown and the node.kubernetes.io/unreachable NoExecute taint; a node that reports
 * Ready=False gets node.kubernetes.io/not-ready. Both taints go when the node is Ready again.
 * The pods of an unreachable node are marked not ready, so Services and Deployments stop
 * counting on them.
 * Pods on a node with a NoExecute taint are evicted (deleted): at once when they tolerate it for
 * 0 s, after tolerationSeconds when they say so, never when they tolerate it without a limit,
 * and after the pod eviction timeout when they do not mention it (what Kubernetes'
 * DefaultTolerationSeconds admission would have added).
 */
import type { Node as K8sNode, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { LeaseObject } from '../client/leader-election.js';
import { LEASES } from '../client/leader-election.js';
import type { Reconciled } from '../client/work-queue.js';
import type { Controller, ControllerContext } from './controller.js';
import { isGone, QueueLoop } from './controller.js';
import type { EventSink } from './events.js';
import type { Pod } from './objects.js';
import { NODES, objectKey, PODS, rfc3339 } from './objects.js';

/** Node is a core/v1 Node as the controller reads it. */
export type Node = KubeObject & { spec?: K8sNode['spec']; status?: K8sNode['status'] };

/** UNREACHABLE_TAINT is the taint of a node that stopped renewing its Lease. */
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
/** NOT_READY_TAINT is the taint of a node that reports Ready=False. */
export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
/** NODE_LEASE_NAMESPACE holds the nodes' heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** NODE_NAME_INDEX indexes pods by spec.nodeName. */
const NODE_NAME_INDEX = 'nodeName';

/** NodeLifecycleOptions tune the controller. */
export interface NodeLifecycleOptions {
  /** gracePeriodMs: how long a node may go without a heartbeat (default 40 s). */
  readonly gracePeriodMs?: number;
  /** podEvictionTimeoutMs: tolerationSeconds for pods that do not tolerate the taint (default 300 s). */
  readonly podEvictionTimeoutMs?: number;
}

interface Heartbeat {
  readonly seen: string;
  readonly at: number;
}

/** tolerates finds a pod's toleration of a taint, if any (Kubernetes' ToleratesTaint). */
export function toleration(pod: Pod, taint: Taint): Toleration | undefined {
  return (pod.spec?.tolerations ?? []).find((t) => {
    if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

/** NodeLifecycleController is the node lifecycle controller. */
export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  readonly #ctx: ControllerContext;
  readonly #loop: QueueLoop;
  readonly #events: EventSink;
  readonly #graceMs: number;
  readonly #evictMs: number;
  readonly #nodes: Informer<Node>;
  readonly #leases: Informer<LeaseObject>;
  readonly #pods: Informer<Pod>;
  readonly #heartbeats = new Map<string, Heartbeat>();

  constructor(ctx: ControllerContext, o: NodeLifecycleOptions = {}) {
    this.#ctx = ctx;
    this.#loop = new QueueLoop(this.name, ctx);
    this.#events = ctx.events('node-controller');
    this.#graceMs = o.gracePeriodMs ?? 40_000;
    this.#evictMs = o.podEvictionTimeoutMs ?? 300_000;
    this.#nodes = ctx.informers.informerFor<Node>(NODES);
    this.#leases = ctx.informers.informerFor<LeaseObject>(LEASES);
    this.#pods = ctx.informers.informerFor<Pod>(PODS, { [NODE_NAME_INDEX]: (p: Pod) => (p.spec?.nodeName === undefined || p.spec.nodeName === '' ? [] : [p.spec.nodeName]) });
    const q = this.#loop.queue;
    this.#loop.watch(this.#nodes, {
      onAdd: (n) => q.add(keyOf(n)),
      onUpdate: (_o, n) => q.add(keyOf(n)),
      onDelete: (n) => this.#heartbeats.delete(keyOf(n)),
    });
    this.#loop.watch(this.#leases, {
      onAdd: (l) => {
        if (l.metadata.namespace === NODE_LEASE_NAMESPACE) q.add(l.metadata.name ?? '');
      },
      onUpdate: (_o, l) => {
        if (l.metadata.namespace === NODE_LEASE_NAMESPACE) q.add(l.metadata.name ?? '');
      },
    });
    this.#loop.watch(this.#pods, {
      onAdd: (p) => {
        if (p.spec?.nodeName !== undefined && p.spec.nodeName !== '') q.add(p.spec.nodeName);
      },
    });
  }

  #heartbeat(node: Node): string {
    const lease = this.#leases.get(`${NODE_LEASE_NAMESPACE}/${node.metadata.name ?? ''}`);
    const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
    return `${lease?.spec?.renewTime ?? ''}|${ready?.lastHeartbeatTime ?? ''}`;
  }

  /** reconcile checks one node's health, taints or untaints it, and evicts pods that must go. */
  async reconcile(key: string): Promise<Reconciled> {
    const node = this.#nodes.get(key);
    if (node === undefined) {
      this.#heartbeats.delete(key);
      return 'done';
    }
    const now = this.#ctx.clock.now();
    const beat = this.#heartbeat(node);
    let hb = this.#heartbeats.get(key);
    if (hb?.seen !== beat) this.#heartbeats.set(key, (hb = { seen: beat, at: now }));
    const silentFor = now - hb.at;
    const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
    const unreachable = silentFor > this.#graceMs;
    const notReady = !unreachable && ready?.status === 'False';
    let cur = node;
    if (unreachable && ready?.status !== 'Unknown') {
      const u = await this.#markUnknown(cur);
      if (u === null) return 'retry';
      cur = u;
      await this.#events.event(node, 'Normal', 'NodeNotReady', `Node ${key} status is now: NodeNotReady`);
    }
    // Pods on a node nobody hears from are not ready, whatever they last said (MarkPodsNotReady).
    if (unreachable && !(await this.#markPodsNotReady(key))) return 'retry';
    const want = unreachable ? UNREACHABLE_TAINT : notReady ? NOT_READY_TAINT : null;
    const t = await this.#taint(cur, want);
    if (t === null) return 'retry';
    const evict = await this.#evict(t);
    if (evict === 'retry') return 'retry';
    const nextCheck = unreachable ? null : this.#graceMs - silentFor + 1;
    const waits = [nextCheck, evict].filter((x): x is number => x !== null);
    return waits.length === 0 ? 'done' : { requeueAfter: Math.max(1, Math.min(...waits)) };
  }

  async #markUnknown(node: Node): Promise<Node | null> {
    const stamp = rfc3339(this.#ctx.now());
    const next = structuredClone(node);
    const conds = next.status?.conditions ?? [];
    const ready = { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: conds.find((c) => c.type === 'Ready')?.lastHeartbeatTime ?? stamp, lastTransitionTime: stamp };
    next.status = { ...next.status, conditions: [...conds.filter((c) => c.type !== 'Ready'), ready] };
    const r = await this.#ctx.client.updateStatus<Node>(NODES, next);
    return r.ok ? r.value : null;
  }

  async #markPodsNotReady(node: string): Promise<boolean> {
    let ok = true;
    for (const pod of this.#pods.byIndex(NODE_NAME_INDEX, node)) {
      const conds = pod.status?.conditions ?? [];
      if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const stamp = rfc3339(this.#ctx.now());
      const next = structuredClone(pod);
      next.status = { ...next.status, conditions: conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'NodeNotReady', lastTransitionTime: stamp } : c)) };
      const r = await this.#ctx.client.updateStatus<Pod>(PODS, next);
      if (!r.ok && !isGone(r.error) && r.error.code !== 409) ok = false;
    }
    return ok;
  }

  /** taint makes the node carry exactly `want` of the two lifecycle NoExecute taints. */
  async #taint(node: Node, want: string | null): Promise<Node | null> {
    const taints = node.spec?.taints ?? [];
    const ours = (t: Taint): boolean => t.effect === 'NoExecute' && (t.key === UNREACHABLE_TAINT || t.key === NOT_READY_TAINT);
    const keep = taints.filter((t) => !ours(t) || t.key === want);
    const next = want === null || keep.some((t) => t.key === want && t.effect === 'NoExecute') ? keep : [...keep, { key: want, effect: 'NoExecute', timeAdded: rfc3339(this.#ctx.now()) }];
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return node;
    const copy = structuredClone(node);
    copy.spec = { ...copy.spec, taints: next };
    if (next.length === 0) delete copy.spec.taints;
    const r = await this.#ctx.client.update<Node>(NODES, copy);
    if (r.ok) await this.#events.event(node, 'Normal', want === null ? 'TaintRemoved' : 'TaintAdded', want === null ? 'Removed lifecycle NoExecute taints' : `Added taint ${want}:NoExecute`);
    return r.ok ? r.value : null;
  }

  /** evict deletes the node's pods whose time is up; returns ms until the next one, null if none, or 'retry'. */
  async #evict(node: Node): Promise<number | null | 'retry'> {
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (taints.length === 0) return null;
    const now = this.#ctx.now().getTime();
    let next: number | null = null;
    let failed = false;
    for (const pod of this.#pods.byIndex(NODE_NAME_INDEX, node.metadata.name ?? '')) {
      if (pod.metadata.deletionTimestamp !== undefined) continue;
      let due: number | null = null;
      for (const taint of taints) {
        const added = Date.parse(taint.timeAdded ?? '') || now;
        const tol = toleration(pod, taint);
        // A taint the pod does not mention: the default toleration of the pod eviction timeout.
        const seconds = tol === undefined ? this.#evictMs / 1000 : tol.tolerationSeconds;
        if (seconds === undefined) continue;
        const at = added + Math.max(0, seconds) * 1000;
        due = due === null ? at : Math.min(due, at);
      }
      if (due === null) continue;
      if (due > now) {
        next = next === null ? due - now : Math.min(next, due - now);
        continue;
      }
      const r = await this.#ctx.client.delete(PODS, objectKey(pod), { preconditions: { uid: pod.metadata.uid ?? '' } });
      if (r.ok) await this.#events.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${keyOf(pod)}`);
      else if (!isGone(r.error) && r.error.code !== 409) failed = true;
    }
    return failed ? 'retry' : next;
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
