/**
 * The scheduling queue on a virtual clock (priority order, backoff, parking and moving back,
 * the move-request rule) and the cache's assumed pods (counted at once, confirmed by the
 * informer, forgotten on a failed binding, expired when never confirmed).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/control-plane/client/clock.js';
import { SchedulerCache } from '../../../src/control-plane/scheduler/cache.js';
import { SchedulingQueue } from '../../../src/control-plane/scheduler/queue.js';
import { podInfoOf } from '../../../src/control-plane/scheduler/types.js';
import { makeNode, makePod } from './fixtures.js';

function names(q: SchedulingQueue): string[] {
  const out: string[] = [];
  for (let qp = q.tryPop(); qp !== undefined; qp = q.tryPop()) {
    out.push(qp.info.pod.metadata.name ?? '');
    q.done(qp.info.key);
  }
  return out;
}

describe('SchedulingQueue', () => {
  it('pops by priority, then first come', () => {
    const q = new SchedulingQueue({ clock: new VirtualClock() });
    q.add(podInfoOf(makePod('low1')));
    q.add(podInfoOf(makePod('high', { spec: { priority: 1000 } })));
    q.add(podInfoOf(makePod('low2')));
    q.add(podInfoOf(makePod('low1')));
    expect(names(q)).toEqual(['high', 'low1', 'low2']);
    q.close();
  });

  it('parks an unschedulable pod until the cluster changes, then waits out its backoff', async () => {
    const clock = new VirtualClock();
    const q = new SchedulingQueue({ clock, initialBackoffMs: 1000, maxBackoffMs: 10_000 });
    q.add(podInfoOf(makePod('p')));
    const qp = q.tryPop()!;
    q.unschedulable(qp);
    expect(q.lengths()).toEqual({ active: 0, backoff: 0, unschedulable: 1, inFlight: 0 });
    await clock.advance(400);
    q.moveAllToActiveOrBackoff();
    expect(q.lengths()).toEqual({ active: 0, backoff: 1, unschedulable: 0, inFlight: 0 });
    await clock.advance(599);
    expect(q.tryPop()).toBeUndefined();
    await clock.advance(1);
    expect(q.tryPop()?.attempts).toBe(2);
    q.close();
    expect(clock.pending()).toBe(0);
  });

  it('doubles the backoff per attempt up to the cap', async () => {
    const clock = new VirtualClock();
    const q = new SchedulingQueue({ clock, initialBackoffMs: 1000, maxBackoffMs: 3000 });
    q.add(podInfoOf(makePod('p')));
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const qp = q.tryPop()!;
      const t0 = clock.now();
      q.retry(qp);
      let waited = 0;
      while (q.lengths().active === 0) {
        await clock.advance(100);
        waited += 100;
      }
      waits.push(waited);
      expect(clock.now() - t0).toBe(waited);
    }
    expect(waits).toEqual([1000, 2000, 3000, 3000]);
    q.close();
  });

  it('sends a pod whose cycle overlapped a cluster change to backoff, not to the parking lot', () => {
    const clock = new VirtualClock();
    const q = new SchedulingQueue({ clock });
    q.add(podInfoOf(makePod('p')));
    const qp = q.tryPop()!;
    q.moveAllToActiveOrBackoff(); // a node appeared while p was being scheduled
    q.unschedulable(qp);
    expect(q.lengths()).toEqual({ active: 0, backoff: 1, unschedulable: 0, inFlight: 0 });
    q.close();
  });

  it('moves parked pods back after maxUnschedulableMs even without an event', async () => {
    const clock = new VirtualClock();
    const q = new SchedulingQueue({ clock, maxUnschedulableMs: 10_000 });
    q.add(podInfoOf(makePod('p')));
    q.unschedulable(q.tryPop()!);
    await clock.advance(9_000);
    expect(q.lengths().unschedulable).toBe(1);
    await clock.advance(6_000);
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0, inFlight: 0 });
    q.close();
  });

  it('retries a parked pod at once when its spec changes, and forgets deleted pods everywhere', () => {
    const clock = new VirtualClock();
    const q = new SchedulingQueue({ clock, initialBackoffMs: 0 });
    q.add(podInfoOf(makePod('p', { cpu: '8' })));
    q.unschedulable(q.tryPop()!);
    q.add(podInfoOf(makePod('p', { cpu: '8' }))); // same spec (a status write): stays parked
    expect(q.lengths().unschedulable).toBe(1);
    q.add(podInfoOf(makePod('p', { cpu: '1' })));
    expect(q.lengths().active).toBe(1);
    const qp = q.tryPop()!;
    expect(qp.info.requests.milliCPU).toBe(1000);
    q.delete('default/p');
    q.unschedulable(qp);
    expect(q.lengths()).toEqual({ active: 0, backoff: 0, unschedulable: 0, inFlight: 0 });
    q.close();
  });

  it('releases a waiting pop on abort without losing the next pod', async () => {
    const q = new SchedulingQueue({ clock: new VirtualClock() });
    const ac = new AbortController();
    const waiting = q.pop(ac.signal);
    ac.abort();
    expect(await waiting).toBeUndefined();
    q.add(podInfoOf(makePod('p')));
    expect(q.tryPop()?.info.key).toBe('default/p');
    q.close();
  });
});

describe('SchedulerCache assumed pods', () => {
  const node = makeNode('n1', { cpu: '4' });

  it('counts an assumed pod at once and keeps it when the informer confirms the binding', () => {
    const c = new SchedulerCache();
    c.addNode(node);
    const info = podInfoOf(makePod('p', { cpu: '1' }));
    c.assumePod(info, 'n1');
    expect(c.node('n1')?.requested.milliCPU).toBe(1000);
    expect(c.isAssumed('default/p')).toBe(true);
    // The informer still shows the pod unbound: the assumption stands.
    c.setPod(makePod('p', { cpu: '1' }));
    expect(c.stats()).toEqual({ nodes: 1, pods: 1, assumed: 1 });
    c.setPod(makePod('p', { cpu: '1', nodeName: 'n1' }));
    expect(c.stats()).toEqual({ nodes: 1, pods: 1, assumed: 0 });
    expect(c.node('n1')?.requested.milliCPU).toBe(1000);
  });

  it('forgets an assumption whose binding failed, but not a confirmed pod', () => {
    const c = new SchedulerCache();
    c.addNode(node);
    c.assumePod(podInfoOf(makePod('p', { cpu: '1' })), 'n1');
    c.forgetPod('default/p');
    expect(c.node('n1')?.requested.milliCPU).toBe(0);
    c.setPod(makePod('q', { cpu: '2', nodeName: 'n1' }));
    c.forgetPod('default/q');
    expect(c.node('n1')?.requested.milliCPU).toBe(2000);
  });

  it('expires a bound assumption the informer never confirms, only after the TTL', () => {
    const c = new SchedulerCache({ assumeTtlMs: 1000 });
    c.addNode(node);
    c.assumePod(podInfoOf(makePod('p', { cpu: '1' })), 'n1');
    expect(c.cleanupExpired(1_000_000)).toEqual([]); // still binding: never expires
    c.finishBinding('default/p', 5000);
    expect(c.cleanupExpired(5999)).toEqual([]);
    expect(c.cleanupExpired(6000)).toEqual(['default/p']);
    expect(c.node('n1')?.requested.milliCPU).toBe(0);
  });

  it('moves a pod whose node changed, frees finished pods, and keeps deleted nodes while pods remain', () => {
    const c = new SchedulerCache();
    c.addNode(node);
    c.addNode(makeNode('n2'));
    c.setPod(makePod('p', { cpu: '1', nodeName: 'n1' }));
    c.removeNode('n1');
    expect(c.nodeList().map((n) => n.name)).toEqual(['n2']);
    expect(c.node('n1')?.pods.size).toBe(1);
    c.setPod({ ...makePod('p', { cpu: '1', nodeName: 'n1' }), status: { phase: 'Succeeded' } });
    expect(c.node('n1')).toBeUndefined();
    c.setPod(makePod('r', { cpu: '1', hostPort: 80, nodeName: 'n2' }));
    c.removePod(makePod('r'));
    expect(c.node('n2')?.usedPorts).toEqual([]);
    expect(c.node('n2')?.requested).toEqual({ milliCPU: 0, memory: 0, pods: 0 });
  });
});
