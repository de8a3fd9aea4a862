/**
 * main: `npm run check:planted-bugs [-- bug-name ...]` — plants each bug of bugs.ts in a copy of
 * the core, runs the fast-check properties against it and prints, per bug, whether they caught
 * it (which property, after how many runs, seed and path) or missed it. Exits 1 if any bug was
 * missed, 2 if the check could not run. RAFT_PROP_RUNS changes the runs per property.
 */
import { PLANTED_BUGS } from './bugs.js';
import { checkBugs, describeResult } from './check.js';

const names = process.argv.slice(2);
const unknown = names.filter((n) => !PLANTED_BUGS.some((b) => b.name === n));
if (unknown.length > 0) {
  process.stderr.write(`Unknown planted bug(s): ${unknown.join(', ')}. Known: ${PLANTED_BUGS.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}
const bugs = names.length === 0 ? PLANTED_BUGS : PLANTED_BUGS.filter((b) => names.includes(b.name));
const runsEnv = process.env['RAFT_PROP_RUNS'];
const started = Date.now();
try {
  const results = await checkBugs(bugs, runsEnv === undefined ? {} : { runs: Number.parseInt(runsEnv, 10) });
  for (const r of results) process.stdout.write(`${describeResult(r).join('\n')}\n`);
  const missed = results.filter((r) => !r.caught);
  process.stdout.write(`\n${results.length - missed.length} of ${results.length} planted bugs caught in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  process.exit(missed.length === 0 ? 0 : 1);
} catch (e: unknown) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
