/**
 * prereqs: the programs outside npm that a task needs (etcdctl for the tests, etcd for
 * `bench kv --compare-etcd`), found on the PATH, installed with apt-get where that is possible
 * (root on Debian/Ubuntu), or else named in one line that says what to install. `npm test` runs
 * it first, so a fresh machine gets the tools or a clear answer at once, never a wall of ENOENT.
 *
 * To add a prerequisite (kubectl, a browser), add an entry to PREREQUISITES with the tasks that
 * use it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Task is something that needs prerequisites. */
export type Task = 'test' | 'bench-compare-etcd';

/** Prerequisite is one program a task needs. */
export interface Prerequisite {
  /** command is the program's name on the PATH. */
  readonly command: string;
  /** envVar, when set in the environment, names the program's path instead. */
  readonly envVar?: string;
  /** what says what it is and why it is needed, for the one-line answer. */
  readonly what: string;
  /** debianPackage installs it with apt-get (null when there is none). */
  readonly debianPackage: string | null;
  readonly tasks: readonly Task[];
}

/** PREREQUISITES lists every program outside npm that raftkube's tasks use. */
export const PREREQUISITES: readonly Prerequisite[] = [
  { command: 'etcdctl', envVar: 'ETCDCTL', what: 'etcdctl, the etcd v3 client the compatibility tests drive', debianPackage: 'etcd-client', tasks: ['test'] },
  { command: 'etcd', what: 'etcd, the server bench kv --compare-etcd measures against', debianPackage: 'etcd-server', tasks: ['bench-compare-etcd'] },
  { command: 'kubectl', envVar: 'KUBECTL', what: 'kubectl (1.32), the Kubernetes client the control-plane tests drive', debianPackage: null, tasks: ['test'] },
  { command: 'chromium', envVar: 'CHROMIUM', what: 'Chromium, the headless browser the dashboard test drives', debianPackage: 'chromium', tasks: ['test'] },
];

/** System is what the checker touches, so tests can stand in for the machine. */
export interface System {
  readonly env: NodeJS.ProcessEnv;
  /** isRoot tells whether packages can be installed without sudo. */
  isRoot(): boolean;
  /** run runs a command to completion and returns its exit code and output. */
  run(cmd: string, args: readonly string[]): { readonly code: number; readonly output: string };
  /** log shows progress to the person waiting. */
  log(line: string): void;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** findOnPath returns where a command is on PATH, or null. */
export function findOnPath(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir.length === 0) continue;
    const p = join(dir, command);
    if (isExecutable(p)) return p;
  }
  return null;
}

/** locate finds a prerequisite: its envVar's path when that is set, else on the PATH. */
export function locate(p: Prerequisite, env: NodeJS.ProcessEnv): string | null {
  const override = p.envVar === undefined ? undefined : env[p.envVar];
  if (override !== undefined && override.length > 0) return override.includes('/') ? (isExecutable(override) ? override : null) : findOnPath(override, env);
  return findOnPath(p.command, env);
}

/** Ensured is the checker's outcome: what was installed, or the one line to show. */
export type Ensured = { readonly ok: true; readonly installed: readonly string[] } | { readonly ok: false; readonly error: string };

/** NO_INSTALL_ENV, when set, forbids installing (find or explain only). */
export const NO_INSTALL_ENV = 'RAFTKUBE_NO_INSTALL';

function advice(missing: readonly Prerequisite[], env: NodeJS.ProcessEnv): string {
  const pkgs = missing.map((p) => p.debianPackage).filter((x): x is string => x !== null);
  const names = missing
    .map((p) => {
      const set = p.envVar === undefined ? '' : (env[p.envVar] ?? '');
      return set.length > 0 ? `${p.what} ($${p.envVar}=${set} is not an executable)` : p.what;
    })
    .join('; ');
  const how = pkgs.length > 0 ? `install ${missing.length === 1 ? 'it' : 'them'} with "sudo apt-get install ${pkgs.join(' ')}" (Debian/Ubuntu) or put ${missing.map((p) => p.command).join(', ')} on the PATH` : `put ${missing.map((p) => p.command).join(', ')} on the PATH`;
  return `Missing ${names}: ${how}, then run this again.`;
}

/**
 * ensurePrerequisites makes sure every program the task needs is there: found, or installed
 * with apt-get when running as root with apt-get available (retrying after apt-get update), or
 * else an error line naming what to install.
 */
export function ensurePrerequisites(task: Task, sys: System, list: readonly Prerequisite[] = PREREQUISITES): Ensured {
  const needed = list.filter((p) => p.tasks.includes(task));
  const missing = (): Prerequisite[] => needed.filter((p) => locate(p, sys.env) === null);
  const before = missing();
  if (before.length === 0) return { ok: true, installed: [] };
  const pkgs = before.map((p) => p.debianPackage);
  // Install what apt-get can provide; whatever has no package is named in the answer.
  const canInstall = sys.env[NO_INSTALL_ENV] === undefined && sys.isRoot() && findOnPath('apt-get', sys.env) !== null && pkgs.some((x) => x !== null);
  if (!canInstall) return { ok: false, error: advice(before, sys.env) };
  const names = pkgs.filter((x): x is string => x !== null);
  sys.log(`Installing ${names.join(', ')} with apt-get (for ${before.map((p) => p.command).join(', ')}) ...`);
  const install = (): { code: number; output: string } => sys.run('apt-get', ['install', '-y', '-qq', ...names]);
  let r = install();
  if (r.code !== 0) {
    // A fresh image often has no package lists yet.
    const update = sys.run('apt-get', ['update', '-qq']);
    r = update.code === 0 ? install() : update;
  }
  const still = missing();
  if (r.code !== 0 || still.length > 0) {
    const last = r.output.trim().split('\n').at(-1) ?? '';
    return { ok: false, error: `${advice(still.length > 0 ? still : before, sys.env)} (apt-get install ${names.join(' ')} failed${last.length > 0 ? `: ${last}` : ''})` };
  }
  return { ok: true, installed: names };
}

/** realSystem is this machine. */
export function realSystem(): System {
  return {
    env: process.env,
    isRoot: () => process.getuid?.() === 0,
    run: (cmd, args) => {
      const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
      return { code: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error === undefined ? '' : r.error.message}` };
    },
    log: (line) => process.stderr.write(`${line}\n`),
  };
}
