/**
 * The controller-manager end to end in one process: the registry served over gRPC, an
 * ApiClient, runControllerManager with leader election, and a stand-in node agent that marks
 * every new pod Running and Ready. A Deployment of 5 converges; a template change rolls within
 * replicas + maxSurge (ReplicaSet sizes) and replicas - maxUnavailable (ready pods), checked on
 * every watch event; scaling; cascading delete in all three modes; namespace deletion. Waits
 * are bounded polls for a condition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import { Informer } from '../../../src/control-plane/client/informer.js';
import type { ControllerManagerHandle } from '../../../src/control-plane/controllers/manager.js';
import { runControllerManager } from '../../../src/control-plane/controllers/manager.js';
import type { Deployment, Pod, ReplicaSet } from '../../../src/control-plane/controllers/objects.js';
import { DEPLOYMENTS, isPodReady, NAMESPACES, PODS, REPLICASETS } from '../../../src/control-plane/controllers/objects.js';
import type { Cluster } from '../client/harness.js';
import { startCluster, TOKEN } from '../client/harness.js';
import { deployment, template } from './workloads.js';

let cluster: Cluster;
let client: ApiClient;
let cm: ControllerManagerHandle;
let pods: Informer<Pod>;
let rss: Informer<ReplicaSet>;
const observers: (() => void)[] = [];

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function live(ns: string, prefix: string): Pod[] {
  return pods.byIndex('namespace', ns).filter((p) => p.metadata.deletionTimestamp === undefined && (p.metadata.name ?? '').startsWith(prefix));
}

async function get<T>(res: typeof DEPLOYMENTS, namespace: string | undefined, name: string): Promise<T | null> {
  const r = await client.get<T>(res, { ...(namespace === undefined ? {} : { namespace }), name });
  if (r.ok) return r.value;
  if (r.error.code === 404) return null;
  throw new Error(r.error.message);
}

async function deploymentReady(ns: string, name: string, n: number): Promise<boolean> {
  const d = await get<Deployment>(DEPLOYMENTS, ns, name);
  const s = d?.status;
  return s !== undefined && (s.observedGeneration ?? 0) >= (d?.metadata.generation ?? 1) && (s.updatedReplicas ?? 0) === n && (s.replicas ?? 0) === n && (s.availableReplicas ?? 0) === n && live(ns, `${name}-`).length === n;
}

beforeAll(async () => {
  cluster = await startCluster(1);
  client = new ApiClient({ endpoints: cluster.servers.map((s) => s.endpoint), token: TOKEN });
  pods = new Informer<Pod>({ client, resource: PODS });
  rss = new Informer<ReplicaSet>({ client, resource: REPLICASETS });
  // The stand-in node agent: every pod runs and is ready as soon as it exists.
  pods.addEventHandler({
    onAdd: (p) => markReady(p),
    onUpdate: (_o, p) => markReady(p),
  });
  pods.addEventHandler({ onAdd: () => observe(), onUpdate: () => observe(), onDelete: () => observe() });
  rss.addEventHandler({ onAdd: () => observe(), onUpdate: () => observe(), onDelete: () => observe() });
  pods.start();
  rss.start();
  cm = runControllerManager({ client, master: 'm1', workers: 3, election: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 } });
  await waitFor('leadership', () => cm.isLeader());
  expect(cm.identity.startsWith('m1_')).toBe(true);
}, 60_000);

afterAll(async () => {
  await cm.stop();
  pods.stop();
  rss.stop();
  client.close();
  cluster.close();
});

function markReady(p: Pod): void {
  if (p.metadata.deletionTimestamp !== undefined || isPodReady(p)) return;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  void client.updateStatus<Pod>(PODS, { ...p, status: { ...p.status, phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } });
}

function observe(): void {
  for (const o of observers) o();
}

describe('controller-manager (in process, over gRPC)', () => {
  it('converges a Deployment of 5 and rolls a new template within the surge and availability bounds', async () => {
    const r = await client.create(DEPLOYMENTS, deployment('web', 5, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    expect(r.ok).toBe(true);
    await waitFor('5 available replicas', () => deploymentReady('default', 'web', 5));

    let maxSpec = 0;
    let minReady = Number.POSITIVE_INFINITY;
    observers.push(() => {
      const spec = rss.byIndex('namespace', 'default').filter((x) => (x.metadata.name ?? '').startsWith('web-')).reduce((n, x) => n + (x.spec?.replicas ?? 0), 0);
      maxSpec = Math.max(maxSpec, spec);
      minReady = Math.min(minReady, live('default', 'web-').filter(isPodReady).length);
    });
    const d = await get<Deployment>(DEPLOYMENTS, 'default', 'web');
    const u = await client.update<Deployment>(DEPLOYMENTS, { ...d!, spec: { ...d!.spec!, template: template({ app: 'web' }, 'busybox:2') } });
    expect(u.ok).toBe(true);
    await waitFor('the rollout to finish', async () => (await deploymentReady('default', 'web', 5)) && live('default', 'web-').every((p) => p.spec?.containers[0]?.image === 'busybox:2'));
    observers.length = 0;
    expect(maxSpec).toBeLessThanOrEqual(6);
    expect(minReady).toBeGreaterThanOrEqual(4);
    const done = await get<Deployment>(DEPLOYMENTS, 'default', 'web');
    expect(done?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(done?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
  });

  it('scales up and down', async () => {
    for (const n of [8, 2]) {
      const s = await client.patch(DEPLOYMENTS, { namespace: 'default', name: 'web' }, { type: 'merge', patch: { spec: { replicas: n } } });
      expect(s.ok).toBe(true);
      await waitFor(`${n} replicas`, () => deploymentReady('default', 'web', n));
    }
  });

  it('deletes in the background: ReplicaSets and pods follow the Deployment', async () => {
    const d = await client.delete(DEPLOYMENTS, { namespace: 'default', name: 'web' }, { propagationPolicy: 'Background' });
    expect(d.ok).toBe(true);
    await waitFor('ReplicaSets and pods gone', () => rss.byIndex('namespace', 'default').length === 0 && pods.byIndex('namespace', 'default').length === 0);
  });

  it('orphans: the Deployment goes, its ReplicaSet and pods stay without owner', async () => {
    await client.create(DEPLOYMENTS, deployment('orph', 2));
    await waitFor('orph ready', () => deploymentReady('default', 'orph', 2));
    const d = await client.delete(DEPLOYMENTS, { namespace: 'default', name: 'orph' }, { propagationPolicy: 'Orphan' });
    expect(d.ok).toBe(true);
    await waitFor('orph gone', async () => (await get(DEPLOYMENTS, 'default', 'orph')) === null);
    await waitFor('ReplicaSet released', () => rss.byIndex('namespace', 'default').every((x) => (x.metadata.ownerReferences ?? []).length === 0));
    const left = rss.byIndex('namespace', 'default');
    expect(left).toHaveLength(1);
    expect(live('default', 'orph-')).toHaveLength(2);
    await client.delete(REPLICASETS, { namespace: 'default', name: left[0]!.metadata.name ?? '' });
    await waitFor('orphaned pods collected', () => pods.byIndex('namespace', 'default').length === 0);
  });

  it('deletes in the foreground: the Deployment disappears only after its ReplicaSet and pods', async () => {
    await client.create(DEPLOYMENTS, deployment('fg', 2));
    await waitFor('fg ready', () => deploymentReady('default', 'fg', 2));
    const d = await client.delete(DEPLOYMENTS, { namespace: 'default', name: 'fg' }, { propagationPolicy: 'Foreground' });
    expect(d.ok && !d.value.gone).toBe(true);
    await waitFor('fg gone', async () => (await get(DEPLOYMENTS, 'default', 'fg')) === null);
    const leftRs = await client.list(REPLICASETS, { namespace: 'default' });
    const leftPods = await client.list(PODS, { namespace: 'default' });
    expect(leftRs.ok && leftRs.value.items).toEqual([]);
    expect(leftPods.ok && leftPods.value.items).toEqual([]);
  });

  it('empties and removes a deleted namespace', async () => {
    expect((await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } })).ok).toBe(true);
    expect((await client.create(DEPLOYMENTS, { ...deployment('app', 2), metadata: { name: 'app', namespace: 'team' } })).ok).toBe(true);
    await waitFor('app ready', () => deploymentReady('team', 'app', 2));
    expect((await client.delete(NAMESPACES, { name: 'team' })).ok).toBe(true);
    await waitFor('namespace team gone', async () => (await get(NAMESPACES, undefined, 'team')) === null);
    expect(pods.byIndex('namespace', 'team')).toEqual([]);
  });
});
