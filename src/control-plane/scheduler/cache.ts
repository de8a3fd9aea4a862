/**
 * cache: the scheduler's picture of the cluster — one NodeInfo per node with the requests,
 * host ports and pods bound (or assumed) there, kept incrementally from the informers' events,
 * so a scheduling cycle never sums a node's pods again. A pod the scheduler has chosen a node
 * for is *assumed* there at once, before its binding is written, so the next pod sees its
 * requests; the assumption ends when the informer reports the pod bound (confirmed), when the
 * binding fails (forgotten), or a while after the binding succeeded without the informer ever
 * confirming it (expired: the pod was deleted meanwhile, say).
 */
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { HostPort, NodeObject, PodInfo, PodObject, Resources } from './types.js';
import { isTerminal, podInfoOf, resourcesOf } from './types.js';

/** NodeInfo is one node with what is bound or assumed on it; the cache owns and mutates it. */
export class NodeInfo {
  readonly name: string;
  /** node is null for a node the cache only knows from pods bound to it (deleted, or not yet seen). */
  node: NodeObject | null = null;
  allocatable: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  labels: Readonly<Record<string, string>> = {};
  taints: readonly Taint[] = [];
  ready = false;
  unschedulable = false;
  readonly requested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  readonly nonZeroRequested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  readonly pods = new Map<string, PodInfo>();
  readonly usedPorts: HostPort[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** setNode takes in a node object (its allocatable, labels, taints, readiness). */
  setNode(node: NodeObject): void {
    this.node = node;
    this.allocatable = resourcesOf(node.status?.allocatable ?? node.status?.capacity);
    this.labels = node.metadata.labels ?? {};
    this.taints = node.spec?.taints ?? [];
    this.unschedulable = node.spec?.unschedulable === true;
    this.ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  }

  /** addPod counts a pod on this node. */
  addPod(p: PodInfo): void {
    if (this.pods.has(p.key)) this.removePod(p.key);
    this.pods.set(p.key, p);
    this.requested.milliCPU += p.requests.milliCPU;
    this.requested.memory += p.requests.memory;
    this.requested.pods += 1;
    this.nonZeroRequested.milliCPU += p.nonZero.milliCPU;
    this.nonZeroRequested.memory += p.nonZero.memory;
    this.nonZeroRequested.pods += 1;
    for (const hp of p.hostPorts) this.usedPorts.push(hp);
  }

  /** removePod stops counting a pod; false if it was not here. */
  removePod(key: string): boolean {
    const p = this.pods.get(key);
    if (p === undefined) return false;
    this.pods.delete(key);
    this.requested.milliCPU -= p.requests.milliCPU;
    this.requested.memory -= p.requests.memory;
    this.requested.pods -= 1;
    this.nonZeroRequested.milliCPU -= p.nonZero.milliCPU;
    this.nonZeroRequested.memory -= p.nonZero.memory;
    this.nonZeroRequested.pods -= 1;
    for (const hp of p.hostPorts) {
      const i = this.usedPorts.indexOf(hp);
      if (i >= 0) this.usedPorts.splice(i, 1);
    }
    return true;
  }
}

interface PodState {
  info: PodInfo;
  node: string;
  assumed: boolean;
  /** expiresAt is when an assumed pod whose binding succeeded is dropped unless confirmed (null while binding). */
  expiresAt: number | null;
}

/** CacheStats count what the cache holds, for tests and logs. */
export interface CacheStats {
  readonly nodes: number;
  readonly pods: number;
  readonly assumed: number;
}

/**
 * SchedulerCache holds NodeInfos and the pods counted on them. Nodes come in a stable list so
 * the scheduler can walk them round-robin; pods with required anti-affinity terms are kept
 * apart, since every incoming pod must be checked against them.
 */
export class SchedulerCache {
  readonly #nodes = new Map<string, NodeInfo>();
  readonly #list: NodeInfo[] = [];
  readonly #listIndex = new Map<string, number>();
  readonly #pods = new Map<string, PodState>();
  readonly #withAntiAffinity = new Map<string, PodInfo>();
  readonly #assumeTtlMs: number;

  constructor(o: { readonly assumeTtlMs?: number } = {}) {
    this.#assumeTtlMs = o.assumeTtlMs ?? 30_000;
  }

  #info(name: string): NodeInfo {
    let n = this.#nodes.get(name);
    if (n === undefined) this.#nodes.set(name, (n = new NodeInfo(name)));
    return n;
  }

  /** addNode adds or updates a node. */
  addNode(node: NodeObject): void {
    const name = node.metadata.name ?? '';
    const n = this.#info(name);
    n.setNode(node);
    if (!this.#listIndex.has(name)) {
      this.#listIndex.set(name, this.#list.length);
      this.#list.push(n);
    }
  }

  /** removeNode removes a node; pods still counted on it keep a placeholder until they go. */
  removeNode(name: string): void {
    const n = this.#nodes.get(name);
    if (n === undefined) return;
    n.node = null;
    const i = this.#listIndex.get(name);
    if (i !== undefined) {
      // Swap-remove keeps the list dense; the round-robin start only needs some stable order.
      const last = this.#list.pop()!;
      if (last !== n) {
        this.#list[i] = last;
        this.#listIndex.set(last.name, i);
      }
      this.#listIndex.delete(name);
    }
    if (n.pods.size === 0) this.#nodes.delete(name);
  }

  /** nodeList is every node that exists, in the cache's stable order (read-only). */
  nodeList(): readonly NodeInfo[] {
    return this.#list;
  }

  /** node returns a node's info (including placeholders of deleted nodes). */
  node(name: string): NodeInfo | undefined {
    return this.#nodes.get(name);
  }

  /** antiAffinityPods are the counted pods that carry required anti-affinity terms, with their nodes. */
  antiAffinityPods(): Iterable<PodInfo> {
    return this.#withAntiAffinity.values();
  }

  /** nodeOfPod is the node a counted (bound or assumed) pod is on. */
  nodeOfPod(key: string): string | undefined {
    return this.#pods.get(key)?.node;
  }

  #count(info: PodInfo, node: string, assumed: boolean): void {
    this.#info(node).addPod(info);
    this.#pods.set(info.key, { info, node, assumed, expiresAt: null });
    if (info.antiAffinity.length > 0) this.#withAntiAffinity.set(info.key, info);
  }

  #uncount(key: string): void {
    const s = this.#pods.get(key);
    if (s === undefined) return;
    this.#pods.delete(key);
    this.#withAntiAffinity.delete(key);
    const n = this.#nodes.get(s.node);
    if (n === undefined) return;
    n.removePod(key);
    if (n.node === null && n.pods.size === 0) this.#nodes.delete(s.node);
  }

  /**
   * setPod takes a pod as the informer reports it: a bound, running pod is counted on its node
   * (confirming an assumption), a finished or unbound one is not.
   */
  setPod(pod: PodObject): void {
    const nodeName = pod.spec?.nodeName ?? '';
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
    const cur = this.#pods.get(key);
    if (nodeName === '' || isTerminal(pod)) {
      // An unbound pod is counted only while assumed; a finished pod frees its node.
      if (cur !== undefined && (!cur.assumed || isTerminal(pod))) this.#uncount(key);
      return;
    }
    if (cur !== undefined && !cur.assumed && cur.node === nodeName && cur.info.pod === pod) return;
    this.#uncount(key);
    this.#count(podInfoOf(pod), nodeName, false);
  }

  /** removePod forgets a pod the informer reports deleted. */
  removePod(pod: PodObject): void {
    this.#uncount(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`);
  }

  /** assumePod counts a pod on the node chosen for it before its binding is written. */
  assumePod(info: PodInfo, node: string): void {
    this.#uncount(info.key);
    this.#count(info, node, true);
  }

  /** finishBinding starts an assumed pod's expiry: the informer should confirm it before long. */
  finishBinding(key: string, now: number): void {
    const s = this.#pods.get(key);
    if (s !== undefined && s.assumed) s.expiresAt = now + this.#assumeTtlMs;
  }

  /** forgetPod drops an assumption (its binding failed); a confirmed pod stays. */
  forgetPod(key: string): void {
    const s = this.#pods.get(key);
    if (s !== undefined && s.assumed) this.#uncount(key);
  }

  /** isAssumed says whether a pod is counted on a node only by assumption. */
  isAssumed(key: string): boolean {
    return this.#pods.get(key)?.assumed === true;
  }

  /** cleanupExpired drops assumptions whose binding finished long ago without confirmation; returns their keys. */
  cleanupExpired(now: number): string[] {
    const gone: string[] = [];
    for (const [k, s] of this.#pods) {
      if (s.assumed && s.expiresAt !== null && s.expiresAt <= now) gone.push(k);
    }
    for (const k of gone) this.#uncount(k);
    return gone;
  }

  /** stats counts nodes, pods and assumptions. */
  stats(): CacheStats {
    let assumed = 0;
    for (const s of this.#pods.values()) if (s.assumed) assumed++;
    return { nodes: this.#list.length, pods: this.#pods.size, assumed };
  }
}
