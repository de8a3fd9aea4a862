/**
 * workloads: builders of the pods, ReplicaSets and Deployments the controller tests preload.
 */
import type { Deployment, Pod, ReplicaSet } from '../../../src/control-plane/controllers/objects.js';
import { PODS } from '../../../src/control-plane/controllers/objects.js';
import type { Fixture } from './fixture.js';

/** template is a pod template with the given labels and image. */
export function template(labels: Record<string, string>, image = 'busybox:1'): NonNullable<NonNullable<ReplicaSet['spec']>['template']> {
  return { metadata: { labels }, spec: { containers: [{ name: 'c', image }] } };
}

/** replicaSet builds a ReplicaSet selecting app=<app>. */
export function replicaSet(name: string, replicas: number, o: { readonly app?: string; readonly minReadySeconds?: number } = {}): ReplicaSet {
  const app = o.app ?? name;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app } }, template: template({ app }), ...(o.minReadySeconds === undefined ? {} : { minReadySeconds: o.minReadySeconds }) },
  };
}

/** deployment builds a Deployment selecting app=<name>. */
export function deployment(name: string, replicas: number, spec: Partial<NonNullable<Deployment['spec']>> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: template({ app: name }), ...spec },
  };
}

/** pod builds a pod with labels, optionally owned. */
export function pod(name: string, labels: Record<string, string>, o: { readonly owner?: ReplicaSet; readonly nodeName?: string } = {}): Pod {
  const owner = o.owner;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      labels,
      ...(owner === undefined ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }] }),
    },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }) },
  };
}

/** setPodStatus writes a pod's phase and readiness (ready since `readyAt`, ISO time). */
export async function setPodStatus(f: Fixture, p: Pod, phase: string, readyAt: string | null): Promise<Pod> {
  const cur = await f.get<Pod>(PODS, p.metadata.namespace, p.metadata.name ?? '');
  if (cur === null) throw new Error(`no pod ${p.metadata.name ?? ''}`);
  const status = { ...cur.status, phase, conditions: readyAt === null ? [{ type: 'Ready', status: 'False' }] : [{ type: 'Ready', status: 'True', lastTransitionTime: readyAt }] };
  const r = await f.client.updateStatus<Pod>(PODS, { ...cur, status });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
