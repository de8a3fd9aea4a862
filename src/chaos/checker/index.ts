/**
 * checker: the verdicts on a chaos run's recorded history — linearizability per key against a
 * register (with `info` operations that may take effect late or never), and their rendering
 * for a person.
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
export { formatCounterexample, formatLinearizability, formatOperation, type FormatOptions } from './report.js';
