/**
 * Fencing in the object store, against a real raftkube etcd layer: a kube-system Lease's term
 * record follows the Lease in the Lease's own transaction (changed by a change of hands, not by
 * renewals; deleted with it); a fenced write applies while its term holds and is refused — by
 * etcd's compare, with nothing written — once the Lease changed hands; and the object's own
 * compare still decides when the fence holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { buf } from '../../../src/kv/client/etcd-client.js';
import { responseDecoders } from '../../../src/kv/proto/index.js';
import { termKey, termValue } from '../../../src/control-plane/storage/fencing.js';
import { ObjectStore } from '../../../src/control-plane/storage/store.js';
import { startCluster, type TestCluster } from '../../integration/harness.js';

const LEASE_KEY = '/registry/coordination.k8s.io/leases/kube-system/kube-scheduler';
const NODE_LEASE_KEY = '/registry/coordination.k8s.io/leases/kube-node-lease/n1';
const CM_KEY = '/registry/core/configmaps/default/fenced';

function lease(holder: string, transitions: number, renew = '2026-01-01T00:00:00.000000Z'): KubeObject {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: 'kube-system', name: 'kube-scheduler' }, spec: { holderIdentity: holder, leaseTransitions: transitions, renewTime: renew } };
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: { kind: string; message: string } }): T {
  if (!r.ok) throw new Error(`Expected success, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

describe('fenced writes in the object store', () => {
  let c: TestCluster;
  let store: ObjectStore;

  beforeAll(async () => {
    c = await startCluster({ masters: 1, spareMembers: 0 });
    store = new ObjectStore(c.clientURLs, { retryMs: 10_000 });
  }, 120_000);

  afterAll(async () => {
    store?.close();
    await c?.stop();
  }, 60_000);

  async function term(namespace: string, name: string): Promise<{ value: string; modRevision: number } | null> {
    const r = await store.client.unaryAt(0, 'KV', 'Range', { key: buf(termKey(namespace, name)) }, responseDecoders.RangeResponse);
    const kv = r.kvs[0];
    return kv === undefined ? null : { value: Buffer.from(kv.value).toString('utf8'), modRevision: kv.mod_revision };
  }

  it('keeps the term record in step with a kube-system Lease, and only there', async () => {
    const made = must(await store.create(LEASE_KEY, lease('m1_a', 0)));
    expect((await term('kube-system', 'kube-scheduler'))?.value).toBe(termValue('m1_a', 0));
    const renewed = must(await store.update(LEASE_KEY, lease('m1_a', 0, '2026-01-01T00:00:01.000000Z'), Number(made.metadata.resourceVersion)));
    expect((await term('kube-system', 'kube-scheduler'))?.value).toBe(termValue('m1_a', 0));
    const fence = { namespace: 'kube-system', name: 'kube-scheduler', holderIdentity: 'm1_a', leaseTransitions: 0 };
    const cm = must(await store.create(CM_KEY, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'fenced' }, data: { a: '1' } }, { fence }));

    // The object's own compare still decides while the fence holds.
    const stale = await store.update(CM_KEY, { ...cm, data: { a: 'stale' } }, Number(cm.metadata.resourceVersion) - 1, { fence });
    expect(!stale.ok && stale.error.kind).toBe('conflict');

    // m2 takes the lease: the term changes, and m1's fenced writes are refused with nothing written.
    must(await store.update(LEASE_KEY, lease('m2_b', 1), Number(renewed.metadata.resourceVersion)));
    expect((await term('kube-system', 'kube-scheduler'))?.value).toBe(termValue('m2_b', 1));
    const late = await store.update(CM_KEY, { ...cm, data: { a: 'late' } }, Number(cm.metadata.resourceVersion), { fence });
    expect(!late.ok && late.error.kind).toBe('fenced');
    expect(!late.ok && late.error.message).toMatch(/^The write is fenced by the lease kube-system\/kube-scheduler \(holder m1_a, term 0\)/);
    const lateCreate = await store.create('/registry/core/configmaps/default/late', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'late' } }, { fence });
    expect(!lateCreate.ok && lateCreate.error.kind).toBe('fenced');
    const lateDelete = await store.delete(CM_KEY, undefined, { fence });
    expect(!lateDelete.ok && lateDelete.error.kind).toBe('fenced');
    expect(must(await store.get(CM_KEY))?.['data']).toEqual({ a: '1' });
    expect(must(await store.get('/registry/core/configmaps/default/late'))).toBeNull();

    // m2's fence holds.
    const m2 = { ...fence, holderIdentity: 'm2_b', leaseTransitions: 1 };
    expect(must(await store.update(CM_KEY, { ...cm, data: { a: 'm2' } }, Number(cm.metadata.resourceVersion), { fence: m2 }))['data']).toEqual({ a: 'm2' });

    // Deleting the lease deletes its term record: no fence holds any more.
    must(await store.delete(LEASE_KEY));
    expect(await term('kube-system', 'kube-scheduler')).toBeNull();
    const orphan = await store.delete(CM_KEY, undefined, { fence: m2 });
    expect(!orphan.ok && orphan.error.kind).toBe('fenced');

    // Leases elsewhere (node heartbeats) keep no term record.
    must(await store.create(NODE_LEASE_KEY, { ...lease('n1', 0), metadata: { namespace: 'kube-node-lease', name: 'n1' } }));
    expect(await term('kube-node-lease', 'n1')).toBeNull();
  });
});
