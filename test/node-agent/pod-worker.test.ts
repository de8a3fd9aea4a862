/**
 * The pod worker's reconcile on a fake runtime, with a recording client over the in-process
 * registry and an informer on a virtual clock: the exact writes, and the statuses as kubectl
 * shows them.
 */
import { describe, expect, it } from 'vitest';
import type { Container } from 'kubernetes-types/core/v1.js';
import { VirtualClock } from '../../src/control-plane/client/clock.js';
import { Informer } from '../../src/control-plane/client/informer.js';
import type { ObjectData } from '../../src/node-agent/env.js';
import { IpAllocator } from '../../src/node-agent/ip-allocator.js';
import { PodWorker } from '../../src/node-agent/pod-worker.js';
import type { PodObject } from '../../src/node-agent/types.js';
import { PODS } from '../../src/node-agent/types.js';
import { newRegistry } from '../control-plane/client/harness.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';
import { FakeRuntime } from './fake-runtime.js';

const T0 = Date.UTC(2026, 0, 1);

async function setup(events?: string[]) {
  const { registry } = await newRegistry();
  const client = new RegistryClient(registry);
  const clock = new VirtualClock();
  const wall = (): Date => new Date(T0 + clock.now());
  const runtime = new FakeRuntime(wall);
  const informer = new Informer<PodObject>({ client, resource: PODS, clock });
  informer.start();
  await clock.advance(0);
  const enqueued: string[] = [];
  const worker = new PodWorker({
    client,
    pods: informer,
    runtime,
    isOurs: (n) => n === 'n1',
    ips: new IpAllocator(),
    enqueue: (k) => enqueued.push(k),
    clock,
    wallClock: wall,
    ...(events === undefined ? {} : { events: (pod, c, type, reason, message) => events.push(`${pod.metadata.name ?? ''}/${c ?? ''} ${type} ${reason}: ${message}`) }),
  });
  const create = async (name: string, spec: Record<string, unknown>, node = 'n1'): Promise<string> => {
    const r = await client.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }], ...spec } });
    if (!r.ok) throw new Error(r.error.message);
    await clock.advance(0);
    client.calls.length = 0;
    return r.value.metadata.uid ?? '';
  };
  const stored = async (name: string): Promise<PodObject> => {
    await clock.advance(0);
    const r = await client.get<PodObject>(PODS, { namespace: 'default', name });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  return { client, clock, runtime, informer, worker, enqueued, create, stored };
}

const c = (name: string): Container => ({ name, image: 'busybox', command: ['true'] });
const NO_OBJECTS: ObjectData = { data: async () => ({ ok: true, value: null }) };

describe('PodWorker.reconcile', () => {
  it('starts a bound pod and writes Running and Ready with IPs, conditions and container statuses, once', async () => {
    const s = await setup();
    await s.create('web', {});
    expect(await s.worker.reconcile('default/web')).toBe('done');
    expect(s.runtime.calls).toEqual(['start web/app']);
    expect(s.client.writes()).toEqual(['patch pods/status default/web']);
    const st = (await s.stored('web')).status;
    expect(st).toMatchObject({
      phase: 'Running',
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.64.0.1',
      podIPs: [{ ip: '127.64.0.1' }],
      startTime: '2026-01-01T00:00:00Z',
    });
    expect(st?.conditions).toEqual([
      { type: 'Initialized', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
    expect(st?.containerStatuses).toEqual([
      { name: 'app', state: { running: { startedAt: '2026-01-01T00:00:00Z' } }, lastState: {}, ready: true, restartCount: 0, image: 'busybox', imageID: '', containerID: `fake://${(await s.stored('web')).metadata.uid ?? ''}/app`, started: true },
    ]);

    s.client.calls.length = 0;
    await s.clock.advance(5000);
    expect(await s.worker.reconcile('default/web')).toBe('done');
    expect(s.client.writes()).toEqual([]);
    expect(s.runtime.calls).toEqual(['start web/app']);
  });

  it('leaves pods of other nodes alone', async () => {
    const s = await setup();
    await s.create('other', {}, 'n2');
    expect(await s.worker.reconcile('default/other')).toBe('done');
    expect(s.runtime.calls).toEqual([]);
    expect(s.client.writes()).toEqual([]);
  });

  it('restarts a crashing container at once, then backs off 10 s, 20 s with CrashLoopBackOff', async () => {
    const s = await setup();
    const uid = await s.create('crash', {});
    await s.worker.reconcile('default/crash');
    s.runtime.exit(uid, 'app', 1);
    expect(s.enqueued).toEqual(['default/crash']);
    await s.clock.advance(0);
    expect(await s.worker.reconcile('default/crash')).toBe('done');
    expect(s.runtime.calls).toEqual(['start crash/app', 'start crash/app']);
    let st = (await s.stored('crash')).status;
    expect(st?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });

    await s.clock.advance(2000);
    s.runtime.exit(uid, 'app', 2);
    await s.clock.advance(0);
    expect(await s.worker.reconcile('default/crash')).toEqual({ requeueAfter: 8000 });
    st = (await s.stored('crash')).status;
    expect(st?.phase).toBe('Running');
    expect(st?.containerStatuses?.[0]).toMatchObject({
      ready: false,
      restartCount: 1,
      state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=app pod=crash_default(${uid})` } },
      lastState: { terminated: { exitCode: 2, reason: 'Error', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:02Z' } },
    });
    expect(st?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });

    await s.clock.advance(8000);
    expect(await s.worker.reconcile('default/crash')).toBe('done');
    expect((await s.stored('crash')).status?.containerStatuses?.[0]).toMatchObject({ restartCount: 2, state: { running: {} } });
    s.runtime.exit(uid, 'app', 1);
    await s.clock.advance(0);
    expect(await s.worker.reconcile('default/crash')).toEqual({ requeueAfter: 20_000 });
  });

  it('ends a restartPolicy Never pod as Succeeded (Completed) or Failed (Error)', async () => {
    const s = await setup();
    const ok = await s.create('ok', { restartPolicy: 'Never' });
    const bad = await s.create('bad', { restartPolicy: 'Never' });
    await s.worker.reconcile('default/ok');
    await s.worker.reconcile('default/bad');
    s.runtime.exit(ok, 'app', 0);
    s.runtime.exit(bad, 'app', 3);
    await s.clock.advance(0);
    await s.worker.reconcile('default/ok');
    await s.worker.reconcile('default/bad');
    const okSt = (await s.stored('ok')).status;
    expect(okSt?.phase).toBe('Succeeded');
    expect(okSt?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(okSt?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    const badSt = (await s.stored('bad')).status;
    expect(badSt?.phase).toBe('Failed');
    expect(badSt?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(s.runtime.calls).toEqual(['start ok/app', 'start bad/app']);
  });

  it('runs init containers one after another before the app container', async () => {
    const s = await setup();
    const uid = await s.create('init', { initContainers: [c('one'), c('two')], containers: [c('app')] });
    await s.worker.reconcile('default/init');
    expect(s.runtime.calls).toEqual(['start init/one']);
    let st = (await s.stored('init')).status;
    expect(st?.phase).toBe('Pending');
    expect(st?.initContainerStatuses?.map((x) => x.state)).toMatchObject([{ running: {} }, { waiting: { reason: 'PodInitializing' } }]);
    expect(st?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(st?.conditions?.find((x) => x.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [one two]' });
    s.runtime.exit(uid, 'one', 0);
    await s.clock.advance(0);
    await s.worker.reconcile('default/init');
    expect(s.runtime.calls).toEqual(['start init/one', 'start init/two']);
    s.runtime.exit(uid, 'two', 0);
    await s.clock.advance(0);
    await s.worker.reconcile('default/init');
    expect(s.runtime.calls).toEqual(['start init/one', 'start init/two', 'start init/app']);
    st = (await s.stored('init')).status;
    expect(st?.phase).toBe('Running');
    expect(st?.initContainerStatuses?.map((x) => x.state?.terminated?.reason)).toEqual(['Completed', 'Completed']);
  });

  it('stops a deleted pod within its grace period, then deletes it for good', async () => {
    const s = await setup();
    const uid = await s.create('gone', { terminationGracePeriodSeconds: 7 });
    await s.worker.reconcile('default/gone');
    await s.clock.advance(0);
    const d = await s.client.delete(PODS, { namespace: 'default', name: 'gone' });
    expect(d.ok && d.value.gone).toBe(false);
    await s.clock.advance(0);
    s.client.calls.length = 0;
    s.enqueued.length = 0;
    expect(await s.worker.reconcile('default/gone')).toBe('done');
    await s.clock.advance(0);
    expect(s.runtime.calls).toEqual(['start gone/app', 'stop gone/app 7000']);
    expect(s.enqueued).toEqual(['default/gone']);
    expect(await s.worker.reconcile('default/gone')).toBe('done');
    expect(s.runtime.calls).toEqual(['start gone/app', 'stop gone/app 7000', 'remove gone']);
    expect(s.client.writes()).toEqual(['delete pods default/gone']);
    expect((await s.client.get(PODS, { namespace: 'default', name: 'gone' })).ok).toBe(false);
    expect(s.worker.tracked).toBe(0);
    expect(s.runtime.pods()).not.toContain(uid);
  });

  it('tries a start that failed on its configuration again after the back-off, and runs it once fixed', async () => {
    const s = await setup();
    s.runtime.failing.add('app');
    await s.create('cfg', {});
    expect(await s.worker.reconcile('default/cfg')).toEqual({ requeueAfter: 10_000 });
    expect((await s.stored('cfg')).status?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'CreateContainerConfigError', message: 'configmap "cfg" not found' } });
    expect(await s.worker.reconcile('default/cfg')).toEqual({ requeueAfter: 10_000 });
    expect(s.runtime.calls).toEqual(['start cfg/app']);
    await s.clock.advance(10_000);
    expect(await s.worker.reconcile('default/cfg')).toEqual({ requeueAfter: 20_000 });
    s.runtime.failing.delete('app');
    await s.clock.advance(20_000);
    expect(await s.worker.reconcile('default/cfg')).toBe('done');
    expect(s.runtime.calls).toEqual(['start cfg/app', 'start cfg/app', 'start cfg/app']);
    expect((await s.stored('cfg')).status?.phase).toBe('Running');
  });

  it('counts a restart for a container that ran under an earlier run of the agent', async () => {
    const first = await setup();
    await first.create('old', {});
    await first.worker.reconcile('default/old');
    // A fresh worker and runtime over the same registry: the agent restarted, its processes are gone.
    const runtime = new FakeRuntime(() => new Date(T0));
    const worker = new PodWorker({ client: first.client, pods: first.informer, runtime, isOurs: (n) => n === 'n1', ips: new IpAllocator(), enqueue: () => undefined, clock: first.clock, wallClock: () => new Date(T0 + 60_000) });
    await first.clock.advance(0);
    expect(await worker.reconcile('default/old')).toBe('done');
    const st = (await first.stored('old')).status;
    expect(st?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } });
    expect(st?.podIP).toBe('127.64.0.1');
  });

  it('records Started, BackOff (once per wait) and Killing events', async () => {
    const events: string[] = [];
    const s = await setup(events);
    const uid = await s.create('ev', {});
    await s.worker.reconcile('default/ev');
    s.runtime.exit(uid, 'app', 1);
    await s.clock.advance(0);
    await s.worker.reconcile('default/ev');
    s.runtime.exit(uid, 'app', 1);
    await s.clock.advance(0);
    await s.worker.reconcile('default/ev');
    await s.worker.reconcile('default/ev');
    await s.clock.advance(10_000);
    await s.worker.reconcile('default/ev');
    await s.client.delete(PODS, { namespace: 'default', name: 'ev' });
    await s.clock.advance(0);
    await s.worker.reconcile('default/ev');
    await s.clock.advance(0);
    expect(events).toEqual([
      'ev/app Normal Started: Started container app',
      'ev/app Normal Started: Started container app',
      `ev/app Warning BackOff: Back-off restarting failed container app in pod ev_default(${uid})`,
      'ev/app Normal Started: Started container app',
      'ev/app Normal Killing: Stopping container app',
    ]);
  });

  it('kills what runs of a pod that vanished without grace', async () => {
    const s = await setup();
    await s.create('forced', {});
    await s.worker.reconcile('default/forced');
    await s.client.delete(PODS, { namespace: 'default', name: 'forced' }, { gracePeriodSeconds: 0 });
    await s.clock.advance(0);
    expect(await s.worker.reconcile('default/forced')).toBe('done');
    expect(s.runtime.calls).toEqual(['start forced/app', 'remove forced']);
    expect(s.worker.tracked).toBe(0);
  });

  it('adopts what a fresh runtime still runs of a pod, and housekeeping stops only what is neither tracked nor ours', async () => {
    const first = await setup();
    const kept = await first.create('kept', {});
    const moved = await first.create('moved', {}, 'n2');
    const pending = await first.create('pending', {});
    // A fresh worker whose runtime still runs containers of three pods (the agent restarted and its runtime recovered them).
    const runtime = new FakeRuntime(() => new Date(T0));
    const worker = new PodWorker({ client: first.client, pods: first.informer, runtime, isOurs: (n) => n === 'n1', ips: new IpAllocator(), enqueue: () => undefined, clock: first.clock, wallClock: () => new Date(T0 + 60_000) });
    for (const name of ['kept', 'moved', 'pending']) {
      const pod = await first.stored(name);
      const c = pod.spec?.containers[0];
      if (c === undefined) throw new Error('no container');
      await runtime.startContainer({ pod, container: c, init: false, podIP: '127.64.0.9', hostIP: '127.0.0.1', env: async () => ({ ok: true, value: {} }), objects: NO_OBJECTS, firstRestartCount: 4 });
    }
    runtime.calls.length = 0;
    expect(await worker.reconcile('default/kept')).toBe('done');
    // Taken over as it runs: not started again, its restart count as the runtime knows it.
    expect(runtime.calls).toEqual([]);
    expect((await first.stored('kept')).status?.containerStatuses?.[0]).toMatchObject({ restartCount: 4, state: { running: {} } });

    // 'moved' is bound to another node; 'pending' is ours but not reconciled yet; a stray pod is unknown.
    const stray: PodObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', uid: 'stray-uid' }, spec: { containers: [c('app')] } };
    await runtime.startContainer({ pod: stray, container: c('app'), init: false, podIP: '127.64.0.10', hostIP: '127.0.0.1', env: async () => ({ ok: true, value: {} }), objects: NO_OBJECTS, firstRestartCount: 0 });
    runtime.calls.length = 0;
    expect((await worker.housekeeping(first.informer.list())).sort()).toEqual([moved, 'stray-uid'].sort());
    expect(runtime.calls.sort()).toEqual(['remove moved', 'remove stray']);
    expect(runtime.pods().slice().sort()).toEqual([kept, pending].sort());
  });
});
