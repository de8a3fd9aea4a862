/**
 * checker: the verdicts on a chaos run's recorded history — linearizability per key against a
 * register (with `info` operations that may take effect late or never), no acknowledged write
 * lost (against the final state), a whole-run watcher's guarantees (against the history), and
 * their rendering for a person.
 */
export {
  checkLinearizability,
  type CheckOptions,
  type Counterexample,
  type KeyVerdict,
  type LinearizabilityResult,
  type UnknownReason,
  type Verdict,
} from './linearizability.js';
export { checkLostWrites, parseFinalState, readFinalState, type FinalState, type LostWriteResult, type LostWriteViolation } from './lost-writes.js';
export {
  checkWatch,
  formatWatchRecord,
  parseWatchRecord,
  readWatchFile,
  type WatchEvent,
  type WatchRecord,
  type WatchResult,
  type WatchViolation,
} from './watch.js';
export { formatCounterexample, formatLinearizability, formatLostWrites, formatOperation, formatWatch, type FormatOptions } from './report.js';
