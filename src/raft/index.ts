/**
 * raft: the public surface of the Raft consensus core.
 */
export * from './types.js';
export * from './storage.js';
export * from './rng.js';
export { RawNode, type NodeStatus } from './raw-node.js';
export type { RaftConfig } from './config.js';
export { raftConfigProblem } from './config.js';
export type { RaftTracer, RaftTraceStage } from './trace.js';
export { encodeConfChange, decodeConfChange, parseConfChange, validateConfChange, applyConfChange, type ConfChangeDecoded } from './membership.js';
export { committedIndex, voteResult, majority } from './quorum.js';
