/**
 * pod-columns: a pod's READY, STATUS and RESTARTS cells as kubectl shows them. STATUS is not
 * the phase alone: a failing init container shows as Init:<reason> or Init:<done>/<all>, a
 * waiting or terminated container's reason (ContainerCreating, CrashLoopBackOff, Completed,
 * Error) wins over the phase, and a pod being deleted shows Terminating.
 */
import type { KubeObject } from '../../api/types.js';
import { ageOf } from './age.js';
import { arr, field, num, str } from './fields.js';

interface ContainerState {
  readonly waitingReason: string | undefined;
  readonly terminated: { readonly reason: string; readonly exitCode: number; readonly signal: number } | undefined;
  readonly running: boolean;
  readonly ready: boolean;
  readonly restarts: number;
  readonly lastTerminatedAt: string;
}

function containerState(s: unknown): ContainerState {
  const waiting = field(s, 'state', 'waiting');
  const terminated = field(s, 'state', 'terminated');
  return {
    waitingReason: waiting !== undefined && waiting !== null ? str(waiting, 'reason') : undefined,
    terminated: terminated !== undefined && terminated !== null
      ? { reason: str(terminated, 'reason'), exitCode: num(terminated, 'exitCode'), signal: num(terminated, 'signal') }
      : undefined,
    running: field(s, 'state', 'running') !== undefined && field(s, 'state', 'running') !== null,
    ready: field(s, 'ready') === true,
    restarts: num(s, 'restartCount'),
    lastTerminatedAt: str(s, 'lastState', 'terminated', 'finishedAt'),
  };
}

function exitReason(t: NonNullable<ContainerState['terminated']>): string {
  if (t.reason !== '') return t.reason;
  return t.signal !== 0 ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
}

/** PodSummary is what a pod's READY, STATUS and RESTARTS cells show. */
export interface PodSummary {
  readonly status: string;
  readonly ready: number;
  readonly restarts: number;
  readonly lastRestart: string;
}

function later(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function hasCondition(pod: KubeObject, type: string): boolean {
  return arr(pod, 'status', 'conditions').some((c) => str(c, 'type') === type && str(c, 'status') === 'True');
}

/** summarizePod works out the pod's displayed status, ready containers and restarts. */
export function summarizePod(pod: KubeObject): PodSummary {
  const phase = str(pod, 'status', 'phase');
  let reason = str(pod, 'status', 'reason') || phase || 'Pending';
  if (arr(pod, 'status', 'conditions').some((c) => str(c, 'type') === 'PodScheduled' && str(c, 'reason') === 'SchedulingGated')) {
    reason = 'SchedulingGated';
  }
  let restarts = 0;
  let lastRestart = '';
  let ready = 0;
  let initializing = false;
  const initStatuses = arr(pod, 'status', 'initContainerStatuses').map(containerState);
  const initCount = arr(pod, 'spec', 'initContainers').length;
  for (const [i, c] of initStatuses.entries()) {
    restarts += c.restarts;
    lastRestart = later(lastRestart, c.lastTerminatedAt);
    if (c.terminated !== undefined && c.terminated.exitCode === 0) continue;
    initializing = true;
    if (c.terminated !== undefined) reason = `Init:${exitReason(c.terminated)}`;
    else if (c.waitingReason !== undefined && c.waitingReason !== '' && c.waitingReason !== 'PodInitializing') reason = `Init:${c.waitingReason}`;
    else reason = `Init:${i}/${initCount}`;
    break;
  }
  if (!initializing || hasCondition(pod, 'Initialized')) {
    restarts = 0;
    lastRestart = '';
    let hasRunning = false;
    const statuses = arr(pod, 'status', 'containerStatuses').map(containerState);
    // NB: the last container's state wins, as kubectl walks them from the end.
    for (const c of [...statuses].reverse()) {
      restarts += c.restarts;
      lastRestart = later(lastRestart, c.lastTerminatedAt);
      if (c.waitingReason !== undefined && c.waitingReason !== '') reason = c.waitingReason;
      else if (c.terminated !== undefined) reason = exitReason(c.terminated);
      else if (c.ready && c.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = hasCondition(pod, 'Ready') ? 'Running' : 'NotReady';
  }
  const deleting = pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  if (deleting && str(pod, 'status', 'reason') === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  return { status: reason, ready, restarts, lastRestart };
}

/** podReady is the READY cell: ready containers over the spec's containers. */
export function podReady(pod: KubeObject, s: PodSummary): string {
  return `${s.ready}/${arr(pod, 'spec', 'containers').length}`;
}

/** podRestarts is the RESTARTS cell: the count, with how long ago the last restart was. */
export function podRestarts(s: PodSummary, now: number): string {
  return s.restarts !== 0 && s.lastRestart !== '' ? `${s.restarts} (${ageOf(s.lastRestart, now)} ago)` : String(s.restarts);
}
