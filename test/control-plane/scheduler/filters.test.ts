/**
 * The node-local filter plugins, each over a table of node/pod cases: the verdict is null (the
 * node passes) or exactly kube-scheduler's reason.
 */
import type { NodeSelectorRequirement } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { SchedulerCache } from '../../../src/control-plane/scheduler/cache.js';
import type { FilterPlugin, FilterVerdict } from '../../../src/control-plane/scheduler/framework.js';
import { nodeAffinity, nodePorts, nodeReady, nodeRequirementMatches, nodeResourcesFit, nodeUnschedulable, REASONS, taintToleration } from '../../../src/control-plane/scheduler/filters.js';
import type { NodeObject, PodObject } from '../../../src/control-plane/scheduler/types.js';
import { podInfoOf } from '../../../src/control-plane/scheduler/types.js';
import { makeNode, makePod, nodeInfo } from './fixtures.js';

interface Case {
  readonly name: string;
  readonly node: NodeObject;
  readonly bound?: readonly PodObject[];
  readonly pod: PodObject;
  readonly want: FilterVerdict;
}

function verdict(plugin: FilterPlugin, c: Case): FilterVerdict {
  const check = plugin.prepare(podInfoOf(c.pod), new SchedulerCache());
  return check === null ? null : check(nodeInfo(c.node, c.bound ?? []));
}

function table(plugin: FilterPlugin, cases: readonly Case[]): void {
  describe(plugin.name, () => {
    for (const c of cases) it(c.name, () => expect(verdict(plugin, c)).toEqual(c.want));
  });
}

const notReadyTaint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const };

table(nodeUnschedulable, [
  { name: 'a schedulable node passes', node: makeNode('n'), pod: makePod('p'), want: null },
  { name: 'a cordoned node is rejected', node: makeNode('n', { unschedulable: true }), pod: makePod('p'), want: REASONS.unschedulable },
  {
    name: 'a pod tolerating the unschedulable taint may go to a cordoned node',
    node: makeNode('n', { unschedulable: true }),
    pod: makePod('p', { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } }),
    want: null,
  },
]);

table(nodeReady, [
  { name: 'a Ready node passes', node: makeNode('n'), pod: makePod('p'), want: null },
  { name: 'a NotReady node is rejected', node: makeNode('n', { ready: false }), pod: makePod('p'), want: REASONS.notReady },
  {
    name: 'a node without conditions is not ready',
    node: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { allocatable: { cpu: '1', memory: '1Gi', pods: '10' } } },
    pod: makePod('p'),
    want: REASONS.notReady,
  },
  { name: 'a pod tolerating not-ready may go to a NotReady node', node: makeNode('n', { ready: false }), pod: makePod('p', { spec: { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] } }), want: null },
]);

table(taintToleration, [
  { name: 'an untainted node passes', node: makeNode('n'), pod: makePod('p'), want: null },
  { name: 'NoSchedule taint without toleration', node: makeNode('n', { taints: [notReadyTaint] }), pod: makePod('p'), want: 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }' },
  { name: 'NoExecute taint with a value', node: makeNode('n', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] }), pod: makePod('p'), want: 'node(s) had untolerated taint {dedicated: gpu}' },
  { name: 'PreferNoSchedule never filters', node: makeNode('n', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }), pod: makePod('p'), want: null },
  {
    name: 'Equal toleration with the right value',
    node: makeNode('n', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    pod: makePod('p', { spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] } }),
    want: null,
  },
  {
    name: 'Equal toleration with another value',
    node: makeNode('n', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    pod: makePod('p', { spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }] } }),
    want: 'node(s) had untolerated taint {dedicated: gpu}',
  },
  {
    name: 'toleration for another effect does not count',
    node: makeNode('n', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] }),
    pod: makePod('p', { spec: { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] } }),
    want: 'node(s) had untolerated taint {dedicated: gpu}',
  },
  { name: 'an empty key with Exists tolerates everything', node: makeNode('n', { taints: [notReadyTaint, { key: 'x', effect: 'NoExecute' }] }), pod: makePod('p', { spec: { tolerations: [{ operator: 'Exists' }] } }), want: null },
  {
    name: 'the first untolerated taint is reported',
    node: makeNode('n', { taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoSchedule' }] }),
    pod: makePod('p', { spec: { tolerations: [{ key: 'a', operator: 'Exists' }] } }),
    want: 'node(s) had untolerated taint {b: }',
  },
]);

const zoneA = makeNode('n1', { labels: { zone: 'a', disk: 'ssd', cores: '8' } });

function requiring(...exprs: NodeSelectorRequirement[]): PodObject {
  return makePod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] } } } } });
}

table(nodeAffinity, [
  { name: 'no selector, no affinity', node: zoneA, pod: makePod('p'), want: null },
  { name: 'nodeSelector matches', node: zoneA, pod: makePod('p', { spec: { nodeSelector: { zone: 'a' } } }), want: null },
  { name: 'nodeSelector misses', node: zoneA, pod: makePod('p', { spec: { nodeSelector: { zone: 'b' } } }), want: REASONS.nodeAffinity },
  { name: 'nodeSelector with a missing label', node: zoneA, pod: makePod('p', { spec: { nodeSelector: { gpu: 'yes' } } }), want: REASONS.nodeAffinity },
  { name: 'In matches', node: zoneA, pod: requiring({ key: 'zone', operator: 'In', values: ['a', 'b'] }), want: null },
  { name: 'In misses', node: zoneA, pod: requiring({ key: 'zone', operator: 'In', values: ['b'] }), want: REASONS.nodeAffinity },
  { name: 'NotIn matches a missing label', node: zoneA, pod: requiring({ key: 'gpu', operator: 'NotIn', values: ['yes'] }), want: null },
  { name: 'NotIn misses', node: zoneA, pod: requiring({ key: 'disk', operator: 'NotIn', values: ['ssd'] }), want: REASONS.nodeAffinity },
  { name: 'Exists', node: zoneA, pod: requiring({ key: 'disk', operator: 'Exists' }), want: null },
  { name: 'DoesNotExist misses', node: zoneA, pod: requiring({ key: 'disk', operator: 'DoesNotExist' }), want: REASONS.nodeAffinity },
  { name: 'Gt matches', node: zoneA, pod: requiring({ key: 'cores', operator: 'Gt', values: ['4'] }), want: null },
  { name: 'Lt misses', node: zoneA, pod: requiring({ key: 'cores', operator: 'Lt', values: ['8'] }), want: REASONS.nodeAffinity },
  { name: 'expressions of a term are ANDed', node: zoneA, pod: requiring({ key: 'zone', operator: 'In', values: ['a'] }, { key: 'disk', operator: 'In', values: ['hdd'] }), want: REASONS.nodeAffinity },
  {
    name: 'terms are ORed',
    node: zoneA,
    pod: makePod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z'] }] }, { matchExpressions: [{ key: 'disk', operator: 'Exists' }] }] } } } } }),
    want: null,
  },
  {
    name: 'matchFields metadata.name',
    node: zoneA,
    pod: makePod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }] } } } } }),
    want: REASONS.nodeAffinity,
  },
  {
    name: 'an empty term matches nothing',
    node: zoneA,
    pod: makePod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{}] } } } } }),
    want: REASONS.nodeAffinity,
  },
  { name: 'nodeSelector and affinity must both hold', node: zoneA, pod: { ...requiring({ key: 'zone', operator: 'Exists' }), spec: { ...requiring({ key: 'zone', operator: 'Exists' }).spec!, nodeSelector: { disk: 'hdd' } } }, want: REASONS.nodeAffinity },
]);

describe('nodeRequirementMatches', () => {
  it('treats Gt/Lt on non-integers and a wrong value count as no match', () => {
    expect(nodeRequirementMatches({ key: 'k', operator: 'Gt', values: ['x'] }, '3')).toBe(false);
    expect(nodeRequirementMatches({ key: 'k', operator: 'Gt', values: ['1', '2'] }, '3')).toBe(false);
    expect(nodeRequirementMatches({ key: 'k', operator: 'Lt', values: ['10'] }, '-3')).toBe(true);
    expect(nodeRequirementMatches({ key: 'k', operator: 'Bogus', values: [] }, 'v')).toBe(false);
  });
});

table(nodePorts, [
  { name: 'no host ports asked', node: makeNode('n'), bound: [makePod('q', { hostPort: 80 })], pod: makePod('p'), want: null },
  { name: 'a free port', node: makeNode('n'), bound: [makePod('q', { hostPort: 80 })], pod: makePod('p', { hostPort: 81 }), want: null },
  { name: 'a taken port', node: makeNode('n'), bound: [makePod('q', { hostPort: 80 })], pod: makePod('p', { hostPort: 80 }), want: REASONS.ports },
  {
    name: 'same port, other protocol',
    node: makeNode('n'),
    bound: [makePod('q', { hostPort: 53 })],
    pod: makePod('p', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }] }] } }),
    want: null,
  },
  {
    name: 'specific IPs do not collide, a wildcard collides with both',
    node: makeNode('n'),
    bound: [makePod('q', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 1, hostPort: 90, hostIP: '10.0.0.1' }] }] } })],
    pod: makePod('p', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 1, hostPort: 90, hostIP: '10.0.0.2' }] }] } }),
    want: null,
  },
  {
    name: 'a wildcard asks for every IP',
    node: makeNode('n'),
    bound: [makePod('q', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 1, hostPort: 90, hostIP: '10.0.0.1' }] }] } })],
    pod: makePod('p', { hostPort: 90 }),
    want: REASONS.ports,
  },
]);

table(nodeResourcesFit, [
  { name: 'fits an empty node', node: makeNode('n', { cpu: '2', memory: '4Gi' }), pod: makePod('p', { cpu: '2', memory: '4Gi' }), want: null },
  { name: 'too much cpu', node: makeNode('n', { cpu: '2' }), pod: makePod('p', { cpu: '2001m' }), want: REASONS.cpu },
  { name: 'counts what is bound', node: makeNode('n', { cpu: '1', memory: '1Gi' }), bound: [makePod('q', { cpu: '600m', memory: '512Mi' })], pod: makePod('p', { cpu: '500m', memory: '512Mi' }), want: REASONS.cpu },
  { name: 'every shortfall is a reason', node: makeNode('n', { cpu: '1', memory: '1Gi', pods: 1 }), bound: [makePod('q', { cpu: '1', memory: '1Gi' })], pod: makePod('p', { cpu: '1', memory: '1' }), want: [REASONS.pods, REASONS.cpu, REASONS.memory] },
  { name: 'a pod requesting nothing fits a full node', node: makeNode('n', { cpu: '1', memory: '1Gi' }), bound: [makePod('q', { cpu: '1', memory: '1Gi' })], pod: makePod('p'), want: null },
  { name: 'pods allocatable', node: makeNode('n', { pods: 2 }), bound: [makePod('a'), makePod('b')], pod: makePod('p'), want: REASONS.pods },
  {
    name: 'init containers count by their maximum',
    node: makeNode('n', { cpu: '1' }),
    pod: makePod('p', { cpu: '100m', spec: { initContainers: [{ name: 'init', resources: { requests: { cpu: '1100m' } } }] } }),
    want: REASONS.cpu,
  },
  { name: 'pod overhead counts', node: makeNode('n', { memory: '1Gi' }), pod: makePod('p', { memory: '1000Mi', spec: { overhead: { memory: '100Mi' } } }), want: REASONS.memory },
  { name: 'quantities in every notation', node: makeNode('n', { cpu: '1500m', memory: '1.5Gi' }), pod: makePod('p', { cpu: '1.5', memory: '1536Mi' }), want: null },
]);
