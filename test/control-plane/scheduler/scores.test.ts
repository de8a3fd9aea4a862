/**
 * The score plugins over tables of cases, and the algorithm that combines filters and scores:
 * which node wins, how far the walk goes, and the exact FitError message.
 */
import { describe, expect, it } from 'vitest';
import { Algorithm, numFeasibleNodesToFind, unschedulableMessage } from '../../../src/control-plane/scheduler/framework.js';
import type { ScorePlugin } from '../../../src/control-plane/scheduler/framework.js';
import { DEFAULT_PROFILE } from '../../../src/control-plane/scheduler/profile.js';
import { balancedAllocationScore, intolerablePreferNoSchedule, leastAllocatedScore, preferredNodeAffinity, taintTolerationScore } from '../../../src/control-plane/scheduler/scores.js';
import type { NodeObject, PodObject } from '../../../src/control-plane/scheduler/types.js';
import { podInfoOf } from '../../../src/control-plane/scheduler/types.js';
import { cacheOf, makeNode, makePod, nodeInfo } from './fixtures.js';

describe('leastAllocatedScore', () => {
  const cases: readonly { name: string; node: NodeObject; bound: PodObject[]; pod: PodObject; want: number }[] = [
    { name: 'empty node, half of each asked', node: makeNode('n', { cpu: '2', memory: '2Gi' }), bound: [], pod: makePod('p', { cpu: '1', memory: '1Gi' }), want: 50 },
    { name: 'bound pods count', node: makeNode('n', { cpu: '4', memory: '4Gi' }), bound: [makePod('q', { cpu: '2', memory: '3Gi' })], pod: makePod('p', { cpu: '1', memory: '1Gi' }), want: 12 },
    { name: 'a pod without requests counts 100m and 200Mi', node: makeNode('n', { cpu: '1', memory: '2000Mi' }), bound: [], pod: makePod('p'), want: 90 },
    { name: 'over-committed resources score 0', node: makeNode('n', { cpu: '1', memory: '1Gi' }), bound: [makePod('q', { cpu: '2', memory: '1Gi' })], pod: makePod('p', { cpu: '1', memory: '1Gi' }), want: 0 },
  ];
  for (const c of cases) it(c.name, () => expect(leastAllocatedScore(podInfoOf(c.pod), nodeInfo(c.node, c.bound))).toBe(c.want));
});

describe('balancedAllocationScore', () => {
  const cases: readonly { name: string; node: NodeObject; pod: PodObject; want: number }[] = [
    { name: 'equal fractions are perfectly balanced', node: makeNode('n', { cpu: '2', memory: '2Gi' }), pod: makePod('p', { cpu: '1', memory: '1Gi' }), want: 100 },
    { name: 'all cpu, no memory', node: makeNode('n', { cpu: '1', memory: '1000Gi' }), pod: makePod('p', { cpu: '1', memory: '1' }), want: 50 },
    { name: 'quarter against three quarters', node: makeNode('n', { cpu: '4', memory: '4Gi' }), pod: makePod('p', { cpu: '1', memory: '3Gi' }), want: 75 },
  ];
  for (const c of cases) it(c.name, () => expect(balancedAllocationScore(podInfoOf(c.pod), nodeInfo(c.node))).toBe(c.want));
});

function scoresOf(plugin: ScorePlugin, nodes: NodeObject[], pod: PodObject): Record<string, number> | null {
  const cache = cacheOf(nodes);
  const s = plugin.prepare(podInfoOf(pod), cache);
  if (s === null) return null;
  const list = cache.nodeList();
  const scores = Float64Array.from(list.map((n) => s.score(n)));
  s.normalize?.(scores, list);
  return Object.fromEntries(list.map((n, i) => [n.name, scores[i]!]));
}

describe('preferred node affinity', () => {
  const nodes = [makeNode('ssd', { labels: { disk: 'ssd', zone: 'a' } }), makeNode('hdd', { labels: { disk: 'hdd', zone: 'a' } }), makeNode('none')];
  it('sums the weights of matching terms and normalizes the best to 100', () => {
    const pod = makePod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 80, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
              { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
            ],
          },
        },
      },
    });
    expect(scoresOf(preferredNodeAffinity, nodes, pod)).toEqual({ ssd: 100, hdd: 20, none: 0 });
  });
  it('has nothing to say without preferred terms', () => expect(scoresOf(preferredNodeAffinity, nodes, makePod('p'))).toBeNull());
});

describe('PreferNoSchedule taints', () => {
  const nodes = [makeNode('clean'), makeNode('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }), makeNode('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] })];
  it('counts untolerated ones and reverse-normalizes', () => {
    expect(scoresOf(taintTolerationScore, nodes, makePod('p'))).toEqual({ clean: 100, one: 50, two: 0 });
  });
  it('ignores tolerated ones', () => {
    const pod = makePod('p', { spec: { tolerations: [{ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }] } });
    expect(intolerablePreferNoSchedule(podInfoOf(pod), nodeInfo(nodes[2]!))).toBe(1);
    expect(scoresOf(taintTolerationScore, nodes, pod)).toEqual({ clean: 100, one: 100, two: 0 });
  });
});

describe('unschedulableMessage', () => {
  it("writes kube-scheduler's FitError text, entries sorted as strings", () => {
    const reasons = new Map([
      ['Insufficient cpu', 3],
      ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }', 2],
    ]);
    expect(unschedulableMessage(5, reasons)).toBe('0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 3 Insufficient cpu.');
    expect(unschedulableMessage(0, new Map())).toBe('0/0 nodes are available: no nodes available to schedule pods.');
  });
});

describe('numFeasibleNodesToFind', () => {
  const cases: readonly [nodes: number, percentage: number, want: number][] = [
    [5, 0, 5],
    [99, 10, 99],
    [1000, 0, 420],
    [5000, 0, 500],
    [100_000, 0, 5000],
    [1000, 5, 100],
    [1000, 100, 1000],
  ];
  for (const [nodes, p, want] of cases) it(`${nodes} nodes at ${p}% → ${want}`, () => expect(numFeasibleNodesToFind(nodes, p)).toBe(want));
});

describe('Algorithm', () => {
  it('puts a pod on the least allocated feasible node', () => {
    const cache = cacheOf([makeNode('busy', { cpu: '4' }), makeNode('idle', { cpu: '4' }), makeNode('tainted', { taints: [{ key: 'x', effect: 'NoSchedule' }] })], [makePod('q', { cpu: '3', nodeName: 'busy' })]);
    const out = new Algorithm(DEFAULT_PROFILE, cache).schedule(podInfoOf(makePod('p', { cpu: '1' })));
    expect(out).toEqual({ ok: true, node: 'idle', evaluated: 3, feasible: 2 });
  });

  it('reports every node with its first failing plugin', () => {
    const cache = cacheOf([
      makeNode('n1', { cpu: '1' }),
      makeNode('n2', { cpu: '1' }),
      makeNode('n3', { cpu: '1' }),
      makeNode('n4', { ready: false, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }),
      makeNode('n5', { ready: false, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }),
    ]);
    const out = new Algorithm(DEFAULT_PROFILE, cache).schedule(podInfoOf(makePod('p', { cpu: '2' })));
    expect(out).toEqual({
      ok: false,
      nodes: 5,
      reasons: new Map([
        ['Insufficient cpu', 3],
        ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }', 2],
      ]),
      message: '0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 3 Insufficient cpu.',
    });
  });

  it('stops after enough feasible nodes and resumes the walk where it stopped', () => {
    const nodes = Array.from({ length: 200 }, (_, i) => makeNode(`n${String(i).padStart(3, '0')}`));
    const alg = new Algorithm(DEFAULT_PROFILE, cacheOf(nodes), { percentageOfNodesToScore: 10 });
    const first = alg.schedule(podInfoOf(makePod('p1')));
    const second = alg.schedule(podInfoOf(makePod('p2')));
    // 10% of 200 is below the floor of 100 nodes; ties go to the lowest name of each half.
    expect(first).toEqual({ ok: true, node: 'n000', evaluated: 100, feasible: 100 });
    expect(second).toEqual({ ok: true, node: 'n100', evaluated: 100, feasible: 100 });
  });
});
