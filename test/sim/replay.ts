/**
 * replay: a command-line tool that replays one simulated run and prints its full trace, for
 * reading a failure found by the properties. The counterexample fast-check prints is
 * `[seed, size, actions]`; pass it with the variant's cluster options:
 *
 *   npx tsx test/sim/replay.ts '[6,3,[{"kind":"run","ticks":30}]]' '{"preVote":false}' [from-step]
 *
 * It plays the schedule, heals and settles as the properties do, and prints every trace line
 * from `from-step` on (default: all), then the outcome.
 */
import type { ClusterOptions } from './cluster.js';
import { SimCluster } from './cluster.js';
import type { FaultAction } from './schedule.js';
import { runSchedule } from './schedule.js';
import { healAndSettle } from './settle.js';

const [, , example, optsJson, fromArg] = process.argv;
if (example === undefined) {
  process.stderr.write('Usage: npx tsx test/sim/replay.ts \'[seed,size,actions]\' [\'{clusterOptions}\'] [from-step]\n');
  process.exit(2);
}
const [seed, size, actions] = JSON.parse(example) as [number, number, FaultAction[]];
const extra = (optsJson === undefined ? {} : JSON.parse(optsJson)) as Omit<ClusterOptions, 'seed' | 'size'>;
const from = fromArg === undefined ? 0 : Number(fromArg);
const c = new SimCluster({ seed, size, electionTick: 10, keepTrace: true, ...extra });
let outcome = 'ok';
try {
  runSchedule(c, actions);
  const r = healAndSettle(c, { leaderTicks: 60, convergeTicks: 150 });
  outcome = `settled: leader ${r.leader} after ${r.leaderTicks} ticks, converged after ${r.convergeTicks} more`;
} catch (e: unknown) {
  outcome = e instanceof Error ? e.message.split('\n--- last trace lines ---')[0]! : String(e);
}
for (const line of c.trace.lines()) {
  const at = /^@(\d+)/.exec(line);
  if (at === null || Number(at[1]) >= from) process.stdout.write(`${line}\n`);
}
process.stdout.write(`\n${outcome}\n${c.describe()}\n`);
