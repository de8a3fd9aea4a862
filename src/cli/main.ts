#!/usr/bin/env node
/**
 * main: the `raftkube` command. Each subcommand runs in this process: `raftkube kv` IS the
 * member (no wrapper), so signals sent to its pid reach the server. A failure prints one line
 * (`raftkube: <what happened and what to do>`) and exits 1.
 *
 * `raftkube kv` loads only the member's code (kv-command.ts); every other subcommand loads the
 * whole command (program.ts). A restarted member serves sooner that way: loading everything
 * took 0.5–0.8 s of its start.
 */
import { quietTlsServerNameWarning } from './warnings.js';

quietTlsServerNameWarning();

if (process.argv[2] === 'kv') {
  const { newProgram, registerKvCommand, runProgram } = await import('./kv-command.js');
  const program = newProgram();
  registerKvCommand(program);
  await runProgram(program);
} else {
  await import('./program.js');
}
