/**
 * pod-status: a pod's status as the kubelet reports it, computed from the spec, what the
 * runtime says of each container, and the worker's own facts (pod IP, start time, containers
 * held in back-off) — a pure function, so the same state always gives the same status and an
 * unchanged pod costs no write.
 */
import type { Container, ContainerState, ContainerStatus, PodCondition } from 'kubernetes-types/core/v1.js';
import type { ContainerRecord, Terminated } from './runtime.js';
import type { PodObject, PodStatusBody } from './types.js';
import { rfc3339 } from './types.js';

/** Waiting is a waiting reason the worker imposes on a container (CrashLoopBackOff while it backs off). */
export interface Waiting {
  readonly reason: string;
  readonly message?: string;
}

/** StatusFacts are what the worker knows beyond the runtime's records. */
export interface StatusFacts {
  readonly podIP: string;
  readonly hostIP: string;
  readonly startTime: string;
  readonly now: Date;
  /** waiting maps container names to a waiting reason that overrides the runtime's state. */
  readonly waiting: ReadonlyMap<string, Waiting>;
  /** probed says whether a running container passes its startup and readiness probes (default: yes). */
  readonly probed?: (c: Container) => { readonly started: boolean; readonly ready: boolean };
}

/** OWNED_STATUS_FIELDS are the status fields the agent writes; others (qosClass, ...) are kept. */
export const OWNED_STATUS_FIELDS = ['phase', 'conditions', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'initContainerStatuses', 'containerStatuses'] as const;

function terminatedState(t: Terminated, containerID: string | undefined): ContainerState {
  return {
    terminated: {
      exitCode: t.exitCode,
      ...(t.signal === undefined ? {} : { signal: signalNumber(t.signal) }),
      reason: t.reason,
      startedAt: rfc3339(t.startedAt),
      finishedAt: rfc3339(t.finishedAt),
      ...(containerID === undefined ? {} : { containerID }),
    },
  };
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

function signalNumber(s: string): number {
  return SIGNALS[s] ?? 0;
}

/** ran says whether a container has run at least once (so a waiting one is restarting, not new). */
function ran(r: ContainerRecord | undefined): boolean {
  return r !== undefined && (r.state.kind !== 'waiting' || r.lastTermination !== undefined);
}

/** lastExit is the exit code of a container's latest finished run, if any. */
function lastExit(r: ContainerRecord): number | undefined {
  if (r.state.kind === 'terminated') return r.state.exitCode;
  return r.lastTermination?.exitCode;
}

function containerStatus(c: Container, r: ContainerRecord | undefined, init: boolean, pending: string, w: Waiting | undefined, probed: StatusFacts['probed']): ContainerStatus {
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (r !== undefined && r.lastTermination !== undefined) lastState = terminatedState(r.lastTermination, undefined);
  if (w !== undefined) {
    state = { waiting: { reason: w.reason, ...(w.message === undefined ? {} : { message: w.message }) } };
    // A container in back-off shows its finished run as the last state, as kubectl describe does.
    if (r?.state.kind === 'terminated') lastState = terminatedState(r.state, r.containerID);
  } else if (r === undefined) state = { waiting: { reason: pending } };
  else if (r.state.kind === 'waiting') state = { waiting: { reason: r.state.reason, ...(r.state.message === undefined ? {} : { message: r.state.message }) } };
  else if (r.state.kind === 'running') state = { running: { startedAt: rfc3339(r.state.startedAt) } };
  else state = terminatedState(r.state, r.containerID);
  const running = w === undefined && r?.state.kind === 'running';
  const p = running && !init && probed !== undefined ? probed(c) : { started: true, ready: true };
  const ready = init ? w === undefined && r?.state.kind === 'terminated' && r.state.exitCode === 0 : running && p.started && p.ready;
  return {
    name: c.name,
    state,
    lastState,
    ready,
    restartCount: r?.restartCount ?? 0,
    image: c.image ?? '',
    imageID: '',
    ...(r?.containerID === undefined ? {} : { containerID: r.containerID }),
    started: running && p.started,
  };
}

function condition(type: string, ok: boolean, previous: readonly PodCondition[] | undefined, now: Date, why?: { reason: string; message?: string }): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = previous?.find((p) => p.type === type);
  const since = prev !== undefined && prev.status === status && prev.lastTransitionTime !== undefined ? prev.lastTransitionTime : rfc3339(now);
  return { type, status, lastTransitionTime: since, ...(ok || why === undefined ? {} : { reason: why.reason, ...(why.message === undefined ? {} : { message: why.message }) }) };
}

/** initDone says whether every init container finished successfully. */
export function initDone(pod: PodObject, records: ReadonlyMap<string, ContainerRecord>): boolean {
  return (pod.spec?.initContainers ?? []).every((c) => {
    const r = records.get(c.name);
    return r?.state.kind === 'terminated' && r.state.exitCode === 0;
  });
}

/**
 * podPhase is the kubelet's phase rule: Pending until the init containers are done and every
 * container has started once; Running while any runs or will be restarted; Succeeded or
 * Failed once all finished for good under the restart policy.
 */
export function podPhase(pod: PodObject, records: ReadonlyMap<string, ContainerRecord>): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (!initDone(pod, records)) {
    const failedInit = (pod.spec?.initContainers ?? []).some((c) => {
      const r = records.get(c.name);
      return r?.state.kind === 'terminated' && r.state.exitCode !== 0;
    });
    return failedInit && policy === 'Never' ? 'Failed' : 'Pending';
  }
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  let failed = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = records.get(c.name);
    if (r?.state.kind === 'running') running++;
    else if (r === undefined || !ran(r)) waiting++;
    else {
      stopped++;
      if (lastExit(r) === 0) succeeded++;
      else failed++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === 0) return 'Pending';
  switch (policy) {
    case 'Always':
      return 'Running';
    case 'OnFailure':
      return stopped === succeeded ? 'Succeeded' : 'Running';
    default:
      return failed > 0 ? 'Failed' : 'Succeeded';
  }
}

/**
 * podStatus computes the fields of the pod's status the agent owns (OWNED_STATUS_FIELDS), keeping
 * the transition times of conditions that did not change.
 */
export function podStatus(pod: PodObject, records: readonly ContainerRecord[], f: StatusFacts): PodStatusBody {
  const byName = new Map(records.map((r) => [r.name, r]));
  const prev = pod.status?.conditions;
  const phase = podPhase(pod, byName);
  const inited = initDone(pod, byName);
  const inits = pod.spec?.initContainers ?? [];
  const initStatuses = inits.map((c) => containerStatus(c, byName.get(c.name), true, 'PodInitializing', f.waiting.get(c.name), undefined));
  const statuses = (pod.spec?.containers ?? []).map((c) => containerStatus(c, byName.get(c.name), false, inited ? 'ContainerCreating' : 'PodInitializing', f.waiting.get(c.name), f.probed));
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const incomplete = initStatuses.filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const notReady = terminal ? { reason: 'PodCompleted' } : { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const conditions = [
    condition('Initialized', inited || phase === 'Succeeded', prev, f.now, { reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]` }),
    condition('Ready', unready.length === 0 && !terminal, prev, f.now, notReady),
    condition('ContainersReady', unready.length === 0 && !terminal, prev, f.now, notReady),
    condition('PodScheduled', true, prev, f.now),
  ];
  return {
    phase,
    conditions,
    hostIP: f.hostIP,
    hostIPs: [{ ip: f.hostIP }],
    podIP: f.podIP,
    podIPs: [{ ip: f.podIP }],
    startTime: f.startTime,
    ...(inits.length === 0 ? {} : { initContainerStatuses: initStatuses }),
    containerStatuses: statuses,
  };
}

/** sameJson compares two JSON values, ignoring the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x, b[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** statusChanged says whether the owned fields of `next` differ from the pod's stored status. */
export function statusChanged(pod: PodObject, next: PodStatusBody): boolean {
  const cur = (pod.status ?? {}) as Record<string, unknown>;
  const nxt = next as Record<string, unknown>;
  return OWNED_STATUS_FIELDS.some((k) => !sameJson(cur[k], nxt[k]));
}
