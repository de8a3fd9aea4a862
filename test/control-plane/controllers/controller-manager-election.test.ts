/**
 * runControllerManager under leader election: of two managers only one runs controllers; when it
 * stops (releasing the lease) the other takes over and converges what changed meanwhile. Waits
 * are bounded polls for a condition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import { CONTROLLER_MANAGER_LEASE, LEASES } from '../../../src/control-plane/client/leader-election.js';
import type { LeaseObject } from '../../../src/control-plane/client/leader-election.js';
import type { ControllerManagerHandle } from '../../../src/control-plane/controllers/manager.js';
import { runControllerManager } from '../../../src/control-plane/controllers/manager.js';
import type { ReplicaSet } from '../../../src/control-plane/controllers/objects.js';
import { PODS, REPLICASETS } from '../../../src/control-plane/controllers/objects.js';
import type { Cluster } from '../client/harness.js';
import { startCluster, TOKEN } from '../client/harness.js';
import { replicaSet } from './workloads.js';

let cluster: Cluster;
const clients: ApiClient[] = [];
const managers: ControllerManagerHandle[] = [];

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  cluster = await startCluster(2);
  for (const [i, s] of cluster.servers.entries()) {
    const client = new ApiClient({ endpoints: [s.endpoint], token: TOKEN });
    clients.push(client);
    managers.push(runControllerManager({ client, master: `m${i + 1}`, controllers: ['replicaset'], election: { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 250 } }));
  }
});

afterAll(async () => {
  for (const m of managers) await m.stop();
  for (const c of clients) c.close();
  cluster.close();
});

async function podCount(): Promise<number> {
  const r = await clients[1]!.list(PODS, { namespace: 'default' });
  return r.ok ? r.value.items.length : -1;
}

describe('controller-manager leader election', () => {
  it('runs controllers on one manager only, and hands over when the leader stops', async () => {
    await waitFor('a leader', () => managers.some((m) => m.isLeader()));
    const leader = managers.findIndex((m) => m.isLeader());
    const other = 1 - leader;
    expect(managers[other]!.isLeader()).toBe(false);
    const lease = await clients[0]!.get<LeaseObject>(LEASES, CONTROLLER_MANAGER_LEASE);
    expect(lease.ok && lease.value.spec?.holderIdentity).toBe(managers[leader]!.identity);

    expect((await clients[0]!.create<ReplicaSet>(REPLICASETS, replicaSet('web', 2))).ok).toBe(true);
    await waitFor('2 pods', async () => (await podCount()) === 2);

    await managers[leader]!.stop();
    await waitFor('the other manager to lead', () => managers[other]!.isLeader());
    const rs = await clients[1]!.get<ReplicaSet>(REPLICASETS, { namespace: 'default', name: 'web' });
    if (!rs.ok) throw new Error(rs.error.message);
    expect((await clients[1]!.update<ReplicaSet>(REPLICASETS, { ...rs.value, spec: { ...rs.value.spec!, replicas: 4 } })).ok).toBe(true);
    await waitFor('4 pods', async () => (await podCount()) === 4);
    expect(await podCount()).toBe(4);
  });
});
