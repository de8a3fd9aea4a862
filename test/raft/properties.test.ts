/**
 * Property-based proofs over the deterministic simulator: fast-check generates fault schedules
 * (drops, duplicates, delays, partitions, one-way link cuts, crash-restarts at every point of
 * Ready handling, compactions, forced elections, leader transfers) interleaved with client
 * writes, for 3 and 5 nodes. Every step checks election safety, log matching, leader
 * completeness, state machine safety, durable-state monotonicity, that no acknowledged write
 * is lost and that every ReadIndex read sees every write committed before it started; after the schedule all faults heal and liveness is required: a leader within
 * a bound, then every pending write acknowledged and every member caught up within a bound.
 *
 * RAFT_PROP_RUNS sets the runs per property (default 200); RAFT_PROP_SEED the fast-check seed.
 * A failure prints fast-check's seed and path, the shrunk counterexample `[seed, size, actions]`
 * and the simulator's seed, step and trace tail. To replay: RAFT_PROP_SEED=<seed>
 * RAFT_PROP_PATH=<path> npx vitest run test/raft/properties.test.ts -t '<property>', or print the
 * whole trace with npx tsx test/sim/replay.ts '<counterexample>' '<cluster options>'.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClusterOptions, CrashPoint, FaultAction, SettleBounds } from '../sim/index.js';
import { SimCluster, healAndSettle, runSchedule } from '../sim/index.js';

const RUNS = Number.parseInt(process.env['RAFT_PROP_RUNS'] ?? '200', 10);
const SEED = Number.parseInt(process.env['RAFT_PROP_SEED'] ?? '20250101', 10);
const PATH = process.env['RAFT_PROP_PATH'];
/** PARAMS are the fast-check settings every property shares (a path replays one failing case). */
const PARAMS = { numRuns: RUNS, seed: SEED, ...(PATH === undefined ? {} : { path: PATH }) };
const ELECTION_TICK = 10;
/** BOUNDS are the liveness bounds after healing, in ticks (electionTick = 10). */
const BOUNDS: SettleBounds = { leaderTicks: 6 * ELECTION_TICK, convergeTicks: 15 * ELECTION_TICK };
/**
 * PLAIN_BOUNDS allow plain Raft more time to elect: without pre-vote, a node with a stale log
 * that times out bumps everyone's term and (as in etcd-io/raft) resets their election timers,
 * so the only electable node can be pre-empted several rounds in a row (seen: 68 ticks).
 */
const PLAIN_BOUNDS: SettleBounds = { leaderTicks: 20 * ELECTION_TICK, convergeTicks: 15 * ELECTION_TICK };

const pos = fc.integer({ min: 0, max: 4 });
const point = fc.constantFrom<CrashPoint>('clean', 'after-ready', 'after-persist');

/** faultAction generates one schedule step; runs and writes dominate so faults have time to bite. */
const faultAction: fc.Arbitrary<FaultAction> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('run' as const), ticks: fc.integer({ min: 1, max: 40 }), load: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('submit' as const), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('partition' as const), groups: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 5, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), from: pos, to: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('isolate' as const), node: pos }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'isolate-leader' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'heal' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: pos, point }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('crash-leader' as const), point }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: pos }) },
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
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), node: pos }) },
);

/** membershipAction adds single-server membership changes to the fault mix. */
const membershipAction: fc.Arbitrary<FaultAction> = fc.oneof(
  { weight: 6, arbitrary: faultAction },
  { weight: 1, arbitrary: fc.constant({ kind: 'add-learner' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'add-voter' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('promote' as const), node: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), node: pos }) },
);

const schedule = fc.array(faultAction, { minLength: 10, maxLength: 50, size: 'large' });
const membershipSchedule = fc.array(membershipAction, { minLength: 10, maxLength: 50, size: 'large' });
const simSeed = fc.integer({ min: 0, max: 0x7fffffff });

type Variant = Omit<ClusterOptions, 'seed' | 'size'>;

/** check plays one schedule and settles; any violation throws (with the sim seed and trace). */
function check(seed: number, size: number, actions: readonly FaultAction[], variant: Variant, bounds: SettleBounds): void {
  const c = new SimCluster({ seed, size, electionTick: ELECTION_TICK, ...variant });
  runSchedule(c, actions);
  healAndSettle(c, bounds);
  // Sanity: the run did something worth checking.
  expect(c.checker.leaders().size).toBeGreaterThan(0);
}

function assertProperty(variant: Variant, sizes: readonly number[], bounds = BOUNDS, actions = schedule): void {
  fc.assert(
    fc.property(simSeed, fc.constantFrom(...sizes), actions, (seed, size, acts) => check(seed, size, acts, variant, bounds)),
    PARAMS,
  );
}

describe('Raft under random fault schedules (fast-check)', () => {
  it('3 nodes: safe after every step, live after healing', () => {
    assertProperty({}, [3]);
  });

  it('5 nodes: safe after every step, live after healing', () => {
    assertProperty({}, [5]);
  });

  it('3 and 5 nodes with periodic snapshots, log compaction and slow fsyncs', () => {
    assertProperty({ snapshotEvery: 5, snapshotKeep: 1, asyncPersistPct: 50 }, [3, 5]);
  });

  it('3 and 5 nodes with small messages and a narrow in-flight window (flow control)', () => {
    assertProperty({ maxSizePerMsg: 256, maxInflightMsgs: 2, snapshotEvery: 9 }, [3, 5]);
  });

  it('3 and 5 nodes without pre-vote and check-quorum (plain Raft)', () => {
    assertProperty({ preVote: false, checkQuorum: false }, [3, 5], PLAIN_BOUNDS);
  });

  it('3 and 5 nodes with membership changes (add learner or voter, promote, remove) under faults', () => {
    assertProperty({ snapshotEvery: 8 }, [3, 5], BOUNDS, membershipSchedule);
  });

  it('3 and 5 nodes with everything at once: membership, aggressive compaction, slow fsyncs, flow control, skewed clocks', () => {
    assertProperty({ snapshotEvery: 3, snapshotKeep: 0, asyncPersistPct: 35, maxSizePerMsg: 512, maxInflightMsgs: 4, tickSkipPct: 30 }, [3, 5], BOUNDS, membershipSchedule);
  });

  it('a schedule replays exactly from its seed', () => {
    fc.assert(
      fc.property(simSeed, fc.constantFrom(3, 5), schedule, (seed, size, actions) => {
        const run = (): string => {
          const c = new SimCluster({ seed, size, electionTick: ELECTION_TICK, snapshotEvery: 7, asyncPersistPct: 30 });
          runSchedule(c, actions);
          healAndSettle(c, BOUNDS);
          return `${c.trace.hash}/${c.trace.count}/${c.describe()}`;
        };
        expect(run()).toBe(run());
      }),
      { ...PARAMS, numRuns: Math.max(10, Math.floor(RUNS / 5)) },
    );
  });
});
