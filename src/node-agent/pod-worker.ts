/**
 * pod-worker: the node agent's reconcile loop over the pods bound to its node(s), as the
 * kubelet's pod workers. `reconcile(key)` is level-triggered: it reads the pod from the
 * informer's cache and what the runtime runs, starts what should run (init containers in order,
 * then the rest; restarts under the restart policy with CrashLoopBackOff), stops what should not,
 * and writes the pod's status when it changed. A pod marked for deletion is stopped within its
 * grace period and then deleted for good (gracePeriodSeconds 0), which completes the delete.
 */
import type { Container } from 'kubernetes-types/core/v1.js';
import type { Clock, KubeClient, Reconciled } from '../control-plane/client/index.js';
import { splitKey, systemClock } from '../control-plane/client/index.js';
import type { Disposable } from '../control-plane/apiserver/registry-api.js';
import { EnvSource, resolveEnv } from './env.js';
import type { EventSink } from './events.js';
import type { IpAllocator } from './ip-allocator.js';
import type { RunningContainer, RunProbe } from './probes.js';
import { ProbeManager } from './probes.js';
import type { Waiting } from './pod-status.js';
import { podPhase, podStatus, statusChanged } from './pod-status.js';
import type { ContainerRecord, ContainerRuntime } from './runtime.js';
import type { PodObject } from './types.js';
import { nodeOf, PODS, rfc3339 } from './types.js';

/** PodCache is the read-only view of pods a worker reconciles from (an Informer fits). */
export interface PodCache {
  get(key: string): PodObject | undefined;
}

/** BackoffSettings tune CrashLoopBackOff: the first delay, doubling up to the cap (10 s and 5 min by default). */
export interface BackoffSettings {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

/** PodWorkerOptions configure a worker. */
export interface PodWorkerOptions {
  readonly client: Pick<KubeClient, 'get' | 'patch' | 'delete'>;
  readonly pods: PodCache;
  readonly runtime: ContainerRuntime;
  /** isOurs says whether a node name is one this worker runs pods for. */
  readonly isOurs: (nodeName: string) => boolean;
  readonly ips: IpAllocator;
  /** hostIP is the nodes' address (default 127.0.0.1). */
  readonly hostIP?: string;
  /** enqueue asks for a reconcile of a key (the work queue's add). */
  readonly enqueue: (key: string) => void;
  readonly clock?: Clock;
  readonly wallClock?: () => Date;
  readonly backoff?: BackoffSettings;
  /** prober runs startup, liveness and readiness probes; without it probes are not run (and pass). */
  readonly prober?: RunProbe;
  /** events records Started, Killing, BackOff, Unhealthy and Failed events (none without it). */
  readonly events?: EventSink;
}

interface Tracked {
  readonly uid: string;
  readonly podIP: string;
  /** ownsIP: the IP came from the allocator (not the host's, for a hostNetwork pod). */
  readonly ownsIP: boolean;
  readonly startTime: string;
  stopping: Promise<void> | null;
  stopGraceMs: number;
}

interface Backoff {
  delayMs: number;
  nextAt: number;
  /** announced: the BackOff event of this wait was recorded. */
  announced: boolean;
}

function restarts(policy: string, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m0s` : ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${Math.round(ms / 1000)}s`;
}

const CONFIG_ERRORS = new Set(['CreateContainerConfigError', 'RunContainerError']);

/** PodWorker reconciles pods bound to its nodes; see the module doc. */
export class PodWorker {
  readonly #o: PodWorkerOptions;
  readonly #clock: Clock;
  readonly #wall: () => Date;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #tracked = new Map<string, Tracked>();
  readonly #keyOfUid = new Map<string, string>();
  readonly #backoff = new Map<string, Backoff>();
  readonly #sub: Disposable;
  readonly #probes: ProbeManager | null;

  constructor(o: PodWorkerOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#wall = o.wallClock ?? (() => new Date());
    this.#initialMs = o.backoff?.initialMs ?? 10_000;
    this.#maxMs = o.backoff?.maxMs ?? 300_000;
    const poke = (uid: string): void => {
      const key = this.#keyOfUid.get(uid);
      if (key !== undefined) o.enqueue(key);
    };
    this.#sub = o.runtime.onChange(poke);
    this.#probes =
      o.prober === undefined
        ? null
        : new ProbeManager({
            clock: this.#clock,
            run: o.prober,
            onChange: poke,
            onLivenessFailure: (uid, name) => {
              // The kubelet kills a container that fails its liveness probe; the restart policy decides the rest.
              const key = this.#keyOfUid.get(uid);
              const pod = key === undefined ? undefined : o.pods.get(key);
              if (pod !== undefined) {
                o.events?.(pod, name, 'Warning', 'Unhealthy', 'Liveness probe failed');
                o.events?.(pod, name, 'Normal', 'Killing', `Container ${name} failed liveness probe, will be restarted`);
              }
              void o.runtime.stopContainer(uid, name, 1000 * (pod?.spec?.terminationGracePeriodSeconds ?? 30));
            },
          });
  }

  /** running counts the pods the worker tracks. */
  get tracked(): number {
    return this.#tracked.size;
  }

  /** podIPOf is the IP the worker gave the pod with this key (undefined if none). */
  podIPOf(key: string): string | undefined {
    return this.#tracked.get(key)?.podIP;
  }

  /** dispose stops listening to the runtime and ends the probes (the runtime itself is the caller's to close). */
  dispose(): void {
    this.#sub.dispose();
    this.#probes?.close();
  }

  /**
   * housekeeping stops and forgets the runtime's pods that are neither tracked by the worker nor
   * among `ours` (the pods bound to its nodes, by uid): what a previous run of the agent left of
   * pods deleted, or bound elsewhere, while it was down. It returns their uids. The agent calls it
   * once its pod cache has synced, and then now and again.
   */
  async housekeeping(ours: readonly PodObject[]): Promise<string[]> {
    const keep = new Set(ours.filter((p) => this.#o.isOurs(nodeOf(p))).map((p) => p.metadata.uid ?? ''));
    const gone = this.#o.runtime.pods().filter((uid) => !this.#keyOfUid.has(uid) && !keep.has(uid));
    await Promise.all(gone.map((uid) => this.#o.runtime.removePod(uid)));
    return gone;
  }

  /** reconcile converges one pod ('namespace/name'); see the module doc. */
  async reconcile(key: string): Promise<Reconciled> {
    const pod = this.#o.pods.get(key);
    let t = this.#tracked.get(key);
    if (pod === undefined || !this.#o.isOurs(nodeOf(pod))) {
      // Gone (deleted with no grace, or bound elsewhere): nothing of it may keep running.
      if (t !== undefined) await this.#forget(key, t);
      return 'done';
    }
    const uid = pod.metadata.uid ?? '';
    if (t !== undefined && t.uid !== uid) {
      // A new pod of the same name: the old one's containers go first.
      await this.#forget(key, t);
      t = undefined;
    }
    if (pod.metadata.deletionTimestamp !== undefined) return this.#terminate(key, pod, t);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // A finished pod runs nothing any more: its probes end; its records stay for logs until it is deleted.
      this.#probes?.remove(uid);
      return 'done';
    }
    if (t === undefined) {
      const hostNetwork = pod.spec?.hostNetwork === true;
      const ip = hostNetwork ? this.#hostIP() : this.#o.ips.allocate(pod.status?.podIP);
      if (ip === null) return { requeueAfter: 10_000 };
      t = { uid, podIP: ip, ownsIP: !hostNetwork, startTime: pod.status?.startTime ?? rfc3339(this.#wall()), stopping: null, stopGraceMs: 0 };
      this.#tracked.set(key, t);
      this.#keyOfUid.set(uid, key);
    }
    const { waiting, requeueAfter } = await this.#sync(pod, t);
    const records = this.#o.runtime.containers(uid);
    const probes = this.#probes;
    if (probes !== null) {
      const specs = new Map((pod.spec?.containers ?? []).map((c) => [c.name, c]));
      const reported = new Map((pod.status?.containerStatuses ?? []).map((x) => [x.name, x]));
      const running = records.flatMap((r): RunningContainer[] => {
        const c = specs.get(r.name);
        if (r.init || c === undefined || r.state.kind !== 'running') return [];
        const containerID = r.containerID ?? `${r.name}/${r.restartCount}`;
        // The same run, reported by an earlier run of the agent that started it: its probe results stand.
        const before = reported.get(r.name);
        const previously = before !== undefined && before.containerID === containerID ? { previously: { started: before.started === true, ready: before.ready } } : {};
        return [{ container: c, containerID, ...previously }];
      });
      probes.sync(uid, running, t.podIP);
    }
    const probed = probes === null ? undefined : (c: Container) => ({ started: probes.started(uid, c), ready: probes.ready(uid, c) });
    const next = podStatus(pod, records, { podIP: t.podIP, hostIP: this.#hostIP(), startTime: t.startTime, now: this.#wall(), waiting, ...(probed === undefined ? {} : { probed }) });
    if (statusChanged(pod, next)) {
      // NB: a merge patch of the fields the agent owns, not a conditional update: the cache may
      // trail the agent's own last write, and a conflict would only cost a retry to write the
      // same thing. The agent is the only writer of these fields.
      const { namespace, name } = splitKey(key);
      const r = await this.#o.client.patch<PodObject>(PODS, { ...(namespace === undefined ? {} : { namespace }), name }, { type: 'merge', patch: { status: next } }, { subresource: 'status' });
      if (!r.ok) return r.error.code === 404 ? 'done' : 'retry';
    }
    return requeueAfter === undefined ? 'done' : { requeueAfter };
  }

  #hostIP(): string {
    return this.#o.hostIP ?? '127.0.0.1';
  }

  async #sync(pod: PodObject, t: Tracked): Promise<{ waiting: Map<string, Waiting>; requeueAfter?: number }> {
    const records = new Map(this.#o.runtime.containers(t.uid).map((r) => [r.name, r]));
    const waiting = new Map<string, Waiting>();
    let requeue: number | undefined;
    const wait = (ms: number): void => {
      requeue = requeue === undefined ? ms : Math.min(requeue, ms);
    };
    const policy = pod.spec?.restartPolicy ?? 'Always';
    if (podPhase(pod, records) === 'Failed') return { waiting };
    for (const c of pod.spec?.initContainers ?? []) {
      const r = records.get(c.name);
      if (r?.state.kind === 'terminated' && r.state.exitCode === 0) continue;
      // The first unfinished init container is the only one that may run now.
      if (r === undefined) await this.#firstStart(pod, t, c, true, wait);
      else await this.#restartIfDue(pod, t, c, r, true, policy === 'Never' ? 'Never' : 'OnFailure', waiting, wait);
      return { waiting, ...(requeue === undefined ? {} : { requeueAfter: requeue }) };
    }
    for (const c of pod.spec?.containers ?? []) {
      const r = records.get(c.name);
      if (r === undefined) await this.#firstStart(pod, t, c, false, wait);
      else await this.#restartIfDue(pod, t, c, r, false, policy, waiting, wait);
    }
    return { waiting, ...(requeue === undefined ? {} : { requeueAfter: requeue }) };
  }

  async #restartIfDue(pod: PodObject, t: Tracked, c: Container, r: ContainerRecord, init: boolean, policy: string, waiting: Map<string, Waiting>, wait: (ms: number) => void): Promise<void> {
    const failedSetup = r.state.kind === 'waiting' && CONFIG_ERRORS.has(r.state.reason);
    if (!failedSetup && (r.state.kind !== 'terminated' || !restarts(policy, r.state.exitCode))) return;
    const k = `${t.uid}/${c.name}`;
    const now = this.#clock.now();
    const b = this.#backoff.get(k);
    if (b !== undefined && now - b.nextAt > 2 * this.#maxMs) this.#backoff.delete(k);
    const cur = this.#backoff.get(k);
    if (cur === undefined || now >= cur.nextAt) {
      const delayMs = cur === undefined ? this.#initialMs : Math.min(this.#maxMs, cur.delayMs * 2);
      this.#backoff.set(k, { delayMs, nextAt: now + delayMs, announced: false });
      // A start that failed (bad configuration) changes nothing the runtime reports later: look again after the back-off.
      if (!(await this.#start(pod, t, c, init))) wait(delayMs);
      return;
    }
    if (!failedSetup && !cur.announced) {
      cur.announced = true;
      this.#o.events?.(pod, c.name, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${t.uid})`);
    }
    if (!failedSetup) waiting.set(c.name, { reason: 'CrashLoopBackOff', message: `back-off ${seconds(cur.delayMs)} restarting failed container=${c.name} pod=${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${t.uid})` });
    wait(cur.nextAt - now);
  }

  async #firstStart(pod: PodObject, t: Tracked, c: Container, init: boolean, wait: (ms: number) => void): Promise<void> {
    if (await this.#start(pod, t, c, init)) return;
    this.#backoff.set(`${t.uid}/${c.name}`, { delayMs: this.#initialMs, nextAt: this.#clock.now() + this.#initialMs, announced: false });
    wait(this.#initialMs);
  }

  async #start(pod: PodObject, t: Tracked, c: Container, init: boolean): Promise<boolean> {
    const hostIP = this.#hostIP();
    const objects = new EnvSource(this.#o.client, pod.metadata.namespace ?? 'default');
    // A container that ran under an earlier run of the agent (its processes were cleaned up) is restarted: count it.
    const reported = (init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.find((x) => x.name === c.name);
    const ranBefore = reported !== undefined && (reported.state?.running !== undefined || reported.state?.terminated !== undefined || reported.restartCount > 0);
    const firstRestartCount = ranBefore ? reported.restartCount + 1 : 0;
    const r = await this.#o.runtime.startContainer({ pod, container: c, init, podIP: t.podIP, hostIP, env: () => resolveEnv(objects, pod, c, { podIP: t.podIP, hostIP }), objects, firstRestartCount });
    if (r.ok) this.#o.events?.(pod, c.name, 'Normal', 'Started', `Started container ${c.name}`);
    else this.#o.events?.(pod, c.name, 'Warning', 'Failed', `Error: ${r.error.message}`);
    return r.ok;
  }

  /**
   * terminate stops a pod marked for deletion — every container gets SIGTERM and, after the
   * pod's deletionGracePeriodSeconds, SIGKILL (a shorter grace asked later wins) — and once
   * nothing runs, deletes the pod object for good.
   */
  async #terminate(key: string, pod: PodObject, t: Tracked | undefined): Promise<Reconciled> {
    const uid = pod.metadata.uid ?? '';
    const graceMs = 1000 * (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    const live = this.#o.runtime.containers(uid).filter((r) => r.state.kind !== 'terminated' && !(r.state.kind === 'waiting' && CONFIG_ERRORS.has(r.state.reason)));
    if (live.length > 0) {
      const tr = t ?? this.#adopt(key, pod);
      if (tr.stopping === null || graceMs < tr.stopGraceMs) {
        tr.stopGraceMs = graceMs;
        const first = tr.stopping === null;
        const specs = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c]));
        const rt = this.#o.runtime;
        const stopOne = async (name: string): Promise<void> => {
          // A preStop exec hook runs first, inside the grace period (only on the first stop).
          const hook = specs.get(name)?.lifecycle?.preStop?.exec?.command ?? [];
          const begun = Date.now();
          if (first) this.#o.events?.(pod, name, 'Normal', 'Killing', `Stopping container ${name}`);
          if (first && hook.length > 0 && rt.exec !== undefined) await rt.exec(uid, name, hook, graceMs);
          await rt.stopContainer(uid, name, Math.max(0, graceMs - (Date.now() - begun)));
        };
        const stopping = Promise.all(live.map((r) => stopOne(r.name))).then(() => undefined);
        tr.stopping = stopping;
        void stopping.then(() => {
          if (tr.stopping === stopping) this.#o.enqueue(key);
        });
      }
      return 'done';
    }
    if (t !== undefined) await this.#forget(key, t);
    else await this.#o.runtime.removePod(uid);
    const { namespace, name } = splitKey(key);
    const r = await this.#o.client.delete(PODS, { ...(namespace === undefined ? {} : { namespace }), name }, { gracePeriodSeconds: 0, preconditions: { uid } });
    if (r.ok || r.error.code === 404 || r.error.code === 409) return 'done';
    return 'retry';
  }

  #adopt(key: string, pod: PodObject): Tracked {
    const uid = pod.metadata.uid ?? '';
    // Its processes may still listen on its IP (an agent restarted under a pod being deleted): hold the IP until they stop.
    const podIP = pod.status?.podIP ?? '';
    const held = podIP !== '' && pod.spec?.hostNetwork !== true && this.#o.ips.reserve(podIP);
    const t: Tracked = { uid, podIP, ownsIP: held, startTime: pod.status?.startTime ?? rfc3339(this.#wall()), stopping: null, stopGraceMs: 0 };
    this.#tracked.set(key, t);
    this.#keyOfUid.set(uid, key);
    return t;
  }

  async #forget(key: string, t: Tracked): Promise<void> {
    this.#tracked.delete(key);
    this.#keyOfUid.delete(t.uid);
    for (const k of [...this.#backoff.keys()]) if (k.startsWith(`${t.uid}/`)) this.#backoff.delete(k);
    this.#probes?.remove(t.uid);
    await this.#o.runtime.removePod(t.uid);
    if (t.ownsIP) this.#o.ips.release(t.podIP);
  }
}
