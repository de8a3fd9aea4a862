/**
 * run: a standalone entry for `bench api` while it is not yet wired into the raftkube command
 * (and for running it straight from source):
 *
 *   npx tsx bench/control-plane/run.ts bench api --data-dir DIR --quick
 */
import { Command } from 'commander';
import { registerBenchApiCommand } from '../../src/cli/bench-api.js';

const program = new Command();
program.name('raftkube');
registerBenchApiCommand(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`raftkube: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
