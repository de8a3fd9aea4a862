/**
 * process-runtime: the default ContainerRuntime — each container is a child process (its
 * command and args, its environment, its working directory) in a process group of its own, so a
 * stop reaches everything it started: SIGTERM to the group, SIGKILL after the grace period.
 * Output goes to a log file per container and run under the node's data directory, laid out as
 * the kubelet lays out /var/log/pods: `<dataDir>/pods/<ns>_<name>_<uid>/<container>/<restart>.log`,
 * rotated past a size to `<restart>.log.1`.
 * Memory and cpu limits are enforced through cgroups where the machine allows it (cgroups.ts);
 * a container the kernel killed over its memory limit is reported OOMKilled. Volumes are directories under the pod's directory, linked into each container's root directory
 * (its default working directory; see volumes.ts).
 * Each container leaves a checkpoint beside its logs (checkpoint.ts), so an agent that died
 * without stopping its pods takes them back when it starts again (`recover`): a container whose
 * process still runs is adopted — watched through /proc, its pid and restart count unchanged —
 * and one that ended meanwhile is reported ContainerStatusUnknown, for the restart policy to decide.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, rmSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, join } from 'node:path';
import type { Result } from '../control-plane/api/types.js';
import { err, ok } from '../control-plane/api/types.js';
import type { Disposable } from '../control-plane/apiserver/registry-api.js';
import { expandVars } from './env.js';
import type { ConfigError, ContainerRecord, ContainerRuntime, StartContainerRequest, Terminated } from './runtime.js';
import type { PodObject } from './types.js';
import { prepareVolumes } from './volumes.js';
import type { CgroupHandle } from './cgroups.js';
import { Cgroups, limitsOf } from './cgroups.js';
import type { Checkpoint } from './checkpoint.js';
import { isRunning, processInfo, readCheckpoints, writeCheckpoint } from './checkpoint.js';

/** ProcessRuntimeOptions configure the process runtime. */
export interface ProcessRuntimeOptions {
  /** dataDir is the node's data directory; pods' logs and pid files live under `<dataDir>/pods`. */
  readonly dataDir: string;
  /** closeGraceMs: how long close() lets containers answer SIGTERM before SIGKILL (default 2 s). */
  readonly closeGraceMs?: number;
  /** maxLogBytes: a run's log past this size is rotated to `<restart>.log.1` (default 10 MiB; 0 never rotates). */
  readonly maxLogBytes?: number;
  /** rotateEveryMs: how often log sizes are checked (default 10 s). */
  readonly rotateEveryMs?: number;
  /**
   * cgroups enforces containers' memory and cpu limits (default: the machine's control groups,
   * probed when a container first has limits; false: never enforce).
   */
  readonly cgroups?: Cgroups | false;
  readonly wallClock?: () => Date;
  /** watchMs: how often an adopted container's process is looked for in /proc (default 500 ms). */
  readonly watchMs?: number;
}

/** RecoveryReport is what `recover` found of an earlier run of the agent. */
export interface RecoveryReport {
  /** pods: how many pods had a record. */
  readonly pods: number;
  /** adopted: containers whose process still ran, taken back as they were. */
  readonly adopted: number;
  /** ended: containers recorded running whose process had gone (ContainerStatusUnknown). */
  readonly ended: number;
  /** killed: processes named by pid files of the older format, killed. */
  readonly killed: number;
}

interface Proc {
  record: ContainerRecord;
  /** logPath is the file this run writes to. */
  logPath: string;
  /** env and cwd are the container's, for exec probes. */
  env: Record<string, string>;
  cwd: string;
  /** pid is the running process (its group's leader), null when none runs. */
  pid: number | null;
  exited: Promise<void> | null;
  killTimer: NodeJS.Timeout | null;
  killAt: number;
  /** signalled is the last signal the runtime sent (an adopted process's exit status is not ours to read). */
  signalled: NodeJS.Signals | null;
}

interface ProcPod {
  readonly dir: string;
  readonly containers: Map<string, Proc>;
}

/** ExecContext is what a command run in a container (kubectl exec) starts with. */
export interface ExecContext {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** podDirName is a pod's directory name under `<dataDir>/pods`: `<namespace>_<name>_<uid>`. */
export function podDirName(pod: PodObject): string {
  return `${pod.metadata.namespace ?? 'default'}_${pod.metadata.name ?? ''}_${pod.metadata.uid ?? ''}`;
}

/** containerLogPath is where a container's output of one run (restartCount) is written. */
export function containerLogPath(dataDir: string, pod: PodObject, container: string, restartCount: number): string {
  return join(dataDir, 'pods', podDirName(pod), container, `${restartCount}.log`);
}

/** containerRoot is a container's root directory: its default working directory, where its volume mounts are linked. */
export function containerRoot(podDir: string, container: string): string {
  return join(podDir, container, 'root');
}

function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * killLeftovers kills what is left of the process group of a leader that is no longer running.
 * NB: only while no other process holds its pid (or the leader lingers as a zombie): Linux does
 * not hand out a pid still in use as a group id, so the group is then still the container's.
 */
function killLeftovers(pid: number, start: string): void {
  const info = processInfo(pid);
  if (info === null || info.start === start) killGroup(pid, 'SIGKILL');
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

/** ProcessRuntime runs containers as child processes; see the module doc. */
export class ProcessRuntime implements ContainerRuntime {
  readonly name = 'process';
  readonly #dataDir: string;
  readonly #closeGraceMs: number;
  readonly #wall: () => Date;
  readonly #pods = new Map<string, ProcPod>();
  readonly #listeners = new Set<(uid: string) => void>();
  readonly #maxLogBytes: number;
  #cgroups: Cgroups | false | undefined;
  readonly #rotator: NodeJS.Timeout | null;
  readonly #watchMs: number;

  constructor(o: ProcessRuntimeOptions) {
    this.#dataDir = o.dataDir;
    this.#watchMs = o.watchMs ?? 500;
    this.#closeGraceMs = o.closeGraceMs ?? 2000;
    this.#wall = o.wallClock ?? (() => new Date());
    this.#maxLogBytes = o.maxLogBytes ?? 10 * 2 ** 20;
    this.#cgroups = o.cgroups;
    this.#rotator = this.#maxLogBytes > 0 ? setInterval(() => this.rotateLogs(), o.rotateEveryMs ?? 10_000) : null;
    this.#rotator?.unref();
  }

  #cgroupFor(id: string, c: Parameters<typeof limitsOf>[0]): CgroupHandle | null {
    const limits = limitsOf(c);
    if (limits.memoryBytes === undefined && limits.cpuMilli === undefined) return null;
    this.#cgroups ??= new Cgroups();
    return this.#cgroups === false ? null : this.#cgroups.create(id, limits);
  }

  /**
   * rotateLogs moves each running container's log past maxLogBytes to `<restart>.log.1`
   * (replacing an older one) and empties it (copy, then truncate: the process keeps writing
   * to the same file, in append mode). It returns how many logs it rotated.
   */
  rotateLogs(): number {
    let n = 0;
    for (const p of this.#pods.values()) {
      for (const proc of p.containers.values()) {
        if (proc.pid === null || proc.logPath === '') continue;
        try {
          if (statSync(proc.logPath).size <= this.#maxLogBytes) continue;
          copyFileSync(proc.logPath, `${proc.logPath}.1`);
          truncateSync(proc.logPath, 0);
          n++;
        } catch {
          // The pod's directory went away meanwhile.
        }
      }
    }
    return n;
  }

  #emit(uid: string): void {
    for (const l of this.#listeners) l(uid);
  }

  #fail(p: ProcPod, name: string, init: boolean, prev: Proc | undefined, e: ConfigError): Result<void, ConfigError> {
    const rec: ContainerRecord = { name, init, state: { kind: 'waiting', reason: e.reason, message: e.message }, restartCount: prev?.record.restartCount ?? 0, ...(prev?.record.lastTermination === undefined ? {} : { lastTermination: prev.record.lastTermination }) };
    const lastTermination = prev?.record.state.kind === 'terminated' ? { lastTermination: prev.record.state } : {};
    p.containers.set(name, { record: { ...rec, ...lastTermination }, logPath: '', env: {}, cwd: p.dir, pid: null, exited: null, killTimer: null, killAt: 0, signalled: null });
    return err(e);
  }

  #pod(uid: string, dir: string): ProcPod {
    let p = this.#pods.get(uid);
    if (p === undefined) this.#pods.set(uid, (p = { dir, containers: new Map() }));
    return p;
  }

  async startContainer(req: StartContainerRequest): Promise<Result<void, ConfigError>> {
    const uid = req.pod.metadata.uid ?? '';
    const p = this.#pod(uid, join(this.#dataDir, 'pods', podDirName(req.pod)));
    const c = req.container;
    const prev = p.containers.get(c.name);
    if (prev !== undefined && prev.pid !== null) return ok(undefined);
    const command = c.command ?? [];
    if (command.length === 0) {
      return this.#fail(p, c.name, req.init, prev, {
        reason: 'CreateContainerConfigError',
        message: `container ${c.name} has no command: the process runtime runs command and args on this machine (the image ${JSON.stringify(c.image ?? '')} is only recorded); give the container a command`,
      });
    }
    const env = await req.env();
    if (!env.ok) return this.#fail(p, c.name, req.init, prev, env.error);
    const ran = prev !== undefined && (prev.record.state.kind === 'terminated' || prev.record.lastTermination !== undefined || prev.record.restartCount > 0);
    const restartCount = prev === undefined ? req.firstRestartCount : prev.record.state.kind === 'terminated' ? prev.record.restartCount + 1 : prev.record.restartCount;
    const argv = [...command, ...(c.args ?? [])].map((a) => expandVars(a, env.value));
    const logDir = join(p.dir, c.name);
    mkdirSync(logDir, { recursive: true });
    const rootDir = containerRoot(p.dir, c.name);
    const vols = await prepareVolumes(req.pod, c, p.dir, rootDir, req.objects);
    if (!vols.ok) return this.#fail(p, c.name, req.init, prev, vols.error);
    const cwd = c.workingDir ?? rootDir;
    if (!existsSync(cwd)) return this.#fail(p, c.name, req.init, prev, { reason: 'RunContainerError', message: `The working directory ${cwd} of container ${c.name} does not exist on this machine; create it or change workingDir` });
    const logPath = join(logDir, `${restartCount}.log`);
    const fd = openSync(logPath, 'a');
    const procEnv = { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', HOME: cwd, HOSTNAME: req.pod.metadata.name ?? '', ...env.value };
    let child: ChildProcess;
    try {
      child = spawn(argv[0] ?? '', argv.slice(1), {
        cwd,
        env: procEnv,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (e) => resolve(e));
    });
    const lastTermination = prev?.record.state.kind === 'terminated' ? { lastTermination: prev.record.state } : prev?.record.lastTermination === undefined ? {} : { lastTermination: prev.record.lastTermination };
    if (spawned !== null || child.pid === undefined) {
      const why = spawned?.message ?? 'no process id';
      return this.#fail(p, c.name, req.init, ran ? prev : undefined, { reason: 'RunContainerError', message: `Could not start ${JSON.stringify(argv[0])} for container ${c.name}: ${why}; check the command and PATH` });
    }
    const pid = child.pid;
    // NB: the process joins its group right after it started; what it forks from then on is inside too.
    const cgroupId = `${uid}-${c.name}-${restartCount}`;
    const cg = this.#cgroupFor(cgroupId, c);
    cg?.add(pid);
    const startedAt = this.#wall();
    const proc: Proc = { record: { name: c.name, init: req.init, state: { kind: 'running', startedAt }, restartCount, containerID: `process://${pid}`, ...lastTermination }, logPath, env: procEnv, cwd, pid, exited: null, killTimer: null, killAt: 0, signalled: null };
    const cp: Checkpoint = { name: c.name, init: req.init, restartCount, containerID: `process://${pid}`, pid, start: processInfo(pid)?.start ?? '', startedAt, ...lastTermination, logPath, cwd, env: procEnv, ...(cg === null ? {} : { cgroup: { id: cgroupId, resources: c.resources ?? {} } }) };
    writeCheckpoint(p.dir, cp);
    proc.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        // Whatever the container left behind in its group goes with it.
        killGroup(pid, 'SIGKILL');
        this.#ended(uid, p, proc, cp, cg, { code, signal });
        resolve();
      });
    });
    p.containers.set(c.name, proc);
    return ok(undefined);
  }

  /**
   * ended records how a run ended — from its exit status when the process was our child; else
   * (an adopted process) from the signal the runtime sent it, or as ContainerStatusUnknown — in
   * memory and in the checkpoint, and tells the worker.
   */
  #ended(uid: string, p: ProcPod, proc: Proc, cp: Checkpoint, cg: CgroupHandle | null, status: { code: number | null; signal: NodeJS.Signals | null } | null): void {
    if (proc.killTimer !== null) clearTimeout(proc.killTimer);
    proc.killTimer = null;
    proc.pid = null;
    const oom = cg?.oomKilled() ?? false;
    cg?.remove();
    const signal = status === null ? proc.signalled : status.signal;
    const exitCode = status?.code ?? (signal === null ? (status === null ? 137 : 1) : signalExitCode(signal));
    const reason: Terminated['reason'] = oom ? 'OOMKilled' : status === null && signal === null ? 'ContainerStatusUnknown' : exitCode === 0 ? 'Completed' : 'Error';
    const t: Terminated = { exitCode, ...(signal === null ? {} : { signal }), reason, startedAt: cp.startedAt, finishedAt: this.#wall() };
    proc.record = { ...proc.record, state: { kind: 'terminated', ...t } };
    if (this.#pods.get(uid)?.containers.get(cp.name) !== proc) return;
    writeCheckpoint(p.dir, { ...cp, pid: null, terminated: t });
    this.#emit(uid);
  }

  /** watchAdopted polls /proc until an adopted container's process is gone, then ends its run. */
  #watchAdopted(uid: string, p: ProcPod, proc: Proc, cp: Checkpoint & { readonly pid: number }, cg: CgroupHandle | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (isRunning(cp.pid, cp.start)) return;
        clearInterval(timer);
        killLeftovers(cp.pid, cp.start);
        this.#ended(uid, p, proc, cp, cg, null);
        resolve();
      }, this.#watchMs);
    });
  }

  /**
   * recover takes back what an earlier run of the agent left in the data directory: containers
   * whose process still runs are adopted (their pid, start time and restart count as recorded);
   * those whose process ended meanwhile are reported terminated with ContainerStatusUnknown
   * (exit code 137, as the kubelet reports a container it cannot find) and anything left of
   * their process group is killed; finished runs keep their recorded end. Call it once, before
   * the agent starts reconciling; the worker then keeps, restarts or stops each pod as the
   * apiserver says (a pod no longer bound here is stopped by the worker's housekeeping).
   */
  recover(): RecoveryReport {
    let adopted = 0;
    let ended = 0;
    let killed = 0;
    let pods = 0;
    for (const found of readCheckpoints(join(this.#dataDir, 'pods'))) {
      for (const l of found.legacy) {
        if (isRunning(l.pid, l.start)) {
          killGroup(l.pid, 'SIGKILL');
          killed++;
        }
        tryUnlink(l.path);
      }
      if (found.containers.length === 0) continue;
      pods++;
      const p = this.#pod(found.uid, found.dir);
      for (const cp of found.containers) {
        if (p.containers.has(cp.name)) continue;
        const record = { name: cp.name, init: cp.init, restartCount: cp.restartCount, ...(cp.containerID === undefined ? {} : { containerID: cp.containerID }), ...(cp.lastTermination === undefined ? {} : { lastTermination: cp.lastTermination }) };
        const base = { logPath: cp.logPath, env: { ...cp.env }, cwd: cp.cwd, exited: null, killTimer: null, killAt: 0, signalled: null };
        const cg = cp.cgroup === undefined ? null : this.#cgroupFor(cp.cgroup.id, { name: cp.name, resources: cp.cgroup.resources });
        const pid = cp.pid;
        if (pid !== null && isRunning(pid, cp.start)) {
          const proc: Proc = { ...base, record: { ...record, state: { kind: 'running', startedAt: cp.startedAt } }, pid };
          proc.exited = this.#watchAdopted(found.uid, p, proc, { ...cp, pid }, cg);
          p.containers.set(cp.name, proc);
          adopted++;
          continue;
        }
        let terminated = cp.terminated;
        if (pid !== null || terminated === undefined) {
          if (pid !== null) killLeftovers(pid, cp.start);
          cg?.remove();
          terminated = { exitCode: 137, reason: 'ContainerStatusUnknown', startedAt: cp.startedAt, finishedAt: this.#wall() };
          writeCheckpoint(found.dir, { ...cp, pid: null, terminated });
          ended++;
        }
        p.containers.set(cp.name, { ...base, record: { ...record, state: { kind: 'terminated', ...terminated } }, pid: null });
      }
    }
    return { pods, adopted, ended, killed };
  }

  async stopContainer(podUid: string, name: string, graceMs: number): Promise<void> {
    const proc = this.#pods.get(podUid)?.containers.get(name);
    const pid = proc?.pid;
    if (proc === undefined || pid === null || pid === undefined) return;
    const signal = (s: NodeJS.Signals): void => {
      proc.signalled = s;
      killGroup(pid, s);
    };
    const killAt = Date.now() + Math.max(0, graceMs);
    if (proc.killTimer === null) {
      if (graceMs <= 0) signal('SIGKILL');
      else signal('SIGTERM');
    }
    if (graceMs > 0 && (proc.killTimer === null || killAt < proc.killAt)) {
      if (proc.killTimer !== null) clearTimeout(proc.killTimer);
      proc.killAt = killAt;
      proc.killTimer = setTimeout(() => signal('SIGKILL'), graceMs);
    } else if (graceMs <= 0) signal('SIGKILL');
    await proc.exited;
  }

  containers(podUid: string): readonly ContainerRecord[] {
    const p = this.#pods.get(podUid);
    return p === undefined ? [] : [...p.containers.values()].map((x) => x.record);
  }

  /** exec runs a command with a running container's environment and working directory (exec probes). */
  async exec(podUid: string, name: string, command: readonly string[], timeoutMs: number): Promise<number | null> {
    const proc = this.#pods.get(podUid)?.containers.get(name);
    if (proc === undefined || proc.pid === null || command.length === 0) return null;
    return new Promise((resolve) => {
      const child = spawn(command[0] ?? '', command.slice(1), { cwd: proc.cwd, env: proc.env, stdio: 'ignore', detached: true });
      const timer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        resolve(null);
      }, timeoutMs);
      child.once('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        resolve(code);
      });
    });
  }

  /**
   * execContext finds a running container by pod namespace and name (as `kubectl exec` names
   * it) and answers the environment and working directory a command run in it gets, or why
   * there is none.
   */
  execContext(namespace: string, podName: string, container: string): Result<ExecContext, string> {
    const prefix = `${namespace}_${podName}_`;
    const pod = [...this.#pods.values()].find((p) => basename(p.dir).startsWith(prefix) && !basename(p.dir).slice(prefix.length).includes('_'));
    if (pod === undefined) return err(`pod ${namespace}/${podName} is not running on this node`);
    const proc = pod.containers.get(container);
    if (proc === undefined || proc.record.state.kind !== 'running') return err(`container ${container} is not running in pod ${namespace}/${podName}; exec needs a running container`);
    return ok({ env: proc.env, cwd: proc.cwd });
  }

  async removePod(podUid: string): Promise<void> {
    const p = this.#pods.get(podUid);
    if (p === undefined) return;
    await Promise.all([...p.containers.keys()].map((n) => this.stopContainer(podUid, n, 0)));
    this.#pods.delete(podUid);
    rmSync(p.dir, { recursive: true, force: true });
  }

  pods(): readonly string[] {
    return [...this.#pods.keys()];
  }

  onChange(listener: (podUid: string) => void): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  /** close stops every container (SIGTERM, SIGKILL after closeGraceMs) and forgets every pod; logs stay. */
  async close(): Promise<void> {
    if (this.#rotator !== null) clearInterval(this.#rotator);
    this.#listeners.clear();
    const stops: Promise<void>[] = [];
    for (const [uid, p] of this.#pods) for (const n of p.containers.keys()) stops.push(this.stopContainer(uid, n, this.#closeGraceMs));
    await Promise.all(stops);
    this.#pods.clear();
  }
}
