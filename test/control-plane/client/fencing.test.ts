/**
 * Fenced writes end to end in one process: a LeaderElector over the real gRPC face, its
 * FencedKubeClient, the registry and the in-memory storage. A leader's writes go through (also
 * across renewals); once another holder took the Lease, the deposed leader's writes — still
 * believing it leads, as one whose renewal is late does — are refused with 409 and change
 * nothing; the new holder's go through. A client that does not lead sends nothing, and the
 * apiserver refuses malformed fences and fences on leases outside kube-system.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { isFencedRefusal, type WriteFence } from '../../../src/control-plane/apiserver/registry-api.js';
import { ApiClient, type ResourceDescriptor } from '../../../src/control-plane/client/api-client.js';
import { VirtualClock } from '../../../src/control-plane/client/clock.js';
import { FencedKubeClient } from '../../../src/control-plane/client/fenced-client.js';
import { LEASES, LeaderElector, leaseStoreOf, type LeaseObject } from '../../../src/control-plane/client/leader-election.js';
import { waitFor } from '../../integration/harness.js';
import { startCluster, TOKEN, type Cluster } from './harness.js';

const CONFIGMAPS: ResourceDescriptor = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };
const PODS: ResourceDescriptor = { group: '', version: 'v1', plural: 'pods', namespaced: true };
const LEASE = { namespace: 'kube-system', name: 'fencing-test' };

function cm(name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name }, data };
}

function pod(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', name }, spec: { containers: [{ name: 'c', image: 'x' }] } };
}

describe('fenced writes through the gRPC face', () => {
  let c: Cluster;
  let admin: ApiClient;

  beforeAll(async () => {
    c = await startCluster(1);
    admin = new ApiClient({ endpoints: [c.servers[0]!.endpoint], token: TOKEN });
  });

  afterAll(() => {
    admin?.close();
    c?.close();
  });

  it("refuses a deposed leader's writes and lets the current leader's through", async () => {
    const clock = new VirtualClock();
    const elector = new LeaderElector({ store: leaseStoreOf(admin), lease: LEASE, identity: 'm1_aaaa', clock, onStartedLeading: () => undefined });
    elector.start();
    await clock.advance(0);
    await waitFor('m1 leads', () => elector.isLeader(), { timeoutMs: 10_000 });
    const m1 = new FencedKubeClient(admin, () => elector.writeFence());
    expect(elector.writeFence()).toEqual({ namespace: 'kube-system', name: 'fencing-test', holderIdentity: 'm1_aaaa', leaseTransitions: 0 });

    const first = await m1.create(CONFIGMAPS, cm('first'));
    expect(first.ok).toBe(true);

    // Renewals move the lease's resourceVersion but not its term: the leader's writes still go through.
    const before = await admin.get<LeaseObject>(LEASES, LEASE);
    for (let i = 0; i < 3; i++) {
      const rv = (await admin.get<LeaseObject>(LEASES, LEASE));
      await clock.advance(1_000);
      await waitFor('a renewal', async () => {
        const now = await admin.get<LeaseObject>(LEASES, LEASE);
        return now.ok && rv.ok && now.value.metadata.resourceVersion !== rv.value.metadata.resourceVersion;
      }, { timeoutMs: 10_000 });
    }
    const after = await admin.get<LeaseObject>(LEASES, LEASE);
    expect(before.ok && after.ok && before.value.metadata.resourceVersion !== after.value.metadata.resourceVersion).toBe(true);
    const renewed = await m1.create(CONFIGMAPS, cm('after-renewals'));
    expect(renewed.ok).toBe(true);
    const unbound = await admin.create(PODS, pod('p'));
    expect(unbound.ok).toBe(true);

    // Another master takes the lease over, as its elector does once the lease expired; m1's clock
    // stands still, so m1 has not noticed and still believes it leads (a late renewal).
    const cur = await admin.get<LeaseObject>(LEASES, LEASE);
    if (!cur.ok) throw new Error(cur.error.message);
    const taken = await admin.update<LeaseObject>(LEASES, { ...cur.value, spec: { ...cur.value.spec, holderIdentity: 'm2_bbbb', leaseTransitions: 1 } });
    expect(taken.ok).toBe(true);
    expect(elector.isLeader()).toBe(true);

    const refusals = [
      await m1.create(CONFIGMAPS, cm('late')),
      await m1.update(CONFIGMAPS, { ...(first.ok ? first.value : cm('first')), data: { late: 'yes' } }),
      await m1.patch(CONFIGMAPS, { namespace: 'default', name: 'first' }, { type: 'merge', patch: { data: { late: 'patch' } } }),
      await m1.delete(CONFIGMAPS, { namespace: 'default', name: 'first' }),
      await m1.bind({ namespace: 'default', name: 'p' }, 'node-from-m1'),
    ];
    for (const r of refusals) {
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.code).toBe(409);
      expect(isFencedRefusal(r.error)).toBe(true);
      expect(r.error.message).toContain('kube-system/fencing-test');
      expect(r.error.message).toContain('m1_aaaa');
    }
    // Nothing of them happened.
    expect((await admin.get(CONFIGMAPS, { namespace: 'default', name: 'late' })).ok).toBe(false);
    const firstNow = await admin.get<KubeObject>(CONFIGMAPS, { namespace: 'default', name: 'first' });
    expect(firstNow.ok && firstNow.value['data']).toEqual({});
    const podNow = await admin.get<KubeObject & { spec?: { nodeName?: string } }>(PODS, { namespace: 'default', name: 'p' });
    expect(podNow.ok && (podNow.value.spec?.nodeName ?? '')).toBe('');

    // The new holder's writes go through.
    const m2Fence: WriteFence = { namespace: 'kube-system', name: 'fencing-test', holderIdentity: 'm2_bbbb', leaseTransitions: 1 };
    const m2 = new FencedKubeClient(admin, () => m2Fence);
    expect((await m2.bind({ namespace: 'default', name: 'p' }, 'node-from-m2')).ok).toBe(true);
    expect((await m2.create(CONFIGMAPS, cm('from-m2'))).ok).toBe(true);
    const bound = await admin.get<KubeObject & { spec?: { nodeName?: string } }>(PODS, { namespace: 'default', name: 'p' });
    expect(bound.ok && bound.value.spec?.nodeName).toBe('node-from-m2');

    // m1 finds the new holder at its next round and stops leading; its fence is gone.
    await clock.advance(1_000);
    await waitFor('m1 steps down', () => !elector.isLeader(), { timeoutMs: 10_000 });
    expect(elector.writeFence()).toBeNull();
    await elector.stop();
  });

  it('a fence from an earlier term of the same holder is refused', async () => {
    const lease = { namespace: 'kube-system', name: 'fencing-terms' };
    const made = await admin.create<LeaseObject>(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...lease }, spec: { holderIdentity: 'm1_x', leaseTransitions: 4 } });
    if (!made.ok) throw new Error(made.error.message);
    // Released, then taken again by the same identity: a new term (leaseTransitions 5).
    const again = await admin.update<LeaseObject>(LEASES, { ...made.value, spec: { holderIdentity: 'm1_x', leaseTransitions: 5 } });
    expect(again.ok).toBe(true);
    const old = await admin.create(CONFIGMAPS, cm('old-term'), { fence: { ...lease, holderIdentity: 'm1_x', leaseTransitions: 4 } });
    expect(!old.ok && isFencedRefusal(old.error)).toBe(true);
    const cur = await admin.create(CONFIGMAPS, cm('new-term'), { fence: { ...lease, holderIdentity: 'm1_x', leaseTransitions: 5 } });
    expect(cur.ok).toBe(true);
    // A fence on a lease that does not exist is refused too.
    const none = await admin.create(CONFIGMAPS, cm('no-lease'), { fence: { namespace: 'kube-system', name: 'nobody', holderIdentity: 'm1_x', leaseTransitions: 0 } });
    expect(!none.ok && isFencedRefusal(none.error)).toBe(true);
  });

  it('sends nothing while it does not lead', async () => {
    const idle = new FencedKubeClient(admin, () => null);
    const r = await idle.create(CONFIGMAPS, cm('never'));
    expect(!r.ok && r.error.code).toBe(409);
    expect(!r.ok && isFencedRefusal(r.error)).toBe(true);
    expect((await admin.get(CONFIGMAPS, { namespace: 'default', name: 'never' })).ok).toBe(false);
  });

  it('refuses a fence on a lease outside kube-system', async () => {
    const r = await admin.create(CONFIGMAPS, cm('elsewhere'), { fence: { namespace: 'default', name: 'x', holderIdentity: 'm1_x', leaseTransitions: 0 } });
    expect(!r.ok && r.error.code).toBe(400);
    expect(!r.ok && r.error.message).toMatch(/Only Leases in kube-system can fence writes/);
  });
});
