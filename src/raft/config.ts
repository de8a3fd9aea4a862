/**
 * config: the settings of one Raft node, their defaults, and the check that refuses a setting
 * the core cannot work with before it starts.
 */
import type { LogIndex, NodeId } from './types.js';
import type { Storage } from './storage.js';
import type { Rng } from './rng.js';

/** DEFAULT_MAX_SIZE_PER_MSG is the default cap on the entry bytes of one append (1 MiB). */
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** DEFAULT_MAX_INFLIGHT_MSGS is the default window of unacknowledged appends per follower. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** DEFAULT_MAX_COMMITTED_SIZE_PER_READY is the default cap on committed entry bytes per Ready (64 MiB). */
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY = 64 * 1024 * 1024;
/** DEFAULT_MAX_LEARNER_LAG is the default number of entries a learner may trail and still be promoted. */
export const DEFAULT_MAX_LEARNER_LAG = 1000;

/** RaftConfig configures one node. */
export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: Storage;
  /** electionTick is the minimum number of ticks without a leader before campaigning. */
  readonly electionTick: number;
  /** heartbeatTick is the number of ticks between leader heartbeats. */
  readonly heartbeatTick: number;
  /** rng draws the randomized election timeout in [electionTick, 2·electionTick). */
  readonly rng: Rng;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** maxSizePerMsg caps the bytes of entries in one append message. */
  readonly maxSizePerMsg?: number;
  /** maxInflightMsgs bounds unacknowledged appends per follower in replicate state. */
  readonly maxInflightMsgs?: number;
  /** maxCommittedSizePerReady caps the bytes of committed entries handed out in one Ready. */
  readonly maxCommittedSizePerReady?: number;
  /** maxLearnerLag is how many entries a learner may trail and still be promoted. */
  readonly maxLearnerLag?: number;
  /** applied is the index the state machine had applied before a restart. */
  readonly applied?: LogIndex;
}

/**
 * raftConfigProblem says what is wrong with a configuration, naming the setting, or null when
 * it is usable: a non-zero id, whole-number ticks with 1 ≤ heartbeatTick < electionTick, and
 * positive whole-number limits.
 */
export function raftConfigProblem(c: RaftConfig): string | null {
  const whole = (v: number, min: number): boolean => Number.isSafeInteger(v) && v >= min;
  if (!whole(c.id, 1)) return `id must be a member id above 0, not ${c.id}`;
  if (!whole(c.heartbeatTick, 1)) return `heartbeatTick must be a whole number of ticks ≥ 1, not ${c.heartbeatTick}`;
  if (!whole(c.electionTick, c.heartbeatTick + 1)) return `electionTick (${c.electionTick}) must be a whole number of ticks above heartbeatTick (${c.heartbeatTick})`;
  const limits: [string, number | undefined, number][] = [
    ['maxSizePerMsg', c.maxSizePerMsg, 1],
    ['maxInflightMsgs', c.maxInflightMsgs, 1],
    ['maxCommittedSizePerReady', c.maxCommittedSizePerReady, 1],
    ['maxLearnerLag', c.maxLearnerLag, 0],
    ['applied', c.applied, 0],
  ];
  for (const [name, v, min] of limits) {
    if (v !== undefined && !whole(v, min)) return `${name} must be a whole number ≥ ${min}, not ${v}`;
  }
  return null;
}
