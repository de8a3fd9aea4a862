/**
 * Leader election gating on a virtual clock: of two schedulers only the lease holder binds; a
 * stopped leader releases the lease and the standby takes over; a leader whose renewals fail
 * steps down and stops scheduling.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject, Result } from '../../../src/control-plane/api/types.js';
import { err } from '../../../src/control-plane/api/types.js';
import type { ApiError, WriteOptions } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ResourceDescriptor, SubresourceOption } from '../../../src/control-plane/client/api-client.js';
import { flushAsync, VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { LeaseObject } from '../../../src/control-plane/client/leader-election.js';
import { LEASES, SCHEDULER_LEASE } from '../../../src/control-plane/client/leader-election.js';
import type { SchedulerHandle } from '../../../src/control-plane/scheduler/run.js';
import { runScheduler } from '../../../src/control-plane/scheduler/run.js';
import { NODES, PODS } from '../../../src/control-plane/scheduler/scheduler.js';
import type { PodObject } from '../../../src/control-plane/scheduler/types.js';
import { newRegistry } from '../client/harness.js';
import { RegistryClient } from '../client/registry-client.js';
import { makeNode, makePod } from './fixtures.js';

async function until(cond: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await flushAsync();
  }
  throw new Error(`Gave up waiting until ${what}`);
}

const handles: SchedulerHandle[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.stop();
});

function bindingsBy(c: RegistryClient): string[] {
  return c.writes().filter((w) => w.startsWith('create pods/binding'));
}

describe('scheduler leader election', () => {
  it('lets only the lease holder schedule, and hands over when it stops', async () => {
    const { registry } = await newRegistry();
    const admin = new RegistryClient(registry);
    const clock = new VirtualClock();
    const clients = [new RegistryClient(registry), new RegistryClient(registry)];
    const bound = new Map<string, string>();
    const hs = clients.map((client, i) => runScheduler({ client, clock, master: `m${i + 1}`, onBound: (k, n) => bound.set(k, n) }));
    handles.push(...hs);
    await clock.advance(3000);
    expect(hs.filter((h) => h.isLeader())).toHaveLength(1);
    const leaderIx = hs.findIndex((h) => h.isLeader());
    const leader = hs[leaderIx]!;
    const standbyIx = 1 - leaderIx;
    const lease = await admin.get<LeaseObject>(LEASES, SCHEDULER_LEASE);
    expect(lease.ok && lease.value.spec?.holderIdentity).toBe(leader.identity);
    expect(leader.identity.startsWith(`m${leaderIx + 1}_`)).toBe(true);

    await admin.create(NODES, makeNode('n1'));
    for (const p of ['a', 'b', 'c']) await admin.create(PODS, makePod(p));
    await until(() => bound.size === 3, 'three pods are bound');
    expect(bindingsBy(clients[leaderIx]!)).toHaveLength(3);
    expect(bindingsBy(clients[standbyIx]!)).toEqual([]);
    // The standby keeps a warm cache all the same.
    await until(() => hs[standbyIx]!.scheduler.cache.stats().pods === 3, 'the standby sees the bound pods');

    await leader.stop();
    await clock.advance(3000);
    expect(hs[standbyIx]!.isLeader()).toBe(true);
    await admin.create(PODS, makePod('d'));
    await until(() => bound.size === 4, 'the new leader binds the fourth pod');
    expect(bindingsBy(clients[standbyIx]!)).toEqual(['create pods/binding default/d']);
  });

  it('stops scheduling when the lease cannot be renewed', async () => {
    const { registry } = await newRegistry();
    const admin = new RegistryClient(registry);
    const clock = new VirtualClock();
    let leaseWritesFail = false;
    const client = new RegistryClient(registry);
    const update = client.update.bind(client);
    client.update = <T = KubeObject>(res: ResourceDescriptor, obj: T & KubeObject, o?: WriteOptions & SubresourceOption): Promise<Result<T, ApiError>> => {
      if (leaseWritesFail && res.plural === 'leases') return Promise.resolve(err({ code: 503, reason: 'ServiceUnavailable', message: 'no apiserver answered' }));
      return update<T>(res, obj, o);
    };
    let leading = false;
    const h = runScheduler({ client, clock, master: 'm1', onLeaderChange: (l) => (leading = l) });
    handles.push(h);
    await clock.advance(1000);
    expect(leading).toBe(true);
    await admin.create(NODES, makeNode('n1'));
    await admin.create(PODS, makePod('before'));
    await until(() => h.scheduler.stats.bound === 1, 'the leader binds a pod');

    leaseWritesFail = true;
    await clock.advance(5000);
    expect(leading).toBe(false);
    expect(h.isLeader()).toBe(false);
    await admin.create(PODS, makePod('after'));
    await clock.advance(100);
    for (let i = 0; i < 50; i++) await flushAsync();
    const after = await admin.get<PodObject>(PODS, { namespace: 'default', name: 'after' });
    expect(after.ok && after.value.spec?.nodeName).toBeUndefined();
    expect(bindingsBy(client)).toEqual(['create pods/binding default/before']);
    expect(h.scheduler.queue.lengths().active).toBe(1);
  });
});
