/**
 * The k8s workload's checks on hand-built histories and observations with known verdicts: each
 * must flag what it exists to catch and pass what is allowed (unknown outcomes taking effect or
 * not, released leases, repeated writes of a bound pod).
 */
import { describe, expect, it } from 'vitest';
import { allowedReplicas, checkDeployments, checkLeaseTerms, checkObjectsKept, checkPodBindings, type StoreEvent } from '../../../src/chaos/checker/k8s.js';
import { outcomeOf, type K8sOp, type K8sOpF, type Observed, type ObservedDeployment } from '../../../src/chaos/workload/k8s.js';

let nextProcess = 0;
let now = 0;

/** op is one request: its invoke and how it ended. */
function op(f: K8sOpF, key: string, value: number | null, end: 'ok' | 'fail' | 'info' | null): K8sOp[] {
  const process = nextProcess++;
  const invoke: K8sOp = { process, type: 'invoke', f, key, value, time: now++ };
  return end === null ? [invoke] : [invoke, { process, type: end, f, key, value, time: now++ }];
}

function deployment(name: string, replicas: number, over: Partial<ObservedDeployment> = {}): [string, ObservedDeployment] {
  return [name, { name, specReplicas: replicas, availableReplicas: replicas, updatedReplicas: replicas, pods: replicas, ...over }];
}

function observed(deps: [string, ObservedDeployment][], configMaps: string[] = []): Observed {
  return { deployments: new Map(deps), configMaps: new Set(configMaps) };
}

function pod(key: string, uid: string, nodeName: string, modRevision: number): StoreEvent {
  return { type: 'put', key, value: JSON.stringify({ metadata: { name: key.split('/').pop(), uid }, spec: { nodeName } }), modRevision };
}

function term(name: string, holder: string, transitions: number, modRevision: number): StoreEvent {
  return { type: 'put', key: `/raftkube/lease-terms/kube-system/${name}`, value: JSON.stringify([holder, transitions]), modRevision };
}

describe('allowed replica counts', () => {
  it('is the last acknowledged scale plus every scale whose outcome is unknown, never a failed one', () => {
    const ops = [
      ...op('create-deployment', 'd1', 2, 'ok'),
      ...op('scale', 'd1', 3, 'ok'),
      ...op('scale', 'd1', 4, 'info'),
      ...op('scale', 'd1', 1, 'ok'),
      ...op('scale', 'd1', 0, 'fail'),
      ...op('create-deployment', 'd2', 2, 'ok'),
      ...op('create-deployment', 'd3', 2, 'info'),
      ...op('create-deployment', 'd3', 2, 'fail'),
      ...op('scale', 'd3', 3, null),
    ];
    const a = allowedReplicas(ops);
    expect([...a.get('d1')!].sort()).toEqual([1, 4]);
    expect([...a.get('d2')!]).toEqual([2]);
    // An invoke with no outcome (the run ended first) is unknown, like info.
    expect([...a.get('d3')!].sort()).toEqual([2, 3]);
  });
});

describe('deployments converge', () => {
  const ops = [...op('create-deployment', 'd1', 2, 'ok'), ...op('scale', 'd1', 3, 'ok'), ...op('create-deployment', 'd2', 2, 'ok')];

  it('passes when every Deployment wants an allowed count and has that many available pods', () => {
    expect(checkDeployments(ops, observed([deployment('d1', 3), deployment('d2', 2)])).ok).toBe(true);
  });

  it('flags a replica count the history does not allow (a lost or reordered scale)', () => {
    const c = checkDeployments(ops, observed([deployment('d1', 2), deployment('d2', 2)]));
    expect(c.ok).toBe(false);
    expect(c.problems[0]).toContain('d1 wants 2 replicas; the history allows only 3');
  });

  it('flags a Deployment whose pods did not follow, and one that is missing', () => {
    const c = checkDeployments(ops, observed([deployment('d1', 3, { availableReplicas: 2, pods: 4 })]));
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual([expect.stringContaining('d1 has not converged'), 'Deployment d2 is missing']);
  });
});

describe('no object lost', () => {
  const ops = [
    ...op('create-deployment', 'd1', 2, 'ok'),
    ...op('create-configmap', 'cm1', 1, 'ok'),
    ...op('create-configmap', 'cm2', 2, 'ok'),
    ...op('delete-configmap', 'cm2', null, 'info'),
    ...op('create-configmap', 'cm3', 3, 'ok'),
    ...op('delete-configmap', 'cm3', null, 'ok'),
    ...op('create-configmap', 'cm4', 4, 'ok'),
    ...op('delete-configmap', 'cm4', null, 'fail'),
    ...op('create-configmap', 'cm5', 5, 'info'),
  ];

  it('passes when acknowledged objects are there and acknowledged deletes stayed deleted (unknowns either way)', () => {
    expect(checkObjectsKept(ops, observed([deployment('d1', 2)], ['cm1', 'cm4'])).ok).toBe(true);
    expect(checkObjectsKept(ops, observed([deployment('d1', 2)], ['cm1', 'cm2', 'cm4', 'cm5'])).ok).toBe(true);
  });

  it('flags a lost create, a failed delete that removed the object anyway, a resurrected delete and a lost Deployment', () => {
    const c = checkObjectsKept(ops, observed([], ['cm3']));
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual([
      'ConfigMap cm1 was created (acknowledged) and never deleted, but is gone',
      'ConfigMap cm4 was created (acknowledged) and never deleted, but is gone',
      'ConfigMap cm3 was deleted (acknowledged), but is there',
      'Deployment d1 was created (acknowledged), but is gone',
    ]);
  });
});

describe('no pod bound twice', () => {
  it('passes pods bound once and written again on the same node', () => {
    const c = checkPodBindings([
      pod('/registry/core/pods/default/a', 'u1', '', 10),
      pod('/registry/core/pods/default/a', 'u1', 'n1', 11),
      pod('/registry/core/pods/default/a', 'u1', 'n1', 12),
      { type: 'delete', key: '/registry/core/pods/default/a', value: '', modRevision: 13 },
      // The same name again is a new pod (new uid): it may land elsewhere.
      pod('/registry/core/pods/default/a', 'u2', 'n2', 14),
    ]);
    expect(c.ok).toBe(true);
    expect(c.summary).toContain('2 pods bound');
  });

  it('flags a pod moved to another node, or unbound', () => {
    const moved = checkPodBindings([pod('/registry/core/pods/default/a', 'u1', 'n1', 11), pod('/registry/core/pods/default/a', 'u1', 'n2', 15)]);
    expect(moved.ok).toBe(false);
    expect(moved.problems[0]).toContain('bound to n1 at revision 11, then to n2 at revision 15');
    const unbound = checkPodBindings([pod('/registry/core/pods/default/a', 'u1', 'n1', 11), pod('/registry/core/pods/default/a', 'u1', '', 12)]);
    expect(unbound.problems[0]).toContain('then unbound');
  });

  it('does not pass what it cannot read', () => {
    expect(checkPodBindings([{ type: 'put', key: '/registry/core/pods/default/a', value: 'garbage', modRevision: 3 }]).ok).toBe(false);
  });
});

describe('one leader per term', () => {
  it('passes terms that change hands, renewals, and a release', () => {
    const c = checkLeaseTerms([
      term('kube-scheduler', 'm1_a', 0, 5),
      term('kube-scheduler', 'm1_a', 0, 9),
      term('kube-scheduler', 'm2_b', 1, 20),
      term('kube-scheduler', '', 1, 30),
      term('kube-scheduler', 'm3_c', 2, 31),
      term('kube-controller-manager', 'm2_x', 0, 6),
    ]);
    expect(c.ok).toBe(true);
    expect(c.summary).toContain('kube-scheduler 3');
  });

  it('flags two holders in one term and a term count that goes back', () => {
    const two = checkLeaseTerms([term('kube-scheduler', 'm1_a', 1, 5), term('kube-scheduler', 'm2_b', 1, 6)]);
    expect(two.ok).toBe(false);
    expect(two.problems[0]).toContain('term 1 held by m1_a and by m2_b');
    const back = checkLeaseTerms([term('kube-scheduler', 'm1_a', 2, 5), term('kube-scheduler', 'm2_b', 1, 6)]);
    expect(back.problems[0]).toContain('went back from term 2 to 1');
  });
});

describe('outcome of a request', () => {
  it('is ok for 2xx, fail for a refusal or a refused connection, unknown otherwise', () => {
    expect(outcomeOf({ kind: 'answered', status: 201, body: {} }).type).toBe('ok');
    expect(outcomeOf({ kind: 'answered', status: 409, body: { message: 'fenced' } })).toEqual({ type: 'fail', error: '409: fenced' });
    expect(outcomeOf({ kind: 'answered', status: 500, body: { message: 'etcd timeout' } }).type).toBe('info');
    expect(outcomeOf({ kind: 'answered', status: 408, body: null }).type).toBe('info');
    expect(outcomeOf({ kind: 'unanswered', reason: 'connect ECONNREFUSED 127.0.0.1:1' }).type).toBe('fail');
    expect(outcomeOf({ kind: 'unanswered', reason: 'no answer within 5000 ms' }).type).toBe('info');
  });
});
