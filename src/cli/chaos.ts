/**
 * chaos: the `raftkube chaos check` command — the verdict on a recorded history file alone:
 * linearizability per key, with --final no acknowledged write lost, with --watch a whole-run
 * watcher's guarantees. Exit codes: 0 all checks pass, 1 a check failed (not linearizable, a
 * lost write, a watch violation), 2 undecided (the time limit ran out and nothing failed),
 * 3 the input could not be used (unreadable or malformed file, bad flags). The work is in
 * src/chaos/checker; this file is flags and output.
 */
import type { Command } from 'commander';
import {
  checkLinearizability,
  checkLostWrites,
  checkWatch,
  formatLinearizability,
  formatLostWrites,
  formatWatch,
  readFinalState,
  readWatchFile,
} from '../chaos/checker/index.js';
import { formatHistoryError, readHistoryFile } from '../chaos/history.js';

/** CHECK_EXIT names the exit codes of `chaos check`. */
export const CHECK_EXIT = { pass: 0, fail: 1, undecided: 2, badInput: 3 } as const;

/** parseDuration reads `30s`, `2m`, `500ms` or a bare number of seconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return ms > 0 && Number.isFinite(ms) ? ms : null;
}

interface CheckFlags {
  readonly history?: string;
  readonly timeLimit: string;
  readonly final?: string;
  readonly watch?: string;
}

/** registerChaosCheckCommand adds `chaos check` to the program (creating `chaos` if no one has yet). */
export function registerChaosCheckCommand(program: Command): Command {
  const chaos = program.commands.find((c) => c.name() === 'chaos') ?? program.command('chaos').description('chaos testing: fault injection runs and the checkers of their recorded histories');
  chaos
    .command('check')
    .description(
      'check a recorded history (JSON lines): linearizability per key, and with --final no acknowledged write lost, with --watch the watcher\'s guarantees; exit 0 pass, 1 a check failed, 2 undecided within the time limit, 3 unusable input',
    )
    .option('--history <file>', 'the history: one JSON event per line ({"process","type","f","key","value","time"})')
    .option('--time-limit <duration>', 'how long the linearizability search may take before it answers undecided (e.g. 30s, 2m, 500ms)', '30s')
    .option('--final <file>', 'the final state: a JSON object of key -> value read at the end (null when absent)')
    .option('--watch <file>', 'a whole-run watcher\'s records, one JSON object per line (put/delete events and reconnects)')
    .exitOverride((err) => {
      // Flag errors exit 3, not commander's 1, which means "not linearizable" here.
      if (err.exitCode !== 0) process.exit(CHECK_EXIT.badInput);
    })
    .action(async (flags: CheckFlags) => {
      process.exitCode = await chaosCheck(flags);
    });
  return chaos;
}

function badInput(message: string): number {
  process.stderr.write(`raftkube chaos check: ${message}\n`);
  return CHECK_EXIT.badInput;
}

async function chaosCheck(flags: CheckFlags): Promise<number> {
  if (flags.history === undefined) return badInput('Give the history file with --history FILE.');
  const timeLimitMs = parseDuration(flags.timeLimit);
  if (timeLimitMs === null) return badInput(`--time-limit must be a positive duration such as 30s, 2m or 500ms (got ${JSON.stringify(flags.timeLimit)}).`);
  const parsed = await readHistoryFile(flags.history);
  if (!parsed.ok) return badInput(parsed.error.line === 0 ? parsed.error.message : `${flags.history}: ${formatHistoryError(parsed.error)}`);
  const final = flags.final === undefined ? null : await readFinalState(flags.final);
  if (final !== null && !final.ok) return badInput(final.error);
  const watch = flags.watch === undefined ? null : await readWatchFile(flags.watch);
  if (watch !== null && !watch.ok) return badInput(watch.error);

  const ops = parsed.value.ops;
  const fmt = { baseTime: ops.reduce((m, op) => Math.min(m, op.invokeTime), ops[0]?.invokeTime ?? 0) };
  process.stdout.write(`History ${flags.history}: ${parsed.value.events} events, ${ops.length} operations.\n`);
  const lin = checkLinearizability(ops, { timeLimitMs });
  process.stdout.write(formatLinearizability(lin, fmt));
  let failed = lin.verdict === 'not-linearizable';
  if (final !== null) {
    const lost = checkLostWrites(ops, final.value);
    process.stdout.write(`\n${formatLostWrites(lost, fmt)}`);
    failed ||= !lost.ok;
  }
  if (watch !== null) {
    const w = checkWatch(watch.value, ops);
    process.stdout.write(`\n${formatWatch(w, fmt)}`);
    failed ||= !w.ok;
  }
  const code = failed ? CHECK_EXIT.fail : lin.verdict === 'unknown' ? CHECK_EXIT.undecided : CHECK_EXIT.pass;
  const word = code === CHECK_EXIT.fail ? 'FAIL' : code === CHECK_EXIT.undecided ? 'UNDECIDED (the search ran out of time or memory first; a longer --time-limit may decide it)' : 'PASS';
  process.stdout.write(`\nVerdict: ${word}\n`);
  return code;
}
