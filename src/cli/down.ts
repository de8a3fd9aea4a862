/**
 * down: `raftkube down` — stop the processes of a local cluster. Only pids that are still this
 * cluster's processes are signalled (a recorded pid may have been reused by another program),
 * and the report says what was really stopped.
 */
import { CliError } from './cli-error.js';
import { isAlive, readClusterFile } from './cluster-file.js';
import { commandHint } from './hints.js';
import { stopPids } from './local-cluster.js';
import { runningPids } from './processes.js';

/** DownReport says what `down` did: which masters it stopped and which recorded pids it left alone. */
export interface DownReport {
  readonly stopped: readonly { readonly name: string; readonly pids: readonly number[] }[];
  /** ignored are recorded pids that still exist but are no longer this cluster's processes. */
  readonly ignored: readonly number[];
}

/** down stops the cluster described in dataDir/cluster.json. */
export async function down(dataDir: string): Promise<DownReport> {
  const f = readClusterFile(dataDir);
  if (f === null) throw new CliError(`No cluster in ${dataDir} (no cluster.json); start one with ${commandHint('up', dataDir)}`);
  const stopped = f.masters.map((m) => ({ name: m.name, pids: runningPids(m, dataDir) })).filter((m) => m.pids.length > 0);
  const ignored = f.masters.flatMap((m) => m.pids).filter((p) => isAlive(p) && !stopped.some((s) => s.pids.includes(p)));
  await stopPids(stopped.flatMap((s) => s.pids));
  return { stopped, ignored };
}

/** formatDown is the report as people read it. */
export function formatDown(r: DownReport, dataDir: string): string {
  const n = r.stopped.length;
  const what = n === 0 ? `Nothing was running from ${dataDir}.` : `Stopped ${n === 1 ? '1 master' : `${n} masters`}: ${r.stopped.map((s) => `${s.name} (pid ${s.pids.join(', ')})`).join(', ')}.`;
  const left = r.ignored.length === 0 ? '' : ` Left alone ${r.ignored.length === 1 ? 'pid' : 'pids'} ${r.ignored.join(', ')}: ${r.ignored.length === 1 ? 'it is' : 'they are'} no longer this cluster's.`;
  return `${what}${left}\n`;
}
