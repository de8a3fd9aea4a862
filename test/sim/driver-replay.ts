/**
 * driver-replay: a command-line tool that replays one run of the driver simulator and prints its
 * full trace, for reading a failure found by test/raft/driver-sim.test.ts. Pass the
 * counterexample fast-check prints, `[seed, size, actions]`, and the property's cluster options:
 *
 *   npx tsx test/sim/driver-replay.ts '[6,3,[{"kind":"run","ticks":30}]]' '{"slowFsyncPct":40}' [from-ms]
 *
 * It plays the schedule, heals and settles as the properties do, and prints every trace line
 * from `from-ms` on (default: all), then the outcome.
 */
import type { DriverClusterOptions } from './driver-cluster.js';
import { DriverCluster } from './driver-cluster.js';
import type { DriverAction } from './driver-schedule.js';
import { healAndSettleDrivers, runDriverSchedule } from './driver-schedule.js';

const [, , example, optsJson, fromArg] = process.argv;
if (example === undefined) {
  process.stderr.write('Usage: npx tsx test/sim/driver-replay.ts \'[seed,size,actions]\' [\'{clusterOptions}\'] [from-ms]\n');
  process.exit(2);
}
const [seed, size, actions] = JSON.parse(example) as [number, number, DriverAction[]];
const extra = (optsJson === undefined ? {} : JSON.parse(optsJson)) as Omit<DriverClusterOptions, 'seed' | 'size'>;
const from = fromArg === undefined ? 0 : Number(fromArg);
const c = new DriverCluster({ seed, size, electionTick: 10, keepTrace: true, ...extra });
let outcome = 'ok';
try {
  await runDriverSchedule(c, actions);
  const r = await healAndSettleDrivers(c, { leaderTicks: 60, convergeTicks: 200 });
  outcome = `settled: leader ${r.leader} after ${r.leaderTicks} ticks, converged after ${r.convergeTicks} more`;
} catch (e: unknown) {
  outcome = e instanceof Error ? e.message.split('\n--- last trace lines ---')[0]! : String(e);
}
for (const line of c.trace.lines()) {
  const at = /^@(\d+)/.exec(line);
  if (at === null || Number(at[1]) >= from) process.stdout.write(`${line}\n`);
}
process.stdout.write(`\n${outcome}\n${c.describe()}\n`);
