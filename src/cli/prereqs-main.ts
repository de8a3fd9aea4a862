/**
 * prereqs-main: `tsx src/cli/prereqs-main.ts <task>` — the first step of `npm test`: make sure
 * the programs the task needs are there (see prereqs.ts), or print one line saying what to
 * install and exit 1.
 */
import { ensurePrerequisites, realSystem, type Task } from './prereqs.js';

const TASKS: readonly Task[] = ['test', 'bench-compare-etcd'];

function main(argv: readonly string[]): number {
  const task = TASKS.find((t) => t === argv[0]);
  if (task === undefined) {
    process.stderr.write(`prereqs: name a task (${TASKS.join(' or ')}), got ${JSON.stringify(argv[0] ?? '')}\n`);
    return 2;
  }
  const r = ensurePrerequisites(task, realSystem());
  if (!r.ok) {
    process.stderr.write(`${r.error}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
