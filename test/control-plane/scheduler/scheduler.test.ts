/**
 * The scheduler over the in-process registry (RegistryClient) on a virtual clock: exact
 * bindings, assumed pods seen by the next cycle before the watch catches up, the Unschedulable
 * condition and its aggregated FailedScheduling Event, the Scheduled Event, retries after a
 * failed binding, and waking parked pods when a node arrives.
 */
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Result } from '../../../src/control-plane/api/types.js';
import { err } from '../../../src/control-plane/api/types.js';
import type { ApiError } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ObjectKey, TypedList } from '../../../src/control-plane/client/api-client.js';
import { flushAsync, VirtualClock } from '../../../src/control-plane/client/clock.js';
import { EVENTS } from '../../../src/control-plane/scheduler/events.js';
import type { SchedulerHandle } from '../../../src/control-plane/scheduler/run.js';
import { runScheduler } from '../../../src/control-plane/scheduler/run.js';
import { NODES, PODS, Scheduler } from '../../../src/control-plane/scheduler/scheduler.js';
import type { PodObject } from '../../../src/control-plane/scheduler/types.js';
import { newRegistry } from '../client/harness.js';
import { RegistryClient } from '../client/registry-client.js';
import { makeNode, makePod } from './fixtures.js';

interface EventObject {
  metadata: { name: string; namespace: string };
  reason: string;
  message: string;
  type: string;
  count: number;
  source: { component: string };
  reportingComponent: string;
  involvedObject: { kind: string; name: string; namespace: string };
}

const WALL = new Date('2026-11-30T10:00:00Z');

/** until lets the event loop turn until `cond` holds, at most `turns` times (no timers involved). */
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

async function setup(o: { readonly wrap?: (c: RegistryClient) => RegistryClient } = {}): Promise<{ client: RegistryClient; clock: VirtualClock; h: SchedulerHandle; bindings: Map<string, string> }> {
  const { registry } = await newRegistry();
  const client = new RegistryClient(registry);
  const clock = new VirtualClock();
  const bindings = new Map<string, string>();
  const h = runScheduler({ client: o.wrap?.(client) ?? client, clock, wallClock: () => WALL, leaderElection: false, onBound: (k, n) => bindings.set(k, n) });
  handles.push(h);
  await clock.advance(0);
  expect(await h.synced()).toBe(true);
  return { client, clock, h, bindings };
}

async function podsOf(client: RegistryClient): Promise<Map<string, PodObject>> {
  const r = await client.list<PodObject>(PODS, { namespace: 'default' });
  if (!r.ok) throw new Error(r.error.message);
  return new Map(r.value.items.map((p) => [p.metadata.name ?? '', p]));
}

async function eventsOf(client: RegistryClient): Promise<EventObject[]> {
  const r: Result<TypedList<EventObject>, ApiError> = await client.list<EventObject>(EVENTS, { namespace: 'default' });
  if (!r.ok) throw new Error(r.error.message);
  return [...r.value.items].sort((a, b) => a.reason.localeCompare(b.reason) || a.involvedObject.name.localeCompare(b.involvedObject.name));
}

describe('scheduler over the in-process registry', () => {
  it('binds each pod to the node the plugins pick, through pods/binding, with a Scheduled event', async () => {
    const { client, h, bindings } = await setup();
    await client.create(NODES, makeNode('small', { cpu: '1', memory: '2Gi' }));
    await client.create(NODES, makeNode('gpu', { cpu: '4', memory: '8Gi', labels: { accelerator: 'gpu' }, taints: [{ key: 'gpu', effect: 'NoSchedule' }] }));
    await client.create(NODES, makeNode('big', { cpu: '8', memory: '16Gi' }));
    await client.create(PODS, makePod('web', { cpu: '500m', memory: '1Gi' }));
    await client.create(PODS, makePod('train', { cpu: '2', spec: { nodeSelector: { accelerator: 'gpu' }, tolerations: [{ key: 'gpu', operator: 'Exists' }] } }));
    await client.create(PODS, makePod('other', { spec: { schedulerName: 'my-scheduler' } }));
    await until(() => bindings.size === 2, 'two pods are bound');
    await h.scheduler.idle();
    expect(Object.fromEntries(bindings)).toEqual({ 'default/web': 'big', 'default/train': 'gpu' });
    const pods = await podsOf(client);
    expect(pods.get('web')?.spec?.nodeName).toBe('big');
    expect(pods.get('other')?.spec?.nodeName).toBeUndefined();
    expect(client.writes().filter((w) => w.includes('binding')).sort()).toEqual(['create pods/binding default/train', 'create pods/binding default/web']);
    const events = await eventsOf(client);
    expect(events.map((e) => [e.reason, e.type, e.message, e.source.component, e.reportingComponent, e.involvedObject.kind, e.count])).toEqual([
      ['Scheduled', 'Normal', 'Successfully assigned default/train to gpu', 'default-scheduler', 'default-scheduler', 'Pod', 1],
      ['Scheduled', 'Normal', 'Successfully assigned default/web to big', 'default-scheduler', 'default-scheduler', 'Pod', 1],
    ]);
    await until(() => h.scheduler.cache.stats().assumed === 0, 'the informer confirms both bindings');
    expect(h.scheduler.cache.stats()).toEqual({ nodes: 3, pods: 2, assumed: 0 });
  });

  it('lets back-to-back cycles see assumed pods before the watch reports the bindings', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const clock = new VirtualClock();
    // A bare Scheduler fed by hand: no informer, so nothing but its own assumptions can tell it
    // where the earlier pods went.
    const s = new Scheduler({ client, clock, wallClock: () => WALL });
    for (const n of ['n1', 'n2', 'n3']) s.nodeHandlers().onAdd?.(makeNode(n, { cpu: '2' }));
    for (const n of ['a', 'b', 'c']) {
      const created = await client.create<PodObject>(PODS, makePod(n, { cpu: '1500m' }));
      if (!created.ok) throw new Error(created.error.message);
      s.podHandlers().onAdd?.(created.value);
    }
    const picks = [s.scheduleNext(), s.scheduleNext(), s.scheduleNext(), s.scheduleNext()].map((o) => (o === undefined ? 'none' : o.ok ? o.node : o.message));
    expect(picks.slice(0, 3).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(picks[3]).toBe('none');
    expect(s.cache.stats()).toEqual({ nodes: 3, pods: 3, assumed: 3 });
    await s.idle();
    const pods = await podsOf(client);
    expect([...pods.values()].map((p) => p.spec?.nodeName).sort()).toEqual(['n1', 'n2', 'n3']);
    // Bound but not yet confirmed by an informer: the assumptions stand until their TTL.
    expect(s.cache.stats().assumed).toBe(3);
    await clock.advance(31_000);
    expect(s.cache.stats()).toEqual({ nodes: 3, pods: 0, assumed: 0 });
    s.close();
    expect(clock.pending()).toBe(0);
  });

  it('marks a pod that fits nowhere Unschedulable with the per-reason counts and one aggregated event', async () => {
    const { client, clock, h, bindings } = await setup();
    for (const n of ['n1', 'n2', 'n3']) await client.create(NODES, makeNode(n, { cpu: '1' }));
    const notReady = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const };
    for (const n of ['n4', 'n5']) await client.create(NODES, makeNode(n, { cpu: '16', ready: false, taints: [notReady] }));
    await client.create(PODS, makePod('big', { cpu: '2' }));
    const message = '0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 3 Insufficient cpu.';
    const condition = async (): Promise<PodCondition | undefined> => (await podsOf(client)).get('big')?.status?.conditions?.find((c) => c.type === 'PodScheduled');
    await until(() => h.scheduler.stats.unschedulable === 1, 'the pod is found unschedulable');
    await h.scheduler.idle();
    expect(await condition()).toEqual({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: '2026-11-30T10:00:00Z' });
    expect(h.scheduler.queue.lengths()).toEqual({ active: 0, backoff: 0, unschedulable: 1, inFlight: 0 });

    // A node update that does not help: the pod is tried again after its backoff, the event aggregated.
    const n1 = await client.get<ReturnType<typeof makeNode>>(NODES, { name: 'n1' });
    if (!n1.ok) throw new Error(n1.error.message);
    await client.update(NODES, { ...n1.value, metadata: { ...n1.value.metadata, labels: { ...n1.value.metadata.labels, tier: 'x' } } });
    await clock.advance(1000);
    await until(() => h.scheduler.stats.unschedulable === 2, 'the pod is tried again');
    await h.scheduler.idle();
    const events = await eventsOf(client);
    expect(events.map((e) => [e.reason, e.type, e.message, e.count, e.involvedObject.name, e.source.component])).toEqual([['FailedScheduling', 'Warning', message, 2, 'big', 'default-scheduler']]);
    // The condition did not change, so it was not written again.
    expect(client.writes().filter((w) => w === 'update pods/status default/big')).toHaveLength(1);

    // A node that fits arrives: the parked pod is bound at once (its backoff is over).
    await clock.advance(2000);
    await client.create(NODES, makeNode('n6', { cpu: '4' }));
    await until(() => bindings.size === 1, 'the pod is bound');
    await h.scheduler.idle();
    expect(bindings.get('default/big')).toBe('n6');
    expect((await condition())?.status).toBe('True');
    expect((await eventsOf(client)).map((e) => [e.reason, e.message, e.count])).toEqual([
      ['FailedScheduling', message, 2],
      ['Scheduled', 'Successfully assigned default/big to n6', 1],
    ]);
  });

  it('forgets the assumption when a binding fails and binds the pod after its backoff', async () => {
    let failures = 1;
    const wrap = (c: RegistryClient): RegistryClient => {
      const bind = c.bind.bind(c);
      c.bind = (pod: ObjectKey, node: string, o?: { readonly podUid?: string }): Promise<Result<void, ApiError>> => {
        if (failures-- > 0) return Promise.resolve(err({ code: 500, reason: 'InternalError', message: 'etcd is on fire' }));
        return bind(pod, node, o);
      };
      return c;
    };
    const { client, clock, h, bindings } = await setup({ wrap });
    await client.create(NODES, makeNode('n1', { cpu: '2' }));
    await client.create(PODS, makePod('p', { cpu: '1' }));
    await until(() => h.scheduler.stats.bindFailures === 1, 'the binding fails');
    expect(h.scheduler.cache.node('n1')?.requested.milliCPU).toBe(0);
    expect(h.scheduler.queue.lengths().backoff).toBe(1);
    await clock.advance(1000);
    await until(() => bindings.size === 1, 'the pod is bound on the second try');
    await h.scheduler.idle();
    expect(bindings.get('default/p')).toBe('n1');
    expect((await eventsOf(client)).map((e) => [e.reason, e.message])).toEqual([
      ['FailedScheduling', 'Binding rejected: etcd is on fire'],
      ['Scheduled', 'Successfully assigned default/p to n1'],
    ]);
  });

  it('retries parked pods when a bound pod is deleted and frees its node', async () => {
    const { client, clock, h, bindings } = await setup();
    await client.create(NODES, makeNode('n1', { cpu: '1' }));
    await client.create(PODS, makePod('first', { cpu: '1' }));
    await until(() => bindings.size === 1, 'the first pod is bound');
    await client.create(PODS, makePod('second', { cpu: '1' }));
    await until(() => h.scheduler.stats.unschedulable === 1, 'the second pod waits');
    await client.delete(PODS, { namespace: 'default', name: 'first' }, { gracePeriodSeconds: 0 });
    await clock.advance(1000);
    await until(() => bindings.size === 2, 'the second pod is bound');
    expect(bindings.get('default/second')).toBe('n1');
  });
});
