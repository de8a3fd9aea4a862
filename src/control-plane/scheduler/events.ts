/**
 * events: core/v1 Events about pods, written off the scheduling path. Recording only queues;
 * a few workers write, so a slow apiserver never holds up scheduling, and at most `maxPending`
 * events wait (default 10,000; beyond that new ones are dropped and counted, as client-go's
 * broadcaster drops). Closing drops what still waits.
 * Repeats of one event (same pod, reason and message) are aggregated the Kubernetes way: the
 * first creates the Event, the later ones bump its count and lastTimestamp.
 */
import type { Result } from '../api/types.js';
import type { ApiError } from '../apiserver/registry-api.js';
import type { KubeClient, ResourceDescriptor } from '../client/api-client.js';
import { DEFAULT_SCHEDULER } from './types.js';
import type { PodObject } from './types.js';

/** EVENTS addresses the core/v1 events resource. */
export const EVENTS: ResourceDescriptor = { group: '', version: 'v1', plural: 'events', namespaced: true };

/** EventClient is the part of KubeClient the recorder writes through. */
export type EventClient = Pick<KubeClient, 'create' | 'patch'>;

/** EventRecorderOptions configure a recorder. */
export interface EventRecorderOptions {
  readonly client: EventClient;
  /** component is source.component and reportingComponent (default 'default-scheduler'). */
  readonly component?: string;
  /** instance is reportingInstance (the scheduler's identity). */
  readonly instance?: string;
  readonly wallClock?: () => Date;
  readonly maxPending?: number;
  readonly workers?: number;
  readonly onError?: (e: ApiError) => void;
}

interface Aggregate {
  readonly key: string;
  readonly namespace: string;
  name: string;
  count: number;
  last: string;
  /** state: 'creating' until the Event exists; 'idle' or 'patching' after. */
  state: 'creating' | 'idle' | 'patching';
  dirty: boolean;
}

type Job = { readonly kind: 'create'; readonly agg: Aggregate; readonly body: Record<string, unknown> } | { readonly kind: 'patch'; readonly agg: Aggregate };

const MAX_AGGREGATES = 4096;

/** EventRecorder queues and writes Events with Kubernetes-style aggregation. */
export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #component: string;
  readonly #aggregates = new Map<string, Aggregate>();
  readonly #jobs: Job[] = [];
  readonly #idleWaiters: (() => void)[] = [];
  #running = 0;
  #dropped = 0;
  #closed = false;
  #seq = 0;

  constructor(o: EventRecorderOptions) {
    this.#o = o;
    this.#component = o.component ?? DEFAULT_SCHEDULER;
  }

  /** dropped counts events dropped because too many were pending. */
  get dropped(): number {
    return this.#dropped;
  }

  /** record queues an event about a pod. */
  record(pod: PodObject, type: 'Normal' | 'Warning', reason: string, action: string, message: string): void {
    const namespace = pod.metadata.namespace ?? 'default';
    const podName = pod.metadata.name ?? '';
    const uid = pod.metadata.uid ?? '';
    const now = (this.#o.wallClock?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = `${namespace}/${podName}/${uid}/${reason}/${message}`;
    const agg = this.#aggregates.get(key);
    if (agg !== undefined) {
      agg.count++;
      agg.last = now;
      if (agg.state === 'idle') this.#enqueue({ kind: 'patch', agg });
      else agg.dirty = true;
      return;
    }
    if (this.#closed || this.#jobs.length >= (this.#o.maxPending ?? 10_000)) {
      this.#dropped++;
      return;
    }
    const nowMs = (this.#o.wallClock?.() ?? new Date()).getTime();
    const name = `${podName}.${(nowMs * 1000 + (this.#seq++ % 1000)).toString(16)}`;
    const fresh: Aggregate = { key, namespace, name, count: 1, last: now, state: 'creating', dirty: false };
    this.#aggregates.set(key, fresh);
    if (this.#aggregates.size > MAX_AGGREGATES) {
      const oldest = this.#aggregates.keys().next().value;
      if (oldest !== undefined) this.#aggregates.delete(oldest);
    }
    const body: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace, name: podName, uid, ...(pod.metadata.resourceVersion === undefined ? {} : { resourceVersion: pod.metadata.resourceVersion }) },
      reason,
      message,
      type,
      action,
      source: { component: this.#component },
      reportingComponent: this.#component,
      reportingInstance: this.#o.instance ?? this.#component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.#enqueue({ kind: 'create', agg: fresh, body });
  }

  #enqueue(job: Job): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    if (job.kind === 'patch') job.agg.state = 'patching';
    this.#jobs.push(job);
    this.#pump();
  }

  #pump(): void {
    const workers = this.#o.workers ?? 4;
    while (this.#running < workers && this.#jobs.length > 0) {
      const job = this.#jobs.shift()!;
      this.#running++;
      void this.#run(job).finally(() => {
        this.#running--;
        this.#pump();
        if (this.#running === 0 && this.#jobs.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
      });
    }
  }

  async #run(job: Job): Promise<void> {
    const agg = job.agg;
    let r: Result<unknown, ApiError>;
    if (job.kind === 'create') r = await this.#o.client.create(EVENTS, { ...job.body, apiVersion: 'v1', kind: 'Event', metadata: { name: agg.name, namespace: agg.namespace } });
    else r = await this.#o.client.patch(EVENTS, { namespace: agg.namespace, name: agg.name }, { type: 'merge', patch: { count: agg.count, lastTimestamp: agg.last } });
    if (!r.ok) {
      this.#o.onError?.(r.error);
      // An Event that was never created cannot be patched: the next repeat creates it afresh.
      if (job.kind === 'create' && this.#aggregates.get(agg.key) === agg) this.#aggregates.delete(agg.key);
    }
    agg.state = 'idle';
    if (agg.dirty) {
      agg.dirty = false;
      this.#enqueue({ kind: 'patch', agg });
    }
  }

  /** close drops the events still waiting (counted as dropped); writes in flight finish. */
  close(): void {
    this.#closed = true;
    this.#dropped += this.#jobs.length;
    this.#jobs.length = 0;
    if (this.#running === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** flush resolves once every queued event has been written (or failed). */
  flush(): Promise<void> {
    if (this.#running === 0 && this.#jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
