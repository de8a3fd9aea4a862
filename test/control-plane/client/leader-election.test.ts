/**
 * Leader election on a virtual clock over an in-memory Lease store with resourceVersion CAS:
 * one leader at a time, takeover after expiry, release on shutdown, step-down when renewals
 * fail, fencing, and the Lease fields as Kubernetes writes them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../../src/control-plane/api/types.js';
import { err, ok } from '../../../src/control-plane/api/types.js';
import type { ApiError } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ObjectKey } from '../../../src/control-plane/client/api-client.js';
import { VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { LeaseObject, LeaseStore } from '../../../src/control-plane/client/leader-election.js';
import { CONTROLLER_MANAGER_LEASE, LeaderElector, leaderIdentity, microTime, SCHEDULER_LEASE } from '../../../src/control-plane/client/leader-election.js';

const DOWN: ApiError = { code: 503, reason: 'ServiceUnavailable', message: 'No apiserver answered' };

/** Stall makes calls hang until the test lets them go, failing with 503 (an apiserver that stopped answering). */
class Stall {
  on = false;
  readonly #held: Array<() => void> = [];

  wrap(store: LeaseStore): LeaseStore {
    const gate = <T>(f: () => Promise<Result<T, ApiError>>): Promise<Result<T, ApiError>> => {
      if (!this.on) return f();
      return new Promise((resolve) => this.#held.push(() => resolve(err(DOWN))));
    };
    return { get: (k) => gate(() => store.get(k)), create: (l) => gate(() => store.create(l)), update: (l) => gate(() => store.update(l)) };
  }

  get held(): number {
    return this.#held.length;
  }

  release(): void {
    this.on = false;
    for (const r of this.#held.splice(0)) r();
  }
}

/** FakeLeases is an in-memory Lease store with CAS on resourceVersion; `down` makes one caller's calls fail. */
class FakeLeases {
  readonly #data = new Map<string, LeaseObject>();
  #rv = 100;
  readonly writes: LeaseObject[] = [];

  #key(k: ObjectKey): string {
    return `${k.namespace ?? ''}/${k.name}`;
  }

  /** storeFor is the store one elector uses; while `down()` is true its calls fail with 503. */
  storeFor(down: () => boolean = () => false): LeaseStore {
    return {
      get: async (key) => (down() ? err(DOWN) : this.get(key)),
      create: async (lease) => (down() ? err(DOWN) : this.create(lease)),
      update: async (lease) => (down() ? err(DOWN) : this.update(lease)),
    };
  }

  get(key: ObjectKey): Result<LeaseObject, ApiError> {
    const l = this.#data.get(this.#key(key));
    return l === undefined ? err({ code: 404, reason: 'NotFound', message: `leases "${key.name}" not found` }) : ok(structuredClone(l));
  }

  create(lease: LeaseObject): Result<LeaseObject, ApiError> {
    const k = this.#key({ namespace: lease.metadata.namespace ?? '', name: lease.metadata.name ?? '' });
    if (this.#data.has(k)) return err({ code: 409, reason: 'AlreadyExists', message: 'exists' });
    return ok(this.#put(k, lease));
  }

  update(lease: LeaseObject): Result<LeaseObject, ApiError> {
    const k = this.#key({ namespace: lease.metadata.namespace ?? '', name: lease.metadata.name ?? '' });
    const cur = this.#data.get(k);
    if (cur === undefined) return err({ code: 404, reason: 'NotFound', message: 'gone' });
    if (cur.metadata.resourceVersion !== lease.metadata.resourceVersion) return err({ code: 409, reason: 'Conflict', message: 'the object has been modified' });
    return ok(this.#put(k, lease));
  }

  #put(k: string, lease: LeaseObject): LeaseObject {
    const stored = structuredClone(lease);
    stored.metadata.resourceVersion = String(++this.#rv);
    this.#data.set(k, stored);
    this.writes.push(structuredClone(stored));
    return structuredClone(stored);
  }

  holder(key: ObjectKey): string {
    const l = this.get(key);
    return l.ok ? l.value.spec?.holderIdentity ?? '' : '<none>';
  }
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly events: string[];
  signal: AbortSignal | null;
  down: boolean;
}

function candidate(leases: FakeLeases, clock: VirtualClock, identity: string, lease: ObjectKey = SCHEDULER_LEASE): Candidate {
  const c: { events: string[]; signal: AbortSignal | null; down: boolean } = { events: [], signal: null, down: false };
  const elector = new LeaderElector({
    store: leases.storeFor(() => c.down),
    lease,
    identity,
    clock,
    wallClock: () => new Date(Date.UTC(2026, 10, 30, 10, 0, 0) + clock.now()),
    random: () => 0.5,
    onStartedLeading: (signal) => {
      c.signal = signal;
      c.events.push(`started@${clock.now()}`);
    },
    onStoppedLeading: () => c.events.push(`stopped@${clock.now()}`),
  });
  return Object.assign(c, { elector });
}

function leaders(cs: readonly Candidate[]): string[] {
  return cs.filter((c) => c.elector.isLeader()).map((c) => c.elector.identity);
}

describe('LeaderElector', () => {
  it('creates the lease when absent and writes the fields Kubernetes writes', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const a = candidate(leases, clock, 'm1_aaaa');
    a.elector.start();
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['started@0']);
    const l = leases.get(SCHEDULER_LEASE);
    expect(l.ok && l.value).toMatchObject({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: 'kube-system', name: 'kube-scheduler' },
      spec: { holderIdentity: 'm1_aaaa', leaseDurationSeconds: 6, acquireTime: '2026-11-30T10:00:00.000000Z', renewTime: '2026-11-30T10:00:00.000000Z', leaseTransitions: 0 },
    });
    await clock.advance(1000);
    const renewed = leases.get(SCHEDULER_LEASE);
    expect(renewed.ok && renewed.value.spec).toMatchObject({ holderIdentity: 'm1_aaaa', acquireTime: '2026-11-30T10:00:00.000000Z', renewTime: '2026-11-30T10:00:01.000000Z', leaseTransitions: 0 });
    await a.elector.stop();
  });

  it('keeps exactly one leader among three candidates while the leader renews', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const cs = [candidate(leases, clock, 'm1_a'), candidate(leases, clock, 'm2_b'), candidate(leases, clock, 'm3_c')];
    for (const c of cs) c.elector.start();
    for (let t = 0; t < 30_000; t += 250) {
      await clock.advance(250);
      expect(leaders(cs)).toHaveLength(1);
    }
    const leader = leaders(cs)[0]!;
    expect(leases.holder(SCHEDULER_LEASE)).toBe(leader);
    for (const c of cs) expect(c.elector.leader()).toBe(leader);
    for (const c of cs) await c.elector.stop();
  });

  it('a leader whose renewals fail steps down within the renew deadline; another takes over only after the lease expires', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const a = candidate(leases, clock, 'm1_a');
    a.elector.start();
    await clock.advance(0);
    const b = candidate(leases, clock, 'm2_b');
    b.elector.start();
    await clock.advance(0);
    expect(leaders([a, b])).toEqual(['m1_a']);
    // a's last renewal is at 2000; then its apiserver becomes unreachable.
    await clock.advance(2000);
    a.down = true;
    const aborted: number[] = [];
    a.signal!.addEventListener('abort', () => aborted.push(clock.now()));
    let bStarted = -1;
    while (bStarted < 0) {
      await clock.advance(100);
      expect(leaders([a, b]).length).toBeLessThanOrEqual(1);
      if (b.elector.isLeader()) bStarted = clock.now();
    }
    // Step-down: no renewal within 4 s of the renewal at 2000.
    expect(a.events).toEqual(['started@0', 'stopped@6000']);
    expect(aborted).toEqual([6000]);
    // b saw the last renewal (at 2000) at its 2000+ round and waits a full lease duration from then.
    expect(bStarted).toBeGreaterThanOrEqual(2000 + 6000);
    expect(leases.holder(SCHEDULER_LEASE)).toBe('m2_b');
    const l = leases.get(SCHEDULER_LEASE);
    expect(l.ok && l.value.spec?.leaseTransitions).toBe(1);
    // a comes back: it stands by, b stays the leader.
    a.down = false;
    await clock.advance(10_000);
    expect(leaders([a, b])).toEqual(['m2_b']);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('releases the lease on stop so a standby takes over at its next try, not after expiry', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const a = candidate(leases, clock, 'm1_a');
    const b = candidate(leases, clock, 'm2_b');
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(3000);
    expect(leaders([a, b])).toEqual(['m1_a']);
    await a.elector.stop();
    expect(a.events).toEqual(['started@0', 'stopped@3000']);
    expect(a.signal?.aborted).toBe(true);
    expect(leases.holder(SCHEDULER_LEASE)).toBe('');
    // b retries within retry period × (1 + 1.2 × jitter) = 1600 ms.
    await clock.advance(1600);
    expect(leaders([a, b])).toEqual(['m2_b']);
    await b.elector.stop();
    expect(clock.pending()).toBe(0);
  });

  it('a deposed leader that finds another holder steps down at once and its fence goes', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const a = candidate(leases, clock, 'm1_a', CONTROLLER_MANAGER_LEASE);
    a.elector.start();
    await clock.advance(0);
    const f = a.elector.fence();
    expect(f).toEqual({ holderIdentity: 'm1_a', resourceVersion: leases.get(CONTROLLER_MANAGER_LEASE).ok ? (leases.get(CONTROLLER_MANAGER_LEASE) as { value: LeaseObject }).value.metadata.resourceVersion : '' });
    expect(await a.elector.stillLeader()).toBe(true);
    // Someone (a partitioned-away view, an operator) rewrites the lease to another holder.
    const cur = leases.get(CONTROLLER_MANAGER_LEASE);
    if (!cur.ok) throw new Error('no lease');
    expect(leases.update({ ...cur.value, spec: { ...cur.value.spec, holderIdentity: 'm9_x' } }).ok).toBe(true);
    expect(await a.elector.stillLeader()).toBe(false);
    await clock.advance(1000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.fence()).toBeNull();
    expect(a.events).toEqual(['started@0', 'stopped@1000']);
    await a.elector.stop();
    // Not the holder any more: stop must not release someone else's lease.
    expect(leases.holder(CONTROLLER_MANAGER_LEASE)).toBe('m9_x');
  });

  it('two candidates racing for a free lease: the resourceVersion CAS lets exactly one win', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const seed = leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: 'kube-system', name: 'kube-scheduler' }, spec: { holderIdentity: '', leaseTransitions: 3 } });
    expect(seed.ok).toBe(true);
    const a = candidate(leases, clock, 'm1_a');
    const b = candidate(leases, clock, 'm2_b');
    a.elector.start();
    b.elector.start();
    await clock.advance(0);
    expect(leaders([a, b])).toHaveLength(1);
    const l = leases.get(SCHEDULER_LEASE);
    expect(l.ok && l.value.spec?.leaseTransitions).toBe(4);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('steps down at the renew deadline even while a renewal call hangs, and campaigns again once calls return', async () => {
    const clock = new VirtualClock();
    const leases = new FakeLeases();
    const stall = new Stall();
    const events: string[] = [];
    const a = new LeaderElector({
      store: stall.wrap(leases.storeFor()),
      lease: SCHEDULER_LEASE,
      identity: 'm1_a',
      clock,
      random: () => 0,
      onStartedLeading: () => events.push(`started@${clock.now()}`),
      onStoppedLeading: () => events.push(`stopped@${clock.now()}`),
    });
    a.start();
    await clock.advance(1000);
    expect(events).toEqual(['started@0']);
    stall.on = true;
    await clock.advance(3999);
    expect(a.isLeader()).toBe(true);
    expect(stall.held).toBe(1); // the renewal at 2000 hangs; no second call piles up behind it
    await clock.advance(1);
    expect(a.isLeader()).toBe(false);
    expect(events).toEqual(['started@0', 'stopped@5000']);
    stall.release();
    // The lease still names m1_a (nobody else wanted it), so the next round takes it back.
    await clock.advance(2000);
    expect(a.isLeader()).toBe(true);
    expect(events).toEqual(['started@0', 'stopped@5000', 'started@6000']);
    await a.stop();
    expect(leases.holder(SCHEDULER_LEASE)).toBe('');
  });

  it('rejects durations that cannot work and makes identities that start with the master name', () => {
    const store = new FakeLeases().storeFor();
    expect(() => new LeaderElector({ store, lease: SCHEDULER_LEASE, identity: 'x', leaseDurationMs: 4000, renewDeadlineMs: 4000, onStartedLeading: () => undefined })).toThrow(/longer than the renew deadline/);
    expect(() => new LeaderElector({ store, lease: SCHEDULER_LEASE, identity: 'x', renewDeadlineMs: 1000, retryPeriodMs: 1000, onStartedLeading: () => undefined })).toThrow(/longer than the retry period/);
    expect(leaderIdentity('m2')).toMatch(/^m2_[0-9a-f]{10}$/);
    expect(microTime(new Date('2026-11-30T10:00:00.123Z'))).toBe('2026-11-30T10:00:00.123000Z');
  });

  it('never has two leaders at once, whatever the outages, stops and restarts (random schedules)', async () => {
    type Step = { readonly who: number; readonly what: 'down' | 'up' | 'stop' | 'start' | 'wait'; readonly ms: number };
    const step: fc.Arbitrary<Step> = fc.record({
      who: fc.integer({ min: 0, max: 2 }),
      what: fc.constantFrom('down' as const, 'up' as const, 'stop' as const, 'start' as const, 'wait' as const, 'wait' as const),
      ms: fc.integer({ min: 0, max: 3000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const clock = new VirtualClock();
        const leases = new FakeLeases();
        let seq = 0;
        const make = (i: number): Candidate => candidate(leases, clock, `m${i}_${seq++}`);
        const cs = [make(0), make(1), make(2)];
        for (const c of cs) c.elector.start();
        const check = async (ms: number): Promise<void> => {
          for (let t = 0; t < ms; t += 100) {
            await clock.advance(Math.min(100, ms - t));
            expect(leaders(cs).length).toBeLessThanOrEqual(1);
          }
        };
        const stopped = new Set<number>();
        for (const s of steps) {
          const c = cs[s.who]!;
          if (s.what === 'down') c.down = true;
          else if (s.what === 'up') c.down = false;
          else if (s.what === 'stop') {
            await c.elector.stop();
            stopped.add(s.who);
          } else if (s.what === 'start') {
            await c.elector.stop();
            cs[s.who] = make(s.who);
            cs[s.who]!.elector.start();
            stopped.delete(s.who);
          }
          await check(s.ms);
        }
        // Liveness: with everyone reachable, a running candidate leads within a lease duration and a few retries.
        for (const c of cs) c.down = false;
        await check(12_000);
        expect(leaders(cs)).toHaveLength(stopped.size === cs.length ? 0 : 1);
        for (const c of cs) await c.elector.stop();
      }),
      { numRuns: 60 },
    );
  });
});
