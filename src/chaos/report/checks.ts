/**
 * checks: every check of the chaos suite on one recorded run — linearizability per key, no
 * acknowledged write lost (against the final reads), and the whole-run watcher's guarantees —
 * each turned into a verdict for the report and the exit code. The history is read back from
 * its file, so the checks see exactly what `raftkube chaos check` would.
 */
import { checkLinearizability, checkLostWrites, checkWatch, formatLinearizability, formatLostWrites, formatWatch } from '../checker/index.js';
import { formatHistoryError, readHistoryFile } from '../history.js';
import type { CheckFn } from '../runner/run.js';
import type { CheckVerdict } from './verdicts.js';

/** LINEARIZABILITY_TIME_LIMIT_MS bounds the search; past it the verdict is "could not decide". */
export const LINEARIZABILITY_TIME_LIMIT_MS = 120_000;

/** runChecks runs the three checks. */
export const runChecks: CheckFn = async (input) => {
  const parsed = await readHistoryFile(input.historyPath);
  if (!parsed.ok) {
    return [{ check: 'history', result: 'unknown', summary: `the recorded history could not be read back: ${formatHistoryError(parsed.error)}` }];
  }
  const ops = parsed.value.ops;
  const verdicts: CheckVerdict[] = [];

  const lin = checkLinearizability(ops, { timeLimitMs: LINEARIZABILITY_TIME_LIMIT_MS });
  const linText = formatLinearizability(lin);
  verdicts.push({
    check: 'linearizability',
    result: lin.verdict === 'linearizable' ? 'pass' : lin.verdict === 'not-linearizable' ? 'violation' : 'unknown',
    summary: linText.split('\n')[0]!.replace(/^Linearizability: /, ''),
    details: linText,
  });

  const lost = checkLostWrites(ops, new Map(Object.entries(input.finalValues)));
  const lostText = formatLostWrites(lost);
  // A key the final reads could not reach (the cluster did not recover: its own verdict) leaves
  // its writes unjudged, which is "could not decide", not a lost write.
  const unread = lost.violations.filter((v) => v.kind === 'no-final-read');
  const judged = lost.violations.length - unread.length;
  verdicts.push(
    judged === 0 && unread.length > 0
      ? { check: 'lost writes', result: 'unknown', summary: `${unread.length} keys with acknowledged writes could not be read after the run, so their writes were not judged; none lost among the keys read`, details: lostText }
      : { check: 'lost writes', result: lost.ok ? 'pass' : 'violation', summary: lostText.split('\n')[0]!.replace(/^Lost writes: /, ''), details: lostText },
  );

  const watch = checkWatch(input.watch, ops);
  const watchText = formatWatch(watch);
  // A watcher stopped before it caught up with the end of the run (the cluster did not recover)
  // has not seen the last writes yet, which is "could not decide", not a missed write.
  const missed = watch.violations.filter((v) => v.kind === 'missed-write').length;
  verdicts.push(
    !input.watchCaughtUp && missed > 0 && missed === watch.violations.length
      ? { check: 'watch', result: 'unknown', summary: `the watcher was stopped before it caught up with the end of the run, so ${missed} acknowledged writes it had not seen yet were not judged; no other violation`, details: watchText }
      : { check: 'watch', result: watch.ok ? 'pass' : 'violation', summary: watchText.split('\n')[0]!.replace(/^Watch: /, ''), details: watchText },
  );
  return verdicts;
};
