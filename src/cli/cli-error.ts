/**
 * cli-error: the one error type the `raftkube` command prints as a single line (no stack): a
 * failure the person at the terminal can act on, worded as what happened and what to do.
 */

/** CliError is an expected failure of a command; main prints its message and exits non-zero. */
export class CliError extends Error {
  override readonly name = 'CliError';
}
