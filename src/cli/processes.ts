/**
 * processes: which recorded pids are really this cluster's processes. A pid in cluster.json may
 * have exited and been reused by an unrelated program; `down` must never signal that, and
 * `status` and `up` must not count it as a running member.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { isAlive } from './cluster-file.js';

/** processArgs returns a process's command line, or null when it is gone or unreadable. */
export function processArgs(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s.length > 0);
  } catch {
    return null;
  }
}

function procAvailable(): boolean {
  return processArgs(process.pid) !== null;
}

/** MAIN_SCRIPT matches the raftkube entry point on a command line (built or run with tsx). */
const MAIN_SCRIPT = /(^|[/\\])cli[/\\]main\.[jt]s$/;

function spellings(dir: string): string[] {
  const abs = resolve(dir);
  try {
    const real = realpathSync(abs);
    return real === abs ? [abs] : [abs, real];
  } catch {
    return [abs];
  }
}

/**
 * isClusterProcess tells whether pid is a live raftkube process of the cluster in dataDir: its
 * command line runs the raftkube main script and names a path inside dataDir (every process
 * `up` starts gets one: a member's --data-dir is DIR/<name>). Where /proc is not available it
 * falls back to "the pid exists".
 */
export function isClusterProcess(pid: number, dataDir: string): boolean {
  if (!isAlive(pid)) return false;
  const args = processArgs(pid);
  if (args === null) return !procAvailable() && isAlive(pid);
  if (!args.some((a) => MAIN_SCRIPT.test(a))) return false;
  const roots = spellings(dataDir);
  return args.some((a) => roots.some((r) => a === r || a.startsWith(`${r}${sep}`)));
}

/** runningPids lists a master's recorded pids that are still its processes. */
export function runningPids(m: { readonly pids: readonly number[] }, dataDir: string): number[] {
  return m.pids.filter((p) => isClusterProcess(p, dataDir));
}

/** memberDataDir is where `up` keeps one member's data. */
export function memberDataDir(dataDir: string, name: string): string {
  return join(dataDir, name);
}
