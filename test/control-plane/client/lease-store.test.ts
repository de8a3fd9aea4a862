/**
 * Leader election over the real apiserver: leaseStoreOf(ApiClient) against an in-process gRPC
 * apiserver, so the Lease as the elector writes it (MicroTime strings, CAS on resourceVersion)
 * is what the registry accepts. Time for the electors is virtual; only the I/O is real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import { VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { LeaseObject } from '../../../src/control-plane/client/leader-election.js';
import { LeaderElector, LEASES, leaseStoreOf, SCHEDULER_LEASE } from '../../../src/control-plane/client/leader-election.js';
import type { Cluster } from './harness.js';
import { startCluster, TOKEN } from './harness.js';

let cluster: Cluster | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cluster?.close();
  cluster = undefined;
});

/** Signals turns elector callbacks into promises a test can await. */
class Signals {
  readonly #waiters: Array<{ check: () => boolean; resolve: () => void }> = [];
  readonly seen: string[] = [];

  push(s: string): void {
    this.seen.push(s);
    for (const w of [...this.#waiters]) {
      if (w.check()) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  until(s: string): Promise<void> {
    const check = (): boolean => this.seen.includes(s);
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ check, resolve }));
  }
}

function elector(client: ApiClient, clock: VirtualClock, identity: string, sig: Signals): LeaderElector {
  const e = new LeaderElector({
    store: leaseStoreOf(client),
    lease: SCHEDULER_LEASE,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: () => sig.push(`${identity} started`),
    onStoppedLeading: () => sig.push(`${identity} stopped`),
    onNewLeader: (who) => sig.push(`${identity} sees ${who === '' ? '<free>' : who}`),
  });
  cleanups.push(() => e.stop());
  return e;
}

describe('LeaderElector over the apiserver', () => {
  it('acquires, is seen by a standby, releases on stop, and the standby takes over', async () => {
    cluster = await startCluster();
    const client = new ApiClient({ endpoints: [cluster.servers[0]!.endpoint], token: TOKEN });
    cleanups.push(() => client.close());
    const clock = new VirtualClock();
    const sig = new Signals();
    const a = elector(client, clock, 'm1_aaaa', sig);
    const b = elector(client, clock, 'm2_bbbb', sig);
    a.start();
    await clock.advance(0);
    await sig.until('m1_aaaa started');
    const lease = await client.get<LeaseObject>(LEASES, SCHEDULER_LEASE);
    expect(lease.ok && lease.value.spec).toMatchObject({ holderIdentity: 'm1_aaaa', leaseDurationSeconds: 6, leaseTransitions: 0 });
    expect(lease.ok && lease.value.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(a.fence()?.resourceVersion).toBe(lease.ok ? lease.value.metadata.resourceVersion : 'none');
    expect(await a.stillLeader()).toBe(true);

    b.start();
    await clock.advance(0);
    await sig.until('m2_bbbb sees m1_aaaa');
    expect(b.isLeader()).toBe(false);

    // A write with an old resourceVersion is refused: the CAS the election relies on.
    const store = leaseStoreOf(client);
    const probe = await store.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: 'kube-system', name: 'cas-probe' }, spec: { holderIdentity: 'x' } });
    if (!probe.ok) throw new Error(JSON.stringify(probe.error));
    expect((await store.update({ ...probe.value, spec: { holderIdentity: 'y' } })).ok).toBe(true);
    const stale = await store.update({ ...probe.value, spec: { holderIdentity: 'z' } });
    expect(stale.ok ? null : stale.error.code).toBe(409);

    await a.stop();
    expect(sig.seen).toContain('m1_aaaa stopped');
    const released = await client.get<LeaseObject>(LEASES, SCHEDULER_LEASE);
    expect(released.ok && released.value.spec?.holderIdentity).toBe('');
    await clock.advance(1000);
    await sig.until('m2_bbbb started');
    expect(b.isLeader()).toBe(true);
    const taken = await client.get<LeaseObject>(LEASES, SCHEDULER_LEASE);
    expect(taken.ok && taken.value.spec).toMatchObject({ holderIdentity: 'm2_bbbb', leaseTransitions: 1 });
  });
});
