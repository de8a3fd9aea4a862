/**
 * procs: what the benchmark reads about member processes from /proc (resident memory, command
 * line, working directory, liveness), and restarting a member exactly as it was started.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/** parseVmRssKiB extracts VmRSS (KiB) from the text of /proc/<pid>/status, or null if absent. */
export function parseVmRssKiB(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m === null ? null : Number(m[1]);
}

/** readRssKiB reads a process's resident set size in KiB, or null if it is gone. */
export function readRssKiB(pid: number): number | null {
  try {
    return parseVmRssKiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * isRunning tells whether a process exists and is not a zombie.
 *
 * NB: when a multi-threaded process (Go's etcd, Node) dies, its main thread can turn zombie
 * while other threads are still exiting and still hold the process's sockets; it only counts
 * as gone once no thread but the zombie main thread is left.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name, which is in parentheses and may contain any byte.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'Z' && state !== 'X') return true;
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

/** listenPorts are the loopback ports a member's command line listens on (client and peer URLs). */
export function listenPorts(argv: readonly string[]): number[] {
  const ports: number[] = [];
  argv.forEach((a, i) => {
    const [flag, inline] = a.split('=', 2);
    if (flag !== '--listen-client-urls' && flag !== '--listen-peer-urls') return;
    const v = inline ?? argv[i + 1] ?? '';
    for (const u of v.split(',')) {
      const m = /:(\d+)\/?$/.exec(u.trim());
      if (m !== null) ports.push(Number(m[1]));
    }
  });
  return ports;
}

/** portFree tells whether a loopback port can be bound now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** CommandLine is how a process was started: argv, working directory and environment. */
export interface CommandLine {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/** readCommandLine reads /proc/<pid>/cmdline, cwd and environ, so the process can be started again alike. */
export function readCommandLine(pid: number): CommandLine {
  const argv = nulSeparated(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  if (argv.length === 0) throw new Error(`Process ${pid} has an empty command line (a kernel thread or a zombie?)`);
  const env: Record<string, string> = {};
  for (const kv of nulSeparated(readFileSync(`/proc/${pid}/environ`, 'utf8'))) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { argv, cwd: readlinkSync(`/proc/${pid}/cwd`), env };
}

function nulSeparated(raw: string): string[] {
  const parts = raw.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** argvOrNull is a process's command line, or null if it cannot be read (gone, or a kernel thread). */
export function argvOrNull(pid: number): readonly string[] | null {
  try {
    return readCommandLine(pid).argv;
  } catch {
    return null;
  }
}

/** startCommandLine starts a process again with the same argv, cwd and environment, output appended to `logPath`. */
export function startCommandLine(cl: CommandLine, o: { readonly logPath: string; readonly detached: boolean }): number {
  const [cmd, ...args] = cl.argv;
  if (cmd === undefined) throw new Error('Cannot restart a process with an empty command line');
  const fd = openSync(o.logPath, 'a');
  try {
    const child = spawn(cmd, args, { cwd: cl.cwd, env: cl.env, detached: o.detached, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`Could not start ${cmd}; see ${o.logPath}`);
    child.on('error', () => {}); // reported through the liveness checks instead
    if (o.detached) child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** memberPid picks the kv member among a master's processes: the one running `kv` or `etcd`. */
export function memberPid(pids: readonly number[], argvOf: (pid: number) => readonly string[] | null): number | null {
  if (pids.length === 1) return pids[0] ?? null;
  for (const pid of pids) {
    const argv = argvOf(pid);
    if (argv === null) continue;
    if (argv.includes('kv') || argv.some((a) => /(^|\/)etcd$/.test(a))) return pid;
  }
  return null;
}
