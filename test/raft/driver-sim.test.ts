/**
 * The production RaftDriver under the deterministic simulator (test/sim/driver-cluster.ts):
 * every member is a real driver — its Ready loop, proposal and read promises, timers and
 * deferrals on virtual time — over an in-memory WAL that loses unsynced saves on a crash, the
 * seeded faulty network and a list state machine. fast-check generates fault schedules
 * (partitions, one-way cuts, drops, duplicates, delays, crashes at and after fsync, clean stops,
 * restarts, compactions, forced elections, leader transfers) with writes and reads; every step
 * checks election safety, log matching, persist-before-send against the disk, state machine
 * safety, leader completeness, no acknowledged write lost and linearizable reads; a clean stop
 * must settle every waiter at once; after healing, the cluster must converge with every write
 * acknowledged and every promise settled. Each property also asserts, over its runs, that it
 * exercised what it claims: leader changes, injected faults, reads served during partitions,
 * proposals rejected because a leader change dropped them, and waiters rejected by a stop.
 *
 * DRIVER_SIM_RUNS sets the runs per property (default 40, sized for CI on a loaded 2-core
 * machine); RAFT_PROP_SEED the fast-check seed. A failure prints the counterexample
 * `[seed, size, actions]` and the simulator's seed, time and trace tail; replay it with
 * RAFT_PROP_SEED=<seed> RAFT_PROP_PATH=<path>, or print the whole trace with
 * npx tsx test/sim/driver-replay.ts '<counterexample>' '<cluster options>'.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CrashPoint, DriverAction, DriverClusterOptions, SettleBounds } from '../sim/index.js';
import { DriverCluster, healAndSettleDrivers, runDriverSchedule } from '../sim/index.js';

const RUNS = Number.parseInt(process.env['DRIVER_SIM_RUNS'] ?? '40', 10);
const SEED = Number.parseInt(process.env['RAFT_PROP_SEED'] ?? '20250101', 10);
const PATH = process.env['RAFT_PROP_PATH'];
const PARAMS = { numRuns: RUNS, seed: SEED, ...(PATH === undefined ? {} : { path: PATH }) };
const ELECTION_TICK = 10;
const BOUNDS: SettleBounds = { leaderTicks: 6 * ELECTION_TICK, convergeTicks: 20 * ELECTION_TICK };
/** PLAIN_BOUNDS give plain Raft (no pre-vote) more time to elect, as in properties.test.ts. */
const PLAIN_BOUNDS: SettleBounds = { leaderTicks: 20 * ELECTION_TICK, convergeTicks: 20 * ELECTION_TICK };

const pos = fc.integer({ min: 0, max: 4 });
const point = fc.constantFrom<CrashPoint>('clean', 'after-persist');

/** driverAction generates one schedule step; runs and writes dominate so faults have time to bite. */
const driverAction: fc.Arbitrary<DriverAction> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('run' as const), ticks: fc.integer({ min: 1, max: 40 }), load: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('submit' as const), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('partition' as const), groups: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 5, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), from: pos, to: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('isolate' as const), node: pos }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'isolate-leader' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'heal' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: pos, point }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash-leader' as const), point }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stop' as const), node: pos }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: pos }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('net' as const),
      dropPct: fc.integer({ min: 0, max: 40 }),
      dupPct: fc.integer({ min: 0, max: 20 }),
      maxDelay: fc.integer({ min: 1, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), node: pos, keep: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('campaign' as const), node: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('transfer' as const), to: pos }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), node: pos }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('depose' as const), writes: fc.integer({ min: 1, max: 6 }), ticks: fc.integer({ min: 5, max: 50 }) }) },
);

const schedule = fc.array(driverAction, { minLength: 10, maxLength: 40, size: 'large' });
const simSeed = fc.integer({ min: 0, max: 0x7fffffff });

type Variant = Omit<DriverClusterOptions, 'seed' | 'size'>;

/** Exercise totals what a property's runs exercised, so a generator gone quiet fails the test. */
interface Exercise {
  runs: number;
  withLeaderChange: number;
  withFaults: number;
  readsServed: number;
  readsServedDuringPartition: number;
  droppedByLeaderChange: number;
  stoppedRejections: number;
  stops: number;
  acked: number;
}

function newExercise(): Exercise {
  return { runs: 0, withLeaderChange: 0, withFaults: 0, readsServed: 0, readsServedDuringPartition: 0, droppedByLeaderChange: 0, stoppedRejections: 0, stops: 0, acked: 0 };
}

async function play(seed: number, size: number, actions: readonly DriverAction[], variant: Variant, bounds: SettleBounds, ex: Exercise): Promise<void> {
  const c = new DriverCluster({ seed, size, electionTick: ELECTION_TICK, ...variant });
  await runDriverSchedule(c, actions);
  await healAndSettleDrivers(c, bounds);
  const net = c.network.stats;
  ex.runs++;
  if (c.leaderChanges > 0) ex.withLeaderChange++;
  if (net.dropped + net.cut + c.stats.crashes + c.stats.stops > 0) ex.withFaults++;
  ex.readsServed += c.client.stats.readsServed;
  ex.readsServedDuringPartition += c.client.stats.readsServedDuringPartition;
  ex.droppedByLeaderChange += c.droppedByLeaderChange;
  ex.stoppedRejections += c.client.stats.stoppedRejections;
  ex.stops += c.stats.stops;
  ex.acked += c.client.stats.acked;
}

async function assertProperty(variant: Variant, sizes: readonly number[], bounds = BOUNDS): Promise<Exercise> {
  const ex = newExercise();
  await fc.assert(
    fc.asyncProperty(simSeed, fc.constantFrom(...sizes), schedule, (seed, size, acts) => play(seed, size, acts, variant, bounds, ex)),
    PARAMS,
  );
  // The runs must have exercised what the property claims to check.
  expect(ex.runs).toBeGreaterThanOrEqual(RUNS);
  expect(ex.withLeaderChange).toBeGreaterThanOrEqual(Math.ceil(ex.runs / 2));
  expect(ex.withFaults).toBeGreaterThanOrEqual(Math.ceil((ex.runs * 3) / 4));
  expect(ex.acked).toBeGreaterThan(ex.runs * 10);
  expect(ex.readsServed).toBeGreaterThan(ex.runs);
  expect(ex.readsServedDuringPartition).toBeGreaterThan(0);
  expect(ex.droppedByLeaderChange).toBeGreaterThan(0);
  expect(ex.stops).toBeGreaterThan(0);
  expect(ex.stoppedRejections).toBeGreaterThan(0);
  return ex;
}

describe('the production RaftDriver under random fault schedules (fast-check)', () => {
  it('3 members: safe after every step, waiters settle, live after healing', async () => {
    await assertProperty({}, [3]);
  });

  it('3 and 5 members with slow fsyncs, snapshots and compaction', async () => {
    await assertProperty({ slowFsyncPct: 40, snapshotEvery: 6, snapshotKeep: 1 }, [3, 5]);
  });

  it('3 and 5 members without pre-vote and check-quorum (plain Raft: a cut-off leader keeps leading)', async () => {
    await assertProperty({ preVote: false, checkQuorum: false, snapshotEvery: 10 }, [3, 5], PLAIN_BOUNDS);
  });
});

describe('driver simulator determinism', () => {
  const SCHEDULE: DriverAction[] = [
    { kind: 'net', dropPct: 15, dupPct: 10, maxDelay: 8 },
    { kind: 'run', ticks: 25, load: 2 },
    { kind: 'isolate-leader' },
    { kind: 'submit', count: 6 },
    { kind: 'run', ticks: 20, load: 1 },
    { kind: 'read', node: 1 },
    { kind: 'heal' },
    { kind: 'crash-leader', point: 'after-persist' },
    { kind: 'stop', node: 2 },
    { kind: 'run', ticks: 30, load: 2 },
    { kind: 'restart', node: 0 },
    { kind: 'snapshot', node: 1, keep: 0 },
    { kind: 'run', ticks: 20 },
  ];

  async function once(seed: number): Promise<DriverCluster> {
    const c = new DriverCluster({ seed, size: 3, electionTick: ELECTION_TICK, keepTrace: true, slowFsyncPct: 30, snapshotEvery: 5 });
    await runDriverSchedule(c, SCHEDULE);
    await healAndSettleDrivers(c, BOUNDS);
    return c;
  }

  it('the same seed replays the same run exactly', async () => {
    const a = await once(4242);
    const b = await once(4242);
    expect(a.trace.count).toBeGreaterThan(1000);
    expect(a.client.stats.acked).toBeGreaterThan(20);
    expect(b.trace.hash).toBe(a.trace.hash);
    expect(b.trace.lines()).toEqual(a.trace.lines());
    expect(b.describe()).toBe(a.describe());
    expect(b.client.stats).toEqual(a.client.stats);
    const other = await once(4243);
    expect(other.trace.hash).not.toBe(a.trace.hash);
  });
});
