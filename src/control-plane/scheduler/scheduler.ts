/**
 * scheduler: the scheduling loop. Informer events keep the cache and the queue current; the
 * loop pops a pod, runs one cycle (filters, scores), assumes the pod on the chosen node at once
 * and hands the binding to the binder, which writes pods/binding in the background — so the
 * next pod's cycle already sees this one's requests, and the loop never waits on the network
 * unless too many bindings are in flight. A pod that fits nowhere gets PodScheduled=False
 * (Unschedulable, with the per-reason node counts) and a FailedScheduling Event, and parks in
 * the queue until the cluster changes.
 */
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import type { Result } from '../api/types.js';
import type { ApiError } from '../apiserver/registry-api.js';
import type { KubeClient, ResourceDescriptor } from '../client/api-client.js';
import type { Clock, TimerHandle } from '../client/clock.js';
import type { InformerHandlers, ListWatcher } from '../client/informer.js';
import { SchedulerCache } from './cache.js';
import { EventRecorder } from './events.js';
import type { Profile, ScheduleOutcome } from './framework.js';
import { Algorithm } from './framework.js';
import type { QueuedPod } from './queue.js';
import { SchedulingQueue } from './queue.js';
import { DEFAULT_PROFILE } from './profile.js';
import type { NodeObject, PodObject } from './types.js';
import { DEFAULT_SCHEDULER, isTerminal, needsScheduling, podInfoOf } from './types.js';

/** PODS addresses the core/v1 pods resource. */
export const PODS: ResourceDescriptor = { group: '', version: 'v1', plural: 'pods', namespaced: true };
/** NODES addresses the core/v1 nodes resource. */
export const NODES: ResourceDescriptor = { group: '', version: 'v1', plural: 'nodes', namespaced: false };

/** SchedulerClient is what the scheduler needs of the apiserver: list/watch, bind, pod status, events, leases. */
export type SchedulerClient = Pick<KubeClient, 'get' | 'create' | 'update' | 'updateStatus' | 'patch' | 'bind'> & ListWatcher;

/** SchedulerLog is the logging the scheduler does (a pino Logger fits). */
export interface SchedulerLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

/** SchedulerStats count what the scheduler did. */
export interface SchedulerStats {
  /** scheduled counts pods assumed on a node (binding started). */
  scheduled: number;
  bound: number;
  unschedulable: number;
  bindFailures: number;
}

/** SchedulerOptions configure the scheduling core (runScheduler fills most of them in). */
export interface SchedulerOptions {
  readonly client: SchedulerClient;
  readonly clock: Clock;
  readonly wallClock?: () => Date;
  readonly log?: SchedulerLog;
  /** schedulerName: the pods this scheduler takes (default 'default-scheduler'). */
  readonly schedulerName?: string;
  readonly profile?: Profile;
  /** percentageOfNodesToScore: 0 (default) for kube-scheduler's adaptive share, 100 for every node. */
  readonly percentageOfNodesToScore?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxUnschedulableMs?: number;
  /** assumeTtlMs: how long a bound but unconfirmed assumption lasts (default 30 s). */
  readonly assumeTtlMs?: number;
  /** maxBindsInFlight: the loop waits while this many bindings are outstanding (default 256). */
  readonly maxBindsInFlight?: number;
  /** identity goes into Events' reportingInstance. */
  readonly identity?: string;
  /** onBound hears of each successful binding (benchmarks, tests). */
  readonly onBound?: (podKey: string, node: string) => void;
}

const silent: SchedulerLog = { info: () => undefined, warn: () => undefined };

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function nodeSchedulingChanged(a: NodeObject, b: NodeObject): boolean {
  const ready = (n: NodeObject): boolean => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return (
    ready(a) !== ready(b) ||
    (a.spec?.unschedulable === true) !== (b.spec?.unschedulable === true) ||
    JSON.stringify(a.status?.allocatable) !== JSON.stringify(b.status?.allocatable) ||
    JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels) ||
    JSON.stringify(a.spec?.taints) !== JSON.stringify(b.spec?.taints)
  );
}

/** Scheduler is the cache, the queue, the algorithm and the binder, fed by informer handlers. */
export class Scheduler {
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly events: EventRecorder;
  readonly stats: SchedulerStats = { scheduled: 0, bound: 0, unschedulable: 0, bindFailures: 0 };
  readonly #o: SchedulerOptions;
  readonly #name: string;
  readonly #log: SchedulerLog;
  readonly #algorithm: Algorithm;
  readonly #maxBinds: number;
  #writes = 0;
  #binds = 0;
  readonly #bindWaiters: (() => void)[] = [];
  readonly #idleWaiters: (() => void)[] = [];
  #cleanup: TimerHandle | null = null;
  #closed = false;

  constructor(o: SchedulerOptions) {
    this.#o = o;
    this.#name = o.schedulerName ?? DEFAULT_SCHEDULER;
    this.#log = o.log ?? silent;
    this.#maxBinds = o.maxBindsInFlight ?? 256;
    this.cache = new SchedulerCache(o.assumeTtlMs === undefined ? {} : { assumeTtlMs: o.assumeTtlMs });
    this.queue = new SchedulingQueue({
      clock: o.clock,
      ...(o.initialBackoffMs === undefined ? {} : { initialBackoffMs: o.initialBackoffMs }),
      ...(o.maxBackoffMs === undefined ? {} : { maxBackoffMs: o.maxBackoffMs }),
      ...(o.maxUnschedulableMs === undefined ? {} : { maxUnschedulableMs: o.maxUnschedulableMs }),
    });
    this.#algorithm = new Algorithm(o.profile ?? DEFAULT_PROFILE, this.cache, o.percentageOfNodesToScore === undefined ? {} : { percentageOfNodesToScore: o.percentageOfNodesToScore });
    this.events = new EventRecorder({
      client: o.client,
      ...(o.identity === undefined ? {} : { instance: o.identity }),
      ...(o.wallClock === undefined ? {} : { wallClock: o.wallClock }),
      onError: (e) => this.#log.warn({ code: e.code, reason: e.reason }, `writing an event failed: ${e.message}`),
    });
    this.#armCleanup();
  }

  #armCleanup(): void {
    if (this.#closed) return;
    this.#cleanup = this.#o.clock.setTimeout(() => {
      this.#cleanup = null;
      const gone = this.cache.cleanupExpired(this.#o.clock.now());
      if (gone.length > 0) {
        this.#log.warn({ pods: gone.length }, 'assumed pods expired without the informer confirming their binding');
        this.queue.moveAllToActiveOrBackoff();
      }
      this.#armCleanup();
    }, 1000);
  }

  /** podHandlers keep the cache (bound pods) and the queue (pending pods) current. */
  podHandlers(): InformerHandlers<PodObject> {
    return {
      onAdd: (p) => this.#podChanged(undefined, p),
      onUpdate: (old, p) => this.#podChanged(old, p),
      onDelete: (p) => {
        const key = `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`;
        const counted = this.cache.nodeOfPod(key) !== undefined;
        this.cache.removePod(p);
        this.queue.delete(key);
        // A pod leaving a node frees room (and anti-affinity domains) for parked pods.
        if (counted) this.queue.moveAllToActiveOrBackoff();
      },
    };
  }

  #podChanged(old: PodObject | undefined, p: PodObject): void {
    const key = `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`;
    if (needsScheduling(p, this.#name)) {
      // NB: an assumed pod is being bound; the informer has not seen the binding yet.
      if (!this.cache.isAssumed(key)) this.queue.add(podInfoOf(p));
      return;
    }
    this.queue.delete(key);
    this.cache.setPod(p);
    if (old !== undefined && !isTerminal(old) && isTerminal(p) && (old.spec?.nodeName ?? '') !== '') this.queue.moveAllToActiveOrBackoff();
  }

  /** nodeHandlers keep the cache's nodes current and give parked pods another try when nodes change. */
  nodeHandlers(): InformerHandlers<NodeObject> {
    return {
      onAdd: (n) => {
        this.cache.addNode(n);
        this.queue.moveAllToActiveOrBackoff();
      },
      onUpdate: (old, n) => {
        this.cache.addNode(n);
        if (nodeSchedulingChanged(old, n)) this.queue.moveAllToActiveOrBackoff();
      },
      onDelete: (n) => this.cache.removeNode(n.metadata.name ?? ''),
    };
  }

  /**
   * run schedules pods until `signal` aborts (leadership lost, or stop). Bindings already
   * started finish on their own; a pod popped when the signal aborts goes back untried.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.#closed) {
      const qp = await this.queue.pop(signal);
      if (qp === undefined) return;
      if (signal.aborted) {
        this.queue.putBack(qp);
        return;
      }
      this.scheduleOne(qp);
      if (this.#binds >= this.#maxBinds) await new Promise<void>((resolve) => this.#bindWaiters.push(resolve));
      // Let informer events and binding answers in between pods.
      await yieldTurn();
    }
  }

  /** scheduleNext runs one cycle on the next active pod without waiting; undefined when none is active (tests). */
  scheduleNext(): ScheduleOutcome | undefined {
    const qp = this.queue.tryPop();
    return qp === undefined ? undefined : this.scheduleOne(qp);
  }

  /** scheduleOne runs one scheduling cycle for a popped pod and starts its binding or reports it unschedulable. */
  scheduleOne(qp: QueuedPod): ScheduleOutcome | undefined {
    const info = qp.info;
    if (qp.deleted || this.cache.nodeOfPod(info.key) !== undefined) {
      this.queue.done(info.key);
      return undefined;
    }
    const out = this.#algorithm.schedule(info);
    if (out.ok) {
      this.cache.assumePod(info, out.node);
      this.queue.done(info.key);
      this.stats.scheduled++;
      void this.#bind(qp, out.node);
    } else {
      this.stats.unschedulable++;
      this.queue.unschedulable(qp);
      this.#log.info({ pod: info.key }, out.message);
      void this.#reportUnschedulable(info.pod, out.message);
    }
    return out;
  }

  #wrote(): void {
    if (this.#writes === 0 && this.#binds === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #bind(qp: QueuedPod, node: string): Promise<void> {
    const pod = qp.info.pod;
    const key = qp.info.key;
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    this.#binds++;
    const r = await this.#o.client.bind({ namespace, name }, node, pod.metadata.uid === undefined ? {} : { podUid: pod.metadata.uid });
    this.#binds--;
    if (this.#binds < this.#maxBinds) for (const w of this.#bindWaiters.splice(0)) w();
    if (r.ok) {
      this.cache.finishBinding(key, this.#o.clock.now());
      this.stats.bound++;
      this.events.record(pod, 'Normal', 'Scheduled', 'Binding', `Successfully assigned ${namespace}/${name} to ${node}`);
      this.#o.onBound?.(key, node);
    } else {
      this.stats.bindFailures++;
      this.cache.forgetPod(key);
      this.queue.moveAllToActiveOrBackoff();
      const e = r.error;
      if (e.code === 404 || (e.code === 409 && /already assigned|being deleted/.test(e.message))) {
        // Gone, bound by someone else, or going away: the informer will tell us; nothing to retry.
        this.#log.info({ pod: key, node, code: e.code }, `binding not needed any more: ${e.message}`);
      } else {
        this.#log.warn({ pod: key, node, code: e.code }, `binding failed: ${e.message}`);
        this.events.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', `Binding rejected: ${e.message}`);
        this.queue.retry(qp);
      }
    }
    this.#wrote();
  }

  async #reportUnschedulable(pod: PodObject, message: string): Promise<void> {
    this.events.record(pod, 'Warning', 'FailedScheduling', 'Scheduling', message);
    const cond = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (cond?.status === 'False' && cond.reason === 'Unschedulable' && cond.message === message) return;
    this.#writes++;
    try {
      let cur = pod;
      for (let attempt = 0; attempt < 3; attempt++) {
        const prev = cur.status?.conditions?.find((c) => c.type === 'PodScheduled');
        const now = (this.#o.wallClock?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const next: PodCondition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: prev?.status === 'False' && prev.lastTransitionTime !== undefined ? prev.lastTransitionTime : now };
        const conditions = [...(cur.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), next];
        const r: Result<PodObject, ApiError> = await this.#o.client.updateStatus<PodObject>(PODS, { ...cur, status: { ...cur.status, conditions } });
        if (r.ok || r.error.code === 404) return;
        if (r.error.code !== 409) {
          this.#log.warn({ pod: `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`, code: r.error.code }, `updating the PodScheduled condition failed: ${r.error.message}`);
          return;
        }
        // Someone else wrote the pod meanwhile: read it again, and give up if it got bound.
        const g = await this.#o.client.get<PodObject>(PODS, { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '' });
        if (!g.ok || (g.value.spec?.nodeName ?? '') !== '') return;
        cur = g.value;
      }
    } finally {
      this.#writes--;
      this.#wrote();
    }
  }

  /** bindsInFlight counts bindings being written. */
  get bindsInFlight(): number {
    return this.#binds;
  }

  /** idle resolves once no binding or status write is outstanding and every queued Event is written. */
  async idle(): Promise<void> {
    if (this.#writes > 0 || this.#binds > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.events.flush();
  }

  /** close stops the queue, the cleanup timer and the events not yet written; bindings in flight still finish. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#cleanup !== null) this.#o.clock.clearTimeout(this.#cleanup);
    this.#cleanup = null;
    this.queue.close();
    this.events.close();
    for (const w of this.#bindWaiters.splice(0)) w();
  }
}
