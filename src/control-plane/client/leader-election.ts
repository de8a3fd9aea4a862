/**
 * leader-election: one active scheduler and one active controller-manager per cluster, chosen
 * through coordination.k8s.io/v1 Lease objects as client-go's leaderelection does. A candidate
 * takes the lease when it is free or when its holder has not renewed it for a lease duration
 * (measured on the candidate's own clock from when it last saw the lease change, so clocks of
 * different masters need not agree); the leader renews every retry period and steps down when
 * no renewal succeeded within the renew deadline; a leader that shuts down releases the lease
 * so another takes over at once. Every write is conditional on the lease's resourceVersion:
 * losing that race means someone else won.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject, Result } from '../api/types.js';
import type { ApiError, WriteFence } from '../apiserver/registry-api.js';
import type { ObjectKey, ResourceDescriptor } from './api-client.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';

/** LeaseSpec is coordination.k8s.io/v1 LeaseSpec (times are MicroTime strings). */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** LeaseObject is a Lease as JSON. */
export interface LeaseObject extends KubeObject {
  spec?: LeaseSpec;
}

/** LEASES addresses the coordination.k8s.io/v1 leases resource. */
export const LEASES: ResourceDescriptor = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true };

/** SCHEDULER_LEASE is the lease the active scheduler holds. */
export const SCHEDULER_LEASE: ObjectKey = { namespace: 'kube-system', name: 'kube-scheduler' };

/** CONTROLLER_MANAGER_LEASE is the lease the active controller-manager holds. */
export const CONTROLLER_MANAGER_LEASE: ObjectKey = { namespace: 'kube-system', name: 'kube-controller-manager' };

/** LeaseStore is what an elector needs of the apiserver: read, create and CAS-update one Lease. */
export interface LeaseStore {
  get(key: ObjectKey): Promise<Result<LeaseObject, ApiError>>;
  create(lease: LeaseObject): Promise<Result<LeaseObject, ApiError>>;
  /** update replaces the lease if its metadata.resourceVersion is current (409 Conflict if not). */
  update(lease: LeaseObject): Promise<Result<LeaseObject, ApiError>>;
}

/** LeaseClient is the part of ApiClient a LeaseStore is built on. */
export interface LeaseClient {
  get<T>(res: ResourceDescriptor, key: ObjectKey): Promise<Result<T, ApiError>>;
  create<T>(res: ResourceDescriptor, obj: T & KubeObject): Promise<Result<T, ApiError>>;
  update<T>(res: ResourceDescriptor, obj: T & KubeObject): Promise<Result<T, ApiError>>;
}

/** leaseStoreOf serves a LeaseStore from an ApiClient. */
export function leaseStoreOf(client: LeaseClient): LeaseStore {
  return {
    get: (key) => client.get<LeaseObject>(LEASES, key),
    create: (lease) => client.create<LeaseObject>(LEASES, lease),
    update: (lease) => client.update<LeaseObject>(LEASES, lease),
  };
}

/** leaderIdentity makes a holder identity that begins with the master's name: 'm2_3f9a0c1b7e'. */
export function leaderIdentity(master: string): string {
  return `${master}_${randomBytes(5).toString('hex')}`;
}

/** microTime renders a time as a Kubernetes MicroTime: RFC 3339 with microseconds, in UTC. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Fence is the lease as the leader last wrote it, to make writes conditional on leadership. */
export interface Fence {
  readonly holderIdentity: string;
  readonly resourceVersion: string;
}

/** LeaderElectorOptions configure an elector; durations default to 6 s / 4 s / 1 s. */
export interface LeaderElectorOptions {
  readonly store: LeaseStore;
  readonly lease: ObjectKey;
  /** identity is this candidate's holderIdentity (see leaderIdentity). */
  readonly identity: string;
  /** leaseDurationMs: how long a lease that is not renewed keeps others out (default 6000). */
  readonly leaseDurationMs?: number;
  /** renewDeadlineMs: how long the leader keeps trying to renew before it steps down (default 4000). */
  readonly renewDeadlineMs?: number;
  /** retryPeriodMs: how often candidates try to acquire and the leader renews (default 1000). */
  readonly retryPeriodMs?: number;
  readonly clock?: Clock;
  /** wallClock gives the times written into the lease (default: the system time). */
  readonly wallClock?: () => Date;
  /** random in [0, 1) spreads candidates' retries (default Math.random). */
  readonly random?: () => number;
  /** onStartedLeading starts the work; `signal` aborts when leadership ends. */
  readonly onStartedLeading: (signal: AbortSignal) => void;
  /** onStoppedLeading is called when leadership ends (lost, or released on stop). */
  readonly onStoppedLeading?: () => void;
  /** onNewLeader is told whenever the observed holder changes ('' when the lease is free). */
  readonly onNewLeader?: (identity: string) => void;
}

type Attempt = 'held' | 'held-by-other' | 'failed';

/**
 * LeaderElector campaigns for one lease and runs `onStartedLeading` while it holds it. After
 * losing the lease it becomes a candidate again; `stop()` ends everything and releases the lease.
 */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #durationMs: number;
  readonly #deadlineMs: number;
  readonly #retryMs: number;
  #observed: LeaseObject | null = null;
  #observedAt = 0;
  #leading: AbortController | null = null;
  #tick: TimerHandle | null = null;
  #deadline: TimerHandle | null = null;
  #inflight: Promise<Attempt> | null = null;
  #started = false;
  #stopped = false;
  /** epoch invalidates a pending attempt's follow-up after a step-down or stop. */
  #epoch = 0;

  constructor(o: LeaderElectorOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#durationMs = o.leaseDurationMs ?? 6000;
    this.#deadlineMs = o.renewDeadlineMs ?? 4000;
    this.#retryMs = o.retryPeriodMs ?? 1000;
    if (!(this.#durationMs > this.#deadlineMs)) throw new Error(`The lease duration (${this.#durationMs} ms) must be longer than the renew deadline (${this.#deadlineMs} ms)`);
    if (!(this.#deadlineMs > this.#retryMs)) throw new Error(`The renew deadline (${this.#deadlineMs} ms) must be longer than the retry period (${this.#retryMs} ms)`);
    if (!(this.#retryMs > 0)) throw new Error('The retry period must be positive');
  }

  /** identity is this candidate's holderIdentity. */
  get identity(): string {
    return this.#o.identity;
  }

  /** start begins campaigning (the first attempt is immediate). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** isLeader says whether this elector holds the lease (as of its last renewal). */
  isLeader(): boolean {
    return this.#leading !== null;
  }

  /** leader is the holder this elector last saw ('' when free or unknown). */
  leader(): string {
    return this.#observed?.spec?.holderIdentity ?? '';
  }

  /** fence returns the lease's holder and resourceVersion as this leader last wrote them, or null when not leading. */
  fence(): Fence | null {
    if (this.#leading === null || this.#observed === null) return null;
    return { holderIdentity: this.#o.identity, resourceVersion: this.#observed.metadata.resourceVersion ?? '' };
  }

  /**
   * writeFence is the fence this leader's writes carry (see FencedClient): the lease, this
   * identity and the lease's transition count of this term; null when not leading. Renewals
   * leave it unchanged; only a change of hands (or a release) ends the term it names.
   */
  writeFence(): WriteFence | null {
    const spec = this.#observed?.spec;
    const namespace = this.#o.lease.namespace;
    if (this.#leading === null || spec?.holderIdentity !== this.#o.identity || namespace === undefined) return null;
    return { namespace, name: this.#o.lease.name, holderIdentity: this.#o.identity, leaseTransitions: spec.leaseTransitions ?? 0 };
  }

  /**
   * stillLeader re-reads the lease: true only while this elector leads and the lease still
   * names it. Call it right before a write that a deposed leader must not make.
   */
  async stillLeader(): Promise<boolean> {
    if (this.#leading === null) return false;
    const r = await this.#o.store.get(this.#o.lease);
    return r.ok && r.value.spec?.holderIdentity === this.#o.identity && this.#leading !== null;
  }

  /** stop stops campaigning; a leader steps down and releases the lease so another takes over at once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#epoch++;
    this.#cancelTimers();
    if (this.#leading !== null) this.#stepDown();
    // NB: an attempt in flight may still win the lease; wait for it so we release what it took.
    if (this.#inflight !== null) await this.#inflight;
    const cur = this.#observed;
    if (cur === null || cur.spec?.holderIdentity !== this.#o.identity) return;
    const mt = microTime(this.#now());
    const released: LeaseObject = { ...cur, spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: mt, renewTime: mt } };
    const r = await this.#o.store.update(released);
    if (r.ok) this.#observed = r.value;
  }

  #now(): Date {
    return this.#o.wallClock?.() ?? new Date();
  }

  #cancelTimers(): void {
    if (this.#tick !== null) this.#clock.clearTimeout(this.#tick);
    if (this.#deadline !== null) this.#clock.clearTimeout(this.#deadline);
    this.#tick = null;
    this.#deadline = null;
  }

  #schedule(ms: number): void {
    const epoch = this.#epoch;
    this.#tick = this.#clock.setTimeout(() => {
      this.#tick = null;
      if (epoch === this.#epoch && !this.#stopped) void this.#round(epoch);
    }, ms);
  }

  #armDeadline(): void {
    if (this.#deadline !== null) this.#clock.clearTimeout(this.#deadline);
    const epoch = this.#epoch;
    this.#deadline = this.#clock.setTimeout(() => {
      this.#deadline = null;
      // No renewal succeeded within the renew deadline: another candidate may take over once
      // the lease expires, so stop working now, before that can happen.
      if (epoch === this.#epoch && this.#leading !== null) this.#lose();
    }, this.#deadlineMs);
  }

  async #round(epoch: number): Promise<void> {
    const p = this.#attempt();
    this.#inflight = p;
    const outcome = await p;
    if (this.#inflight === p) this.#inflight = null;
    if (epoch !== this.#epoch || this.#stopped) return;
    if (outcome === 'held') {
      if (this.#leading === null) {
        const c = new AbortController();
        this.#leading = c;
        this.#armDeadline();
        this.#o.onStartedLeading(c.signal);
      } else {
        this.#armDeadline();
      }
      this.#schedule(this.#retryMs);
      return;
    }
    if (outcome === 'held-by-other' && this.#leading !== null) {
      // Someone else holds the lease (our renewals did not reach it in time): we lost.
      this.#lose();
      return;
    }
    const jitter = this.#leading === null ? (this.#o.random ?? Math.random)() * 1.2 * this.#retryMs : 0;
    this.#schedule(this.#retryMs + jitter);
  }

  #stepDown(): void {
    const c = this.#leading;
    if (c === null) return;
    this.#leading = null;
    if (this.#deadline !== null) this.#clock.clearTimeout(this.#deadline);
    this.#deadline = null;
    c.abort();
    this.#o.onStoppedLeading?.();
  }

  #lose(): void {
    this.#epoch++;
    this.#stepDown();
    if (!this.#stopped) this.#schedule(this.#retryMs);
  }

  #observe(lease: LeaseObject): void {
    const prev = this.#observed;
    if (prev?.metadata.resourceVersion !== lease.metadata.resourceVersion) this.#observedAt = this.#clock.now();
    this.#observed = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if ((prev?.spec?.holderIdentity ?? '') !== holder || prev === null) this.#o.onNewLeader?.(holder);
  }

  /** attempt is one try to acquire or renew the lease (client-go's tryAcquireOrRenew). */
  async #attempt(): Promise<Attempt> {
    const id = this.#o.identity;
    const seconds = Math.ceil(this.#durationMs / 1000);
    const mt = microTime(this.#now());
    const got = await this.#o.store.get(this.#o.lease);
    if (!got.ok) {
      if (got.error.code !== 404) return 'failed';
      const fresh: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#o.lease.name, ...(this.#o.lease.namespace === undefined ? {} : { namespace: this.#o.lease.namespace }) },
        spec: { holderIdentity: id, leaseDurationSeconds: seconds, acquireTime: mt, renewTime: mt, leaseTransitions: 0 },
      };
      const c = await this.#o.store.create(fresh);
      if (!c.ok) return 'failed';
      this.#observe(c.value);
      return 'held';
    }
    const cur = got.value;
    this.#observe(cur);
    const spec = cur.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
    if (holder !== '' && holder !== id && this.#observedAt + durationMs > this.#clock.now()) return 'held-by-other';
    const next: LeaseSpec =
      holder === id
        ? { ...spec, leaseDurationSeconds: seconds, renewTime: mt }
        : { holderIdentity: id, leaseDurationSeconds: seconds, acquireTime: mt, renewTime: mt, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    const u = await this.#o.store.update({ ...cur, spec: next });
    if (!u.ok) return 'failed';
    this.#observe(u.value);
    return 'held';
  }
}
