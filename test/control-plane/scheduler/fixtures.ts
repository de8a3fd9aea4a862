/**
 * fixtures: Node and Pod objects for the scheduler tests, written the way a node agent and
 * kubectl would write them, and NodeInfos built from them.
 */
import type { Container, NodeSpec, PodSpec, Taint } from 'kubernetes-types/core/v1.js';
import { NodeInfo, SchedulerCache } from '../../../src/control-plane/scheduler/cache.js';
import type { NodeObject, PodObject } from '../../../src/control-plane/scheduler/types.js';
import { podInfoOf } from '../../../src/control-plane/scheduler/types.js';

/** NodeShape is what a test says about a node. */
export interface NodeShape {
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: number;
  readonly labels?: Record<string, string>;
  readonly taints?: Taint[];
  readonly ready?: boolean;
  readonly unschedulable?: boolean;
}

/** makeNode builds a Node with allocatable (default 4 cpu, 8Gi, 110 pods) and a Ready condition. */
export function makeNode(name: string, s: NodeShape = {}): NodeObject {
  const spec: NodeSpec = {};
  if (s.taints !== undefined) spec.taints = s.taints;
  if (s.unschedulable === true) spec.unschedulable = true;
  const allocatable = { cpu: s.cpu ?? '4', memory: s.memory ?? '8Gi', pods: String(s.pods ?? 110) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(s.labels ?? {}) } },
    spec,
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True', reason: s.ready === false ? 'KubeletNotReady' : 'KubeletReady' }],
    },
  };
}

/** PodShape is what a test says about a pod. */
export interface PodShape {
  readonly namespace?: string;
  readonly cpu?: string;
  readonly memory?: string;
  readonly labels?: Record<string, string>;
  readonly nodeName?: string;
  readonly hostPort?: number;
  readonly spec?: Partial<PodSpec>;
}

/** makePod builds a Pod with one container requesting what the shape says. */
export function makePod(name: string, s: PodShape = {}): PodObject {
  const requests: Record<string, string> = {};
  if (s.cpu !== undefined) requests['cpu'] = s.cpu;
  if (s.memory !== undefined) requests['memory'] = s.memory;
  const c: Container = { name: 'c', image: 'busybox', ...(Object.keys(requests).length === 0 ? {} : { resources: { requests } }) };
  if (s.hostPort !== undefined) c.ports = [{ containerPort: 80, hostPort: s.hostPort, protocol: 'TCP' }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: s.namespace ?? 'default', ...(s.labels === undefined ? {} : { labels: s.labels }) },
    spec: { containers: [c], ...(s.nodeName === undefined ? {} : { nodeName: s.nodeName }), ...(s.spec ?? {}) },
  };
}

/** nodeInfo builds a NodeInfo for a node with some pods already bound. */
export function nodeInfo(node: NodeObject, pods: readonly PodObject[] = []): NodeInfo {
  const n = new NodeInfo(node.metadata.name ?? '');
  n.setNode(node);
  for (const p of pods) n.addPod(podInfoOf(p));
  return n;
}

/** cacheOf builds a cache holding nodes and bound pods (each pod's spec.nodeName says where). */
export function cacheOf(nodes: readonly NodeObject[], pods: readonly PodObject[] = []): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.addNode(n);
  for (const p of pods) c.setPod(p);
  return c;
}
