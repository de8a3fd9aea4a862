/**
 * checkpoint: what the process runtime writes beside each container's logs so that an agent that
 * died (kill -9, a crash) can take its containers back when it starts again, as the kubelet
 * finds its containers in the container runtime after a restart. One JSON file per container,
 * `<podDir>/<container>.state.json`, rewritten when the container starts and when it exits:
 * its process (pid and start time, so a recycled pid is not mistaken for it), its restart count,
 * its current or last run, and what exec probes and log rotation need (environment, working
 * directory, log file, resources). The file is private to the agent's user (mode 0600), as the
 * pod's secret volumes are.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceRequirements } from 'kubernetes-types/core/v1.js';
import type { Terminated } from './runtime.js';

/** CHECKPOINT_SUFFIX ends a container checkpoint's file name. */
export const CHECKPOINT_SUFFIX = '.state.json';

/** Checkpoint is one container as the process runtime last recorded it. */
export interface Checkpoint {
  readonly name: string;
  readonly init: boolean;
  readonly restartCount: number;
  readonly containerID?: string;
  /** pid is the process group leader of the current run, null once it exited. */
  readonly pid: number | null;
  /** start is the process's start time (field 22 of /proc/<pid>/stat). */
  readonly start: string;
  readonly startedAt: Date;
  /** terminated is how the current run ended (absent while it runs). */
  readonly terminated?: Terminated;
  readonly lastTermination?: Terminated;
  readonly logPath: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** cgroup names the run's control group and the resources it was made from (absent: none). */
  readonly cgroup?: { readonly id: string; readonly resources: ResourceRequirements };
}

/** checkpointPath is where a container's checkpoint lives in its pod's directory. */
export function checkpointPath(podDir: string, container: string): string {
  return join(podDir, `${container}${CHECKPOINT_SUFFIX}`);
}

function encodeTerminated(t: Terminated): Record<string, unknown> {
  return { ...t, startedAt: t.startedAt.toISOString(), finishedAt: t.finishedAt.toISOString() };
}

/** writeCheckpoint records a container (mode 0600: it holds the container's environment). */
export function writeCheckpoint(podDir: string, c: Checkpoint): void {
  const body = {
    ...c,
    startedAt: c.startedAt.toISOString(),
    ...(c.terminated === undefined ? {} : { terminated: encodeTerminated(c.terminated) }),
    ...(c.lastTermination === undefined ? {} : { lastTermination: encodeTerminated(c.lastTermination) }),
  };
  try {
    writeFileSync(checkpointPath(podDir, c.name), `${JSON.stringify(body)}\n`, { mode: 0o600 });
  } catch {
    // The pod's directory was removed meanwhile: the pod is gone, and its record with it.
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function date(v: unknown): Date | null {
  if (typeof v !== 'string') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

const REASONS = new Set<string>(['Completed', 'Error', 'OOMKilled', 'ContainerStatusUnknown']);

function decodeTerminated(v: unknown): Terminated | null {
  if (!isRecord(v)) return null;
  const startedAt = date(v['startedAt']);
  const finishedAt = date(v['finishedAt']);
  const reason = v['reason'];
  if (typeof v['exitCode'] !== 'number' || startedAt === null || finishedAt === null || typeof reason !== 'string' || !REASONS.has(reason)) return null;
  return { exitCode: v['exitCode'], ...(typeof v['signal'] === 'string' ? { signal: v['signal'] } : {}), reason: reason as Terminated['reason'], startedAt, finishedAt };
}

function stringMap(v: unknown): Record<string, string> | null {
  if (!isRecord(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return null;
    out[k] = x;
  }
  return out;
}

/** decodeCheckpoint reads a checkpoint's JSON text; null when it is not one (a torn or foreign file). */
export function decodeCheckpoint(text: string): Checkpoint | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(v)) return null;
  const { name, init, restartCount, pid, start, logPath, cwd } = v;
  const startedAt = date(v['startedAt']);
  const env = stringMap(v['env']);
  if (typeof name !== 'string' || typeof init !== 'boolean' || typeof restartCount !== 'number' || !Number.isSafeInteger(restartCount) || restartCount < 0) return null;
  if (!(pid === null || (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 1)) || typeof start !== 'string' || typeof logPath !== 'string' || typeof cwd !== 'string' || startedAt === null || env === null) return null;
  const terminated = v['terminated'] === undefined ? undefined : decodeTerminated(v['terminated']);
  const lastTermination = v['lastTermination'] === undefined ? undefined : decodeTerminated(v['lastTermination']);
  if (terminated === null || lastTermination === null || (pid === null && terminated === undefined)) return null;
  const cg = v['cgroup'];
  const cgroup = isRecord(cg) && typeof cg['id'] === 'string' && isRecord(cg['resources']) ? { id: cg['id'], resources: cg['resources'] as ResourceRequirements } : undefined;
  return {
    name,
    init,
    restartCount,
    ...(typeof v['containerID'] === 'string' ? { containerID: v['containerID'] } : {}),
    pid,
    start,
    startedAt,
    ...(terminated === undefined ? {} : { terminated }),
    ...(lastTermination === undefined ? {} : { lastTermination }),
    logPath,
    cwd,
    env,
    ...(cgroup === undefined ? {} : { cgroup }),
  };
}

/** ProcessInfo is what /proc says of a process: its state letter and start time. */
export interface ProcessInfo {
  readonly state: string;
  readonly start: string;
}

/** processInfo reads fields 3 (state) and 22 (start time in clock ticks) of /proc/<pid>/stat, or null. */
export function processInfo(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const start = fields[19];
    return state === undefined || start === undefined ? null : { state, start };
  } catch {
    return null;
  }
}

/** isRunning says whether `pid` is still the process that started at `start` (and not a zombie). */
export function isRunning(pid: number, start: string): boolean {
  const info = processInfo(pid);
  return info !== null && info.start === start && info.state !== 'Z' && info.state !== 'X';
}

/** PodCheckpoints are the checkpoints found in one pod's directory. */
export interface PodCheckpoints {
  readonly uid: string;
  readonly dir: string;
  readonly containers: readonly Checkpoint[];
  /** legacy are pid files of the format before checkpoints (`<pid> <start>`), for cleanup. */
  readonly legacy: readonly { readonly path: string; readonly pid: number; readonly start: string }[];
}

/** readCheckpoints lists every pod directory under `<dataDir>/pods` with the checkpoints in it. */
export function readCheckpoints(podsRoot: string): PodCheckpoints[] {
  let entries: string[];
  try {
    entries = readdirSync(podsRoot);
  } catch {
    return [];
  }
  const out: PodCheckpoints[] = [];
  for (const entry of entries) {
    const dir = join(podsRoot, entry);
    // `<namespace>_<name>_<uid>`: neither a namespace nor a pod name may hold '_'.
    const uid = entry.slice(entry.lastIndexOf('_') + 1);
    if (!entry.includes('_') || uid === '' || !statSync(dir).isDirectory()) continue;
    const containers: Checkpoint[] = [];
    const legacy: { path: string; pid: number; start: string }[] = [];
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (f.endsWith(CHECKPOINT_SUFFIX)) {
        const c = decodeCheckpoint(readFileSync(path, 'utf8'));
        if (c !== null) containers.push(c);
      } else if (f.endsWith('.pid')) {
        const [pidText = '', start = ''] = readFileSync(path, 'utf8').trim().split(' ');
        const pid = Number(pidText);
        if (Number.isSafeInteger(pid) && pid > 1) legacy.push({ path, pid, start });
      }
    }
    out.push({ uid, dir, containers, legacy });
  }
  return out;
}
