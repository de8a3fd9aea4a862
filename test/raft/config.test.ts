/**
 * config: a Raft core refuses a configuration it cannot work with, naming the setting, before
 * it starts (rather than stalling later, e.g. with no append ever in flight).
 */
import { describe, expect, it } from 'vitest';
import { raftConfigProblem, type RaftConfig } from '../../src/raft/index.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { nodeId, logIndex } from '../../src/raft/types.js';

const base: RaftConfig = { id: nodeId(1), storage: MemoryStorage.withConf({ voters: [nodeId(1)], learners: [] }), electionTick: 10, heartbeatTick: 1, rng: seededRng(1) };

describe('Raft configuration', () => {
  it('accepts a usable configuration', () => {
    expect(raftConfigProblem(base)).toBeNull();
    expect(raftConfigProblem({ ...base, maxInflightMsgs: 1, maxSizePerMsg: 1, maxLearnerLag: 0, applied: logIndex(0) })).toBeNull();
  });

  it.each([
    [{ id: 0 as ReturnType<typeof nodeId> }, /^id must be a member id above 0/],
    [{ heartbeatTick: 0 }, /^heartbeatTick must be a whole number of ticks ≥ 1, not 0/],
    [{ heartbeatTick: 1.5 }, /^heartbeatTick/],
    [{ electionTick: 1 }, /^electionTick \(1\) must be a whole number of ticks above heartbeatTick \(1\)/],
    [{ electionTick: Number.NaN }, /^electionTick/],
    [{ maxInflightMsgs: 0 }, /^maxInflightMsgs must be a whole number ≥ 1, not 0/],
    [{ maxSizePerMsg: -1 }, /^maxSizePerMsg/],
    [{ maxCommittedSizePerReady: 0 }, /^maxCommittedSizePerReady/],
    [{ maxLearnerLag: -1 }, /^maxLearnerLag/],
    [{ applied: -3 as ReturnType<typeof logIndex> }, /^applied/],
  ] as [Partial<RaftConfig>, RegExp][])('refuses %o', (change, reason) => {
    const c = { ...base, ...change };
    expect(raftConfigProblem(c)).toMatch(reason);
    expect(() => new RawNode(c)).toThrow(reason);
  });
});
