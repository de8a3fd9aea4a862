/**
 * run: a standalone entry for `bench kv` while it is not yet wired into the raftkube command
 * (and for running it straight from source):
 *
 *   npx tsx bench/kv/run.ts bench kv --etcd-only --members 3
 */
import { Command } from 'commander';
import { registerBenchCommand } from '../../src/cli/bench-kv.js';

const program = new Command();
program.name('raftkube');
registerBenchCommand(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`raftkube: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
