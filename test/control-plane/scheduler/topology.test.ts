/**
 * PodTopologySpread and InterPodAffinity over tables of small clusters: which nodes pass for
 * the incoming pod, and with which reason the others are rejected.
 */
import type { TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import type { FilterPlugin, FilterVerdict } from '../../../src/control-plane/scheduler/framework.js';
import { ANTI_AFFINITY_REASONS, interPodAffinity, podTopologySpread, podTopologySpreadScore, SPREAD_REASONS } from '../../../src/control-plane/scheduler/topology.js';
import type { NodeObject, PodObject } from '../../../src/control-plane/scheduler/types.js';
import { podInfoOf } from '../../../src/control-plane/scheduler/types.js';
import { cacheOf, makeNode, makePod } from './fixtures.js';

interface Case {
  readonly name: string;
  readonly nodes: readonly NodeObject[];
  readonly bound: readonly PodObject[];
  readonly pod: PodObject;
  /** want maps each node name to its verdict. */
  readonly want: Readonly<Record<string, FilterVerdict>>;
}

function verdicts(plugin: FilterPlugin, c: Case): Record<string, FilterVerdict> {
  const cache = cacheOf(c.nodes, c.bound);
  const check = plugin.prepare(podInfoOf(c.pod), cache);
  const out: Record<string, FilterVerdict> = {};
  for (const n of cache.nodeList()) out[n.name] = check === null ? null : check(n);
  return out;
}

function table(plugin: FilterPlugin, cases: readonly Case[]): void {
  describe(plugin.name, () => {
    for (const c of cases) it(c.name, () => expect(verdicts(plugin, c)).toEqual(c.want));
  });
}

const zones = [makeNode('a1', { labels: { zone: 'a' } }), makeNode('a2', { labels: { zone: 'a' } }), makeNode('b1', { labels: { zone: 'b' } }), makeNode('c1', { labels: { zone: 'c' } })];
const web = (name: string, nodeName?: string, ns?: string): PodObject => makePod(name, { labels: { app: 'web' }, ...(nodeName === undefined ? {} : { nodeName }), ...(ns === undefined ? {} : { namespace: ns }) });

function spreading(c: Partial<TopologySpreadConstraint>): PodObject {
  const constraint: TopologySpreadConstraint = { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...c };
  return makePod('new', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [constraint] } });
}

const skew = SPREAD_REASONS.skew;

table(podTopologySpread, [
  { name: 'no constraints: nothing to check', nodes: zones, bound: [web('w1', 'a1')], pod: makePod('new'), want: { a1: null, a2: null, b1: null, c1: null } },
  { name: 'an empty cluster accepts every zone', nodes: zones, bound: [], pod: spreading({}), want: { a1: null, a2: null, b1: null, c1: null } },
  { name: 'zone a has one more: it is refused at maxSkew 1', nodes: zones, bound: [web('w1', 'a1')], pod: spreading({}), want: { a1: skew, a2: skew, b1: null, c1: null } },
  { name: 'maxSkew 2 allows it', nodes: zones, bound: [web('w1', 'a1')], pod: spreading({ maxSkew: 2 }), want: { a1: null, a2: null, b1: null, c1: null } },
  {
    name: 'pods of other namespaces and labels do not count',
    nodes: zones,
    bound: [web('w1', 'a1', 'other'), makePod('db', { nodeName: 'b1', labels: { app: 'db' } })],
    pod: spreading({}),
    want: { a1: null, a2: null, b1: null, c1: null },
  },
  {
    name: 'a node without the topology key is refused for a missing label',
    nodes: [...zones, makeNode('x')],
    bound: [],
    pod: spreading({}),
    want: { a1: null, a2: null, b1: null, c1: null, x: SPREAD_REASONS.missingLabel },
  },
  {
    name: 'only nodes passing the node selector are domains',
    nodes: zones,
    bound: [web('w1', 'a1'), web('w2', 'b1')],
    pod: { ...spreading({}), spec: { ...spreading({}).spec!, nodeSelector: { zone: 'a' } } },
    // Only zone a is an eligible domain (minimum 1), so it may take one more; b and c are NodeAffinity's to refuse.
    want: { a1: null, a2: null, b1: null, c1: null },
  },
  {
    name: 'minDomains above the domain count makes the minimum 0',
    nodes: zones.slice(0, 3),
    bound: [web('w1', 'a1'), web('w2', 'b1')],
    pod: spreading({ minDomains: 3 }),
    want: { a1: skew, a2: skew, b1: skew },
  },
  { name: 'ScheduleAnyway constraints never filter', nodes: zones, bound: [web('w1', 'a1'), web('w2', 'a2')], pod: spreading({ whenUnsatisfiable: 'ScheduleAnyway' }), want: { a1: null, a2: null, b1: null, c1: null } },
]);

function antiAffine(topologyKey: string, labels: Record<string, string> = { app: 'web' }, name = 'new', nodeName?: string): PodObject {
  return makePod(name, {
    labels,
    ...(nodeName === undefined ? {} : { nodeName }),
    spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey, labelSelector: { matchLabels: { app: 'web' } } }] } } },
  });
}

table(interPodAffinity, [
  { name: 'no terms anywhere: nothing to check', nodes: zones, bound: [web('w1', 'a1')], pod: web('new'), want: { a1: null, a2: null, b1: null, c1: null } },
  {
    name: "the pod's term by hostname refuses only the node with a match",
    nodes: zones,
    bound: [web('w1', 'a1')],
    pod: antiAffine('kubernetes.io/hostname'),
    want: { a1: ANTI_AFFINITY_REASONS.own, a2: null, b1: null, c1: null },
  },
  {
    name: "the pod's term by zone refuses the whole zone",
    nodes: zones,
    bound: [web('w1', 'a1')],
    pod: antiAffine('zone'),
    want: { a1: ANTI_AFFINITY_REASONS.own, a2: ANTI_AFFINITY_REASONS.own, b1: null, c1: null },
  },
  { name: 'pods in another namespace do not match', nodes: zones, bound: [web('w1', 'a1', 'other')], pod: antiAffine('zone'), want: { a1: null, a2: null, b1: null, c1: null } },
  {
    name: "an existing pod's term refuses the incoming pod it selects",
    nodes: zones,
    bound: [antiAffine('zone', { app: 'db' }, 'db1', 'b1')],
    pod: web('new'),
    want: { a1: null, a2: null, b1: ANTI_AFFINITY_REASONS.existing, c1: null },
  },
  { name: "an existing pod's term ignores pods it does not select", nodes: zones, bound: [antiAffine('zone', { app: 'db' }, 'db1', 'b1')], pod: makePod('new', { labels: { app: 'cache' } }), want: { a1: null, a2: null, b1: null, c1: null } },
]);

function affine(topologyKey: string, labels: Record<string, string> = { app: 'web' }): PodObject {
  return makePod('new', { labels, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey, labelSelector: { matchLabels: { app: 'web' } } }] } } } });
}

describe('InterPodAffinity required affinity', () => {
  const r = ANTI_AFFINITY_REASONS.affinity;
  table(interPodAffinity, [
    { name: 'only the zone holding a selected pod', nodes: zones, bound: [web('w1', 'b1')], pod: affine('zone', { app: 'api' }), want: { a1: r, a2: r, b1: null, c1: r } },
    { name: 'by hostname: only that node', nodes: zones, bound: [web('w1', 'a2')], pod: affine('kubernetes.io/hostname', { app: 'api' }), want: { a1: r, a2: null, b1: r, c1: r } },
    { name: 'no selected pod anywhere: nowhere, unless the pod selects itself', nodes: zones, bound: [], pod: affine('zone', { app: 'api' }), want: { a1: r, a2: r, b1: r, c1: r } },
    { name: 'the first pod of a group that selects itself goes anywhere', nodes: zones, bound: [], pod: affine('zone'), want: { a1: null, a2: null, b1: null, c1: null } },
  ]);
});

describe('PodTopologySpread score', () => {
  it('prefers zones with fewer matching pods (ScheduleAnyway), normalized to 0–100', () => {
    const cache = cacheOf(zones, [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')]);
    const scorer = podTopologySpreadScore.prepare(podInfoOf(spreading({ whenUnsatisfiable: 'ScheduleAnyway' })), cache);
    expect(scorer).not.toBeNull();
    const nodes = cache.nodeList();
    const scores = Float64Array.from(nodes.map((n) => scorer!.score(n)));
    scorer!.normalize?.(scores, nodes);
    const byName = Object.fromEntries(nodes.map((n, i) => [n.name, scores[i]]));
    expect(byName['c1']).toBe(100);
    expect(byName['b1']!).toBeGreaterThan(byName['a1']!);
    expect(byName['a1']).toBe(byName['a2']);
  });

  it('has nothing to say for DoNotSchedule-only pods', () => {
    expect(podTopologySpreadScore.prepare(podInfoOf(spreading({})), cacheOf(zones))).toBeNull();
  });
});
