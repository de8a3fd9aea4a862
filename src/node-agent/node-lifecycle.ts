/**
 * node-lifecycle: one node's presence in the cluster, as the kubelet keeps it — register the
 * Node (or re-adopt the one a previous run registered), renew its Lease in kube-node-lease
 * every few seconds, and report its status (heartbeat times, Ready) at a slower pace. A Node
 * deleted behind its back is registered again. Every timer is the lifecycle's own; stop() ends them.
 */
import type { Result } from '../control-plane/api/types.js';
import type { ApiError } from '../control-plane/apiserver/registry-api.js';
import type { Clock, KubeClient, LeaseObject, TimerHandle } from '../control-plane/client/index.js';
import { LEASES, microTime, systemClock } from '../control-plane/client/index.js';
import type { NodeSettings } from './node.js';
import { newNode, nodeLabels, nodeStatus } from './node.js';
import type { NodeObject } from './types.js';
import { NODES } from './types.js';

/** NODE_LEASE_NAMESPACE holds each node's Lease, named after the node. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** NodeClient is the part of the client a node lifecycle uses. */
export type NodeClient = Pick<KubeClient, 'get' | 'create' | 'update' | 'updateStatus' | 'patch'>;

/** NodeLifecycleOptions configure one node's registration and heartbeats. */
export interface NodeLifecycleOptions {
  readonly client: NodeClient;
  readonly settings: NodeSettings;
  readonly clock?: Clock;
  /** wallClock gives the times written into objects (default: the system time). */
  readonly wallClock?: () => Date;
  /** leaseRenewMs: how often the Lease is renewed (default 10 s, a quarter of its duration). */
  readonly leaseRenewMs?: number;
  /** leaseDurationSeconds is written into the Lease (default 40). */
  readonly leaseDurationSeconds?: number;
  /** statusReportMs: how often the node status is reported when nothing changed (default 60 s). */
  readonly statusReportMs?: number;
  /** firstBeatMs delays the first renewal and report after registering (spreads many nodes; default 0). */
  readonly firstBeatMs?: number;
  /** retryMs: the wait after a failed registration or renewal (default 1 s). */
  readonly retryMs?: number;
  /** onError hears about failed calls (for logs). */
  readonly onError?: (what: string, e: ApiError) => void;
}

/** Registration says how a node came to be registered. */
export type Registration = 'registered' | 'adopted';

/**
 * NodeLifecycle registers one node and keeps its Lease and status fresh. `start()` resolves
 * once the node is registered (retrying until then) or the lifecycle was stopped.
 */
export class NodeLifecycle {
  readonly #o: NodeLifecycleOptions;
  readonly #clock: Clock;
  readonly #wall: () => Date;
  #node: NodeObject | null = null;
  #lease: LeaseObject | null = null;
  #leaseTimer: TimerHandle | null = null;
  #statusTimer: TimerHandle | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;
  #registration: Promise<Registration | null> | null = null;

  constructor(o: NodeLifecycleOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#wall = o.wallClock ?? (() => new Date());
  }

  /** name is the node's name. */
  get name(): string {
    return this.#o.settings.name;
  }

  /** node is the Node as last written or read (null before registration). */
  get node(): NodeObject | null {
    return this.#node;
  }

  /** lease is the Lease as last written (null before the first renewal). */
  get lease(): LeaseObject | null {
    return this.#lease;
  }

  /** start registers the node (retrying) and then begins heartbeats; null if stopped first. */
  start(): Promise<Registration | null> {
    this.#registration ??= this.#registerLoop().then((r) => {
      if (r !== null && !this.#stopped) {
        const first = this.#o.firstBeatMs ?? 0;
        this.#scheduleLease(first);
        this.#scheduleStatus(first + (this.#o.statusReportMs ?? 60_000));
      }
      return r;
    });
    return this.#registration;
  }

  /** stop ends the heartbeats; the Node and Lease stay (they expire as a dead node's would). */
  stop(): void {
    this.#stopped = true;
    if (this.#leaseTimer !== null) this.#clock.clearTimeout(this.#leaseTimer);
    if (this.#statusTimer !== null) this.#clock.clearTimeout(this.#statusTimer);
    this.#leaseTimer = null;
    this.#statusTimer = null;
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        resolve();
      };
      this.#leaseTimer = this.#clock.setTimeout(() => {
        this.#leaseTimer = null;
        this.#wake?.();
      }, ms);
    });
  }

  async #registerLoop(): Promise<Registration | null> {
    while (!this.#stopped) {
      const r = await this.register();
      if (r.ok) return r.value;
      this.#o.onError?.('register node', r.error);
      await this.#sleep(this.#o.retryMs ?? 1000);
    }
    return null;
  }

  /**
   * register creates the Node, or, when it exists (an earlier run of this agent), adopts it:
   * its status is reported afresh and missing kubelet labels are added; taints set by others stay.
   */
  async register(): Promise<Result<Registration, ApiError>> {
    const s = this.#o.settings;
    const created = await this.#o.client.create<NodeObject>(NODES, newNode(s, this.#wall()));
    if (created.ok) {
      this.#node = created.value;
      return { ok: true, value: 'registered' };
    }
    if (created.error.code !== 409) return created;
    const got = await this.#o.client.get<NodeObject>(NODES, { name: s.name });
    if (!got.ok) return got;
    let cur = got.value;
    const want = nodeLabels(s);
    const have = cur.metadata.labels ?? {};
    const missing = Object.entries(want).filter(([k, v]) => have[k] !== v);
    const notes = Object.entries(s.annotations ?? {}).filter(([k, v]) => cur.metadata.annotations?.[k] !== v);
    if (missing.length > 0 || notes.length > 0) {
      const meta = { ...(missing.length === 0 ? {} : { labels: Object.fromEntries(missing) }), ...(notes.length === 0 ? {} : { annotations: Object.fromEntries(notes) }) };
      const p = await this.#o.client.patch<NodeObject>(NODES, { name: s.name }, { type: 'merge', patch: { metadata: meta } });
      if (!p.ok) return p;
      cur = p.value;
    }
    const st = await this.#writeStatus(cur);
    if (!st.ok) return st;
    return { ok: true, value: 'adopted' };
  }

  async #writeStatus(cur: NodeObject): Promise<Result<NodeObject, ApiError>> {
    const body: NodeObject = { ...structuredClone(cur), status: nodeStatus(this.#o.settings, cur.status, this.#wall()) };
    const r = await this.#o.client.updateStatus<NodeObject>(NODES, body);
    if (r.ok) this.#node = r.value;
    return r;
  }

  /**
   * reportStatus writes the node status now (heartbeat times, conditions); on a conflict it reads
   * the Node and tries once more; a Node that vanished is registered again.
   */
  async reportStatus(): Promise<Result<void, ApiError>> {
    const name = this.#o.settings.name;
    let cur = this.#node;
    if (cur === null) {
      const got = await this.#o.client.get<NodeObject>(NODES, { name });
      if (!got.ok) return got.error.code === 404 ? this.#reregister() : got;
      cur = got.value;
    }
    let r = await this.#writeStatus(cur);
    if (!r.ok && r.error.code === 409) {
      const got = await this.#o.client.get<NodeObject>(NODES, { name });
      if (!got.ok) return got.error.code === 404 ? this.#reregister() : got;
      r = await this.#writeStatus(got.value);
    }
    if (!r.ok && r.error.code === 404) return this.#reregister();
    return r.ok ? { ok: true, value: undefined } : r;
  }

  async #reregister(): Promise<Result<void, ApiError>> {
    this.#node = null;
    const r = await this.register();
    return r.ok ? { ok: true, value: undefined } : r;
  }

  #leaseBody(base: LeaseObject | null): LeaseObject {
    const name = this.#o.settings.name;
    const now = microTime(this.#wall());
    const node = this.#node;
    const owner = node?.metadata.uid === undefined ? {} : { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }] };
    const meta = base === null ? { name, namespace: NODE_LEASE_NAMESPACE, ...owner } : structuredClone(base.metadata);
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta, spec: { ...(base?.spec ?? {}), holderIdentity: name, leaseDurationSeconds: this.#o.leaseDurationSeconds ?? 40, renewTime: now } };
  }

  /** renewLease writes renewTime now, creating the Lease if it is missing; CAS on its resourceVersion. */
  async renewLease(): Promise<Result<LeaseObject, ApiError>> {
    const c = this.#o.client;
    if (this.#lease !== null) {
      const u = await c.update<LeaseObject>(LEASES, this.#leaseBody(this.#lease));
      if (u.ok) return this.#keepLease(u.value);
      if (u.error.code !== 409 && u.error.code !== 404) return u;
    }
    const got = await c.get<LeaseObject>(LEASES, { namespace: NODE_LEASE_NAMESPACE, name: this.#o.settings.name });
    if (!got.ok && got.error.code !== 404) return got;
    if (!got.ok) {
      const created = await c.create<LeaseObject>(LEASES, this.#leaseBody(null));
      return created.ok ? this.#keepLease(created.value) : created;
    }
    const u = await c.update<LeaseObject>(LEASES, this.#leaseBody(got.value));
    return u.ok ? this.#keepLease(u.value) : u;
  }

  #keepLease(l: LeaseObject): Result<LeaseObject, ApiError> {
    this.#lease = l;
    return { ok: true, value: l };
  }

  #scheduleLease(ms: number): void {
    if (this.#stopped) return;
    this.#leaseTimer = this.#clock.setTimeout(() => {
      this.#leaseTimer = null;
      void this.renewLease().then((r) => {
        if (!r.ok) this.#o.onError?.('renew lease', r.error);
        this.#scheduleLease(r.ok ? this.#o.leaseRenewMs ?? 10_000 : Math.min(this.#o.retryMs ?? 1000, this.#o.leaseRenewMs ?? 10_000));
      });
    }, ms);
  }

  #scheduleStatus(ms: number): void {
    if (this.#stopped) return;
    this.#statusTimer = this.#clock.setTimeout(() => {
      this.#statusTimer = null;
      void this.reportStatus().then((r) => {
        if (!r.ok) this.#o.onError?.('report node status', r.error);
        this.#scheduleStatus(r.ok ? this.#o.statusReportMs ?? 60_000 : this.#o.retryMs ?? 1000);
      });
    }, ms);
  }
}
