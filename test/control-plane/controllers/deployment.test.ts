/**
 * The Deployment controller's reconcile on a preloaded cache: the first ReplicaSet, a rolling
 * update within maxSurge/maxUnavailable, rollout undo reviving an old ReplicaSet under a new
 * revision, Recreate, pause, revision history and the progress deadline — exact writes asserted.
 * ReplicaSet statuses are set by hand (no ReplicaSet controller runs here).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeploymentController } from '../../../src/control-plane/controllers/deployment.js';
import { podTemplateHash, resolveIntOrPercent, sameTemplate, surgeAndUnavailable } from '../../../src/control-plane/controllers/deployment-util.js';
import type { Deployment, ReplicaSet } from '../../../src/control-plane/controllers/objects.js';
import { DEPLOYMENTS, REPLICASETS } from '../../../src/control-plane/controllers/objects.js';
import type { Fixture } from './fixture.js';
import { newFixture } from './fixture.js';
import { deployment, template } from './workloads.js';

let f: Fixture;
let dc: DeploymentController;

async function start(): Promise<void> {
  dc = new DeploymentController(f.ctx);
  f.informers.start();
  await f.settle();
  f.clear();
}


async function rsList(): Promise<ReplicaSet[]> {
  return (await f.list<ReplicaSet>(REPLICASETS, 'default')).sort((a, b) => Number(a.metadata.annotations?.['deployment.kubernetes.io/revision']) - Number(b.metadata.annotations?.['deployment.kubernetes.io/revision']));
}

/** settleRS marks every ReplicaSet as having exactly its spec.replicas pods, all available. */
async function settleRS(): Promise<void> {
  for (const rs of await f.list<ReplicaSet>(REPLICASETS, 'default')) {
    const n = rs.spec?.replicas ?? 1;
    const r = await f.client.updateStatus<ReplicaSet>(REPLICASETS, { ...rs, status: { replicas: n, readyReplicas: n, availableReplicas: n, observedGeneration: rs.metadata.generation ?? 1 } });
    if (!r.ok) throw new Error(r.error.message);
  }
  await f.settle();
}

async function setTemplate(name: string, image: string): Promise<void> {
  const d = await f.get<Deployment>(DEPLOYMENTS, 'default', name);
  const r = await f.client.update<Deployment>(DEPLOYMENTS, { ...d!, spec: { ...d!.spec!, template: template({ app: name }, image) } });
  if (!r.ok) throw new Error(r.error.message);
  await f.settle();
}

async function reconcile(): Promise<string[]> {
  f.clear();
  await dc.reconcile('default/web');
  const w = f.client.writes();
  await f.settle();
  return w;
}

describe('deployment arithmetic', () => {
  it('rounds surge up and unavailability down, and never lets both be zero', () => {
    expect(resolveIntOrPercent('25%', 10, true, '0')).toBe(3);
    expect(resolveIntOrPercent('25%', 10, false, '0')).toBe(2);
    expect(resolveIntOrPercent(2, 10, false, '0')).toBe(2);
    expect(surgeAndUnavailable(deployment('x', 4))).toEqual({ maxSurge: 1, maxUnavailable: 1 });
    expect(surgeAndUnavailable(deployment('x', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }))).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it('treats null fields as absent when matching templates (kubectl rollout undo sends creationTimestamp: null)', () => {
    const d = deployment('web', 1);
    const rs: ReplicaSet = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-x' }, spec: { selector: {}, template: { metadata: { labels: { app: 'web', 'pod-template-hash': 'x' } }, spec: d.spec!.template.spec! } } };
    const undone = { ...d, spec: { ...d.spec!, template: { ...d.spec!.template, metadata: { ...d.spec!.template.metadata, creationTimestamp: null } } } } as unknown as Deployment;
    expect(sameTemplate(rs, undone)).toBe(true);
    expect(podTemplateHash(undone.spec?.template, undefined)).toBe(podTemplateHash(d.spec?.template, undefined));
  });

  it('hashes templates stably into the safe alphabet', () => {
    const a = podTemplateHash(template({ app: 'a' }), undefined);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(podTemplateHash(template({ app: 'a' }), undefined)).toBe(a);
    expect(podTemplateHash(template({ app: 'a' }), 1)).not.toBe(a);
  });
});

describe('DeploymentController', () => {
  afterEach(() => {
    dc.stop();
    f.close();
  });

  it('creates the first ReplicaSet at full size with revision 1, hash label and owner', async () => {
    f = await newFixture();
    const d = await f.create(DEPLOYMENTS, deployment('web', 3));
    await start();
    const w = await reconcile();
    const [rs] = await rsList();
    const name = rs?.metadata.name ?? '';
    expect(name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(w).toEqual([`create replicasets default/${name}`, 'update deployments default/web', 'update deployments/status default/web']);
    const hash = rs?.metadata.labels?.['pod-template-hash'];
    expect(rs?.spec?.replicas).toBe(3);
    expect(rs?.spec?.selector?.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs?.spec?.template?.metadata?.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(rs?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true });
    expect(f.events.events).toEqual([{ object: 'Deployment default/web', type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${name} from 0 to 3` }]);
    const dd = await f.get<Deployment>(DEPLOYMENTS, 'default', 'web');
    expect(dd?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(dd?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetCreated');
  });

  it('rolls within maxSurge 1 / maxUnavailable 1, reports status, and completes', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await start();
    await reconcile();
    await settleRS();
    await reconcile();
    expect((await f.get<Deployment>(DEPLOYMENTS, 'default', 'web'))?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
    await setTemplate('web', 'busybox:2');
    // The new ReplicaSet starts at 1 (4 old + 1 new = replicas + maxSurge) and, as its pod is
    // not available yet, one old pod may go (4 available - 3 minimum).
    const w = await reconcile();
    let [old, cur] = await rsList();
    expect(w).toEqual([`create replicasets default/${cur?.metadata.name ?? ''}`, 'update deployments default/web', `update replicasets default/${old?.metadata.name ?? ''}`, 'update deployments/status default/web']);
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([3, 1]);
    // 3 + 1 leaves room for one more surge pod, but only once the old ReplicaSet has deleted the
    // pod it was scaled down from: while it still has 4, a second new pod would make 6 (> 4 + 1).
    expect(await reconcile()).toEqual([]);
    const shrunk = await f.client.updateStatus<ReplicaSet>(REPLICASETS, { ...old!, status: { replicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: old?.metadata.generation ?? 1 } });
    if (!shrunk.ok) throw new Error(shrunk.error.message);
    await f.settle();
    // Now it has 3: the new ReplicaSet grows; the old one waits for availability.
    expect(await reconcile()).toEqual([`update replicasets default/${cur?.metadata.name ?? ''}`, 'update deployments/status default/web']);
    [old, cur] = await rsList();
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([3, 2]);
    const mid = await f.get<Deployment>(DEPLOYMENTS, 'default', 'web');
    expect(mid?.status).toMatchObject({ replicas: 3, availableReplicas: 3, observedGeneration: 2 });
    expect(mid?.status?.updatedReplicas).toBeUndefined();
    for (let i = 0; i < 10; i++) {
      await settleRS();
      await reconcile();
      const all = await rsList();
      const total = all.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
      expect(total).toBeLessThanOrEqual(5);
      if (all[1]?.spec?.replicas === 4 && all[0]?.spec?.replicas === 0) break;
    }
    await settleRS();
    await reconcile();
    [old, cur] = await rsList();
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([0, 4]);
    const done = await f.get<Deployment>(DEPLOYMENTS, 'default', 'web');
    expect(done?.status).toMatchObject({ replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4 });
    expect(done?.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ]);
  });

  it('counts an old ReplicaSet still deleting pods by what it keeps: no deeper scale-down, no growth into its room', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
    await start();
    await reconcile();
    await settleRS();
    await setTemplate('web', 'busybox:2');
    await reconcile();
    let [old, cur] = await rsList();
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([8, 3]);
    // The new pods turn available while the old ReplicaSet's status still shows its 10 pods.
    const ready = await f.client.updateStatus<ReplicaSet>(REPLICASETS, { ...cur!, status: { replicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: cur?.metadata.generation ?? 1 } });
    if (!ready.ok) throw new Error(ready.error.message);
    await f.settle();
    expect(old?.status?.availableReplicas).toBe(10);
    // Available: 8 kept by the old one (not its reported 10) + 3 new = 11, 3 over the minimum of
    // 8, so the old one goes to 5 (not to 3); and with 10 old pods still there the new one may
    // not grow (10 + 3 is already replicas + maxSurge).
    expect(await reconcile()).toEqual([`update replicasets default/${old?.metadata.name ?? ''}`, 'update deployments/status default/web']);
    [old, cur] = await rsList();
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([5, 3]);
  });

  it('scales proportionally in the middle of a rollout (leftover to the largest ReplicaSet)', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
    await start();
    await reconcile();
    await settleRS();
    await setTemplate('web', 'busybox:2');
    await reconcile();
    let [old, cur] = await rsList();
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([8, 3]);
    const d = await f.get<Deployment>(DEPLOYMENTS, 'default', 'web');
    await f.client.update(DEPLOYMENTS, { ...d!, spec: { ...d!.spec!, replicas: 20 } });
    await f.settle();
    // 23 allowed - 11 = 12 more: 8 → 14 and 3 → 5 by proportion (of max-replicas 13), 4 left over to the larger.
    expect(await reconcile()).toEqual([`update replicasets default/${old?.metadata.name ?? ''}`, `update replicasets default/${cur?.metadata.name ?? ''}`, 'update deployments/status default/web']);
    [old, cur] = await rsList();
    expect([old?.spec?.replicas, cur?.spec?.replicas]).toEqual([18, 5]);
    expect([old?.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], cur?.metadata.annotations?.['deployment.kubernetes.io/max-replicas']]).toEqual(['20', '23']);
  });

  it('rollout undo: the old template revives its ReplicaSet under the next revision', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 1, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await start();
    await reconcile();
    await settleRS();
    await setTemplate('web', 'busybox:2');
    for (let i = 0; i < 4; i++) {
      await reconcile();
      await settleRS();
    }
    const [first] = await rsList();
    await setTemplate('web', 'busybox:1');
    const w = await reconcile();
    expect(w[0]).toBe(`update replicasets default/${first?.metadata.name ?? ''}`);
    const revived = await f.get<ReplicaSet>(REPLICASETS, 'default', first?.metadata.name ?? '');
    expect(revived?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(revived?.metadata.annotations?.['deployment.kubernetes.io/revision-history']).toBe('1');
    expect((await f.get<Deployment>(DEPLOYMENTS, 'default', 'web'))?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(await f.list(REPLICASETS, 'default')).toHaveLength(2);
  });

  it('Recreate scales the old ReplicaSet to zero before the new one exists', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 2, { strategy: { type: 'Recreate' } }));
    await start();
    await reconcile();
    await settleRS();
    await setTemplate('web', 'busybox:2');
    const [old] = await rsList();
    expect(await reconcile()).toEqual([`update replicasets default/${old?.metadata.name ?? ''}`, 'update deployments/status default/web']);
    // The old ReplicaSet still reports pods: nothing new yet.
    expect((await reconcile()).filter((w) => w.startsWith('create'))).toEqual([]);
    await settleRS();
    const w = await reconcile();
    expect(w[0]).toMatch(/^create replicasets default\/web-/);
    const [, cur] = await rsList();
    expect(cur?.spec?.replicas).toBe(2);
  });

  it('paused: a template change makes no ReplicaSet; the Progressing condition says paused', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 2));
    await start();
    await reconcile();
    await settleRS();
    const d = await f.get<Deployment>(DEPLOYMENTS, 'default', 'web');
    await f.client.update(DEPLOYMENTS, { ...d!, spec: { ...d!.spec!, paused: true, template: template({ app: 'web' }, 'busybox:9') } });
    await f.settle();
    expect(await reconcile()).toEqual(['update deployments/status default/web']);
    expect(await f.list(REPLICASETS, 'default')).toHaveLength(1);
    expect((await f.get<Deployment>(DEPLOYMENTS, 'default', 'web'))?.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' });
  });

  it('deletes idle ReplicaSets beyond revisionHistoryLimit', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 1, { revisionHistoryLimit: 1, strategy: { type: 'Recreate' } }));
    await start();
    for (const image of ['busybox:2', 'busybox:3']) {
      await reconcile();
      await settleRS();
      await setTemplate('web', image);
      for (let i = 0; i < 3; i++) {
        await reconcile();
        await settleRS();
      }
    }
    const revisions = (await rsList()).map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']);
    expect(revisions).toEqual(['2', '3']);
  });

  it('marks ProgressDeadlineExceeded when a rollout makes no progress within the deadline', async () => {
    f = await newFixture();
    await f.create(DEPLOYMENTS, deployment('web', 2, { progressDeadlineSeconds: 10 }));
    await start();
    await reconcile();
    // The ReplicaSet's pods never become available.
    f.wall += 11_000;
    await reconcile();
    const p = (await f.get<Deployment>(DEPLOYMENTS, 'default', 'web'))?.status?.conditions?.find((c) => c.type === 'Progressing');
    expect(p).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(p?.message).toMatch(/^ReplicaSet "web-\w+" has timed out progressing\.$/);
  });
});
