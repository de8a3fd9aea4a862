/**
 * verdicts: the outcome of each check on a run, and the exit code they add up to.
 */

/** CheckResult is what one check concluded. */
export type CheckResult = 'pass' | 'violation' | 'unknown';

/** CheckVerdict is one check's conclusion with a line for people and, for a violation, its evidence. */
export interface CheckVerdict {
  readonly check: string;
  readonly result: CheckResult;
  readonly summary: string;
  /** details is the check's full text (a counterexample, say), written to the report. */
  readonly details?: string;
}

/** exitCodeOf: 0 when every check passed, 1 when one found a violation, 2 when one could not decide. */
export function exitCodeOf(verdicts: readonly CheckVerdict[]): 0 | 1 | 2 {
  if (verdicts.some((v) => v.result === 'violation')) return 1;
  if (verdicts.length === 0 || verdicts.some((v) => v.result === 'unknown')) return 2;
  return 0;
}
