/**
 * probes: the kubelet's startup, liveness and readiness probes. Each running container with
 * probes gets a loop per probe on the agent's Clock (initialDelaySeconds, then every
 * periodSeconds, each try bounded by timeoutSeconds); successThreshold and failureThreshold
 * turn tries into results. Readiness decides the container's ready flag (hence the pod's Ready
 * condition and its Endpoints); liveness failing failureThreshold times asks for a restart;
 * until a startup probe succeeds, the other two do not run. The probe itself (exec, httpGet,
 * tcpSocket) is injected, so the timing logic runs on a virtual clock in tests.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import type { Clock, TimerHandle } from '../control-plane/client/index.js';

/** ProbeKind names the three probes. */
export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** ProbeTarget is what a probe runs against. */
export interface ProbeTarget {
  readonly podUid: string;
  readonly container: Container;
  readonly podIP: string;
}

/** RunProbe runs one try of a probe: true on success. It must give up after timeoutMs. */
export type RunProbe = (probe: Probe, target: ProbeTarget, timeoutMs: number) => Promise<boolean>;

/** ProbeManagerOptions configure the probes of a worker. */
export interface ProbeManagerOptions {
  readonly clock: Clock;
  readonly run: RunProbe;
  /** onChange: a container's ready or started result changed (reconcile its pod). */
  readonly onChange: (podUid: string) => void;
  /** onLivenessFailure: the container failed its liveness (or startup) probe and must be restarted. */
  readonly onLivenessFailure: (podUid: string, container: string) => void;
}

/** RunningContainer is a running container as `ProbeManager.sync` takes it. */
export interface RunningContainer {
  readonly container: Container;
  readonly containerID: string;
  /** previously: the started and ready results reported for this run before the agent restarted. */
  readonly previously?: { readonly started: boolean; readonly ready: boolean };
}

interface Loop {
  timer: TimerHandle | null;
  successes: number;
  failures: number;
}

interface Watched {
  readonly containerID: string;
  readonly loops: Map<ProbeKind, Loop>;
  started: boolean;
  ready: boolean;
}

function probeOf(c: Container, kind: ProbeKind): Probe | undefined {
  return kind === 'startup' ? c.startupProbe : kind === 'liveness' ? c.livenessProbe : c.readinessProbe;
}

/**
 * ProbeManager keeps the probe loops of every running container. `sync` is called on each
 * reconcile with the pod's running containers; `ready` and `started` give the results.
 */
export class ProbeManager {
  readonly #o: ProbeManagerOptions;
  readonly #watched = new Map<string, Watched>();
  #closed = false;

  constructor(o: ProbeManagerOptions) {
    this.#o = o;
  }

  /** ready says whether a container passes its readiness probe (true when it has none). */
  ready(podUid: string, c: Container): boolean {
    if (c.readinessProbe === undefined && c.startupProbe === undefined) return true;
    const w = this.#watched.get(`${podUid}/${c.name}`);
    return w !== undefined && w.started && (c.readinessProbe === undefined || w.ready);
  }

  /** started says whether a container passed its startup probe (true when it has none). */
  started(podUid: string, c: Container): boolean {
    if (c.startupProbe === undefined) return true;
    return this.#watched.get(`${podUid}/${c.name}`)?.started ?? false;
  }

  /**
   * sync starts loops for running containers (a new containerID restarts them from scratch) and
   * ends those of containers that stopped running. A container the manager does not watch yet
   * may come with `previously`, the results its pod's status last reported for the same run (an
   * agent that restarted and adopted it): they are kept until its probes say otherwise, so an
   * agent's restart does not take a ready pod out of its Services.
   */
  sync(podUid: string, running: readonly RunningContainer[], podIP: string): void {
    if (this.#closed) return;
    const live = new Set<string>();
    for (const { container: c, containerID, previously } of running) {
      const k = `${podUid}/${c.name}`;
      live.add(k);
      const cur = this.#watched.get(k);
      if (cur !== undefined && cur.containerID === containerID) continue;
      if (cur !== undefined) this.#end(k, cur);
      if (c.startupProbe === undefined && c.livenessProbe === undefined && c.readinessProbe === undefined) continue;
      const w: Watched = { containerID, loops: new Map(), started: c.startupProbe === undefined || previously?.started === true, ready: previously?.ready === true };
      this.#watched.set(k, w);
      const target: ProbeTarget = { podUid, container: c, podIP };
      if (!w.started) this.#loop(k, w, 'startup', target);
      else this.#startMain(k, w, target);
    }
    for (const [k, w] of [...this.#watched]) if (k.startsWith(`${podUid}/`) && !live.has(k)) this.#end(k, w);
  }

  /** remove ends every loop of a pod. */
  remove(podUid: string): void {
    for (const [k, w] of [...this.#watched]) if (k.startsWith(`${podUid}/`)) this.#end(k, w);
  }

  /** close ends every loop. */
  close(): void {
    this.#closed = true;
    for (const [k, w] of [...this.#watched]) this.#end(k, w);
  }

  #end(k: string, w: Watched): void {
    for (const l of w.loops.values()) if (l.timer !== null) this.#o.clock.clearTimeout(l.timer);
    w.loops.clear();
    this.#watched.delete(k);
  }

  #startMain(k: string, w: Watched, t: ProbeTarget): void {
    if (t.container.livenessProbe !== undefined) this.#loop(k, w, 'liveness', t);
    if (t.container.readinessProbe !== undefined) this.#loop(k, w, 'readiness', t);
  }

  #loop(k: string, w: Watched, kind: ProbeKind, t: ProbeTarget): void {
    const probe = probeOf(t.container, kind);
    if (probe === undefined) return;
    const l: Loop = { timer: null, successes: 0, failures: 0 };
    w.loops.set(kind, l);
    const period = 1000 * (probe.periodSeconds ?? 10);
    const timeout = 1000 * (probe.timeoutSeconds ?? 1);
    // Startup and liveness need one success by default; readiness too (successThreshold 1).
    const successThreshold = kind === 'readiness' ? probe.successThreshold ?? 1 : 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    const tick = (): void => {
      l.timer = null;
      void this.#o.run(probe, t, timeout).then(
        (okay) => this.#result(k, w, kind, t, l, okay, successThreshold, failureThreshold, () => (l.timer = this.#o.clock.setTimeout(tick, period))),
        () => this.#result(k, w, kind, t, l, false, successThreshold, failureThreshold, () => (l.timer = this.#o.clock.setTimeout(tick, period))),
      );
    };
    l.timer = this.#o.clock.setTimeout(tick, 1000 * (probe.initialDelaySeconds ?? 0));
  }

  #result(k: string, w: Watched, kind: ProbeKind, t: ProbeTarget, l: Loop, okay: boolean, successThreshold: number, failureThreshold: number, again: () => void): void {
    if (this.#watched.get(k) !== w || w.loops.get(kind) !== l) return;
    if (okay) {
      l.successes++;
      l.failures = 0;
    } else {
      l.failures++;
      l.successes = 0;
    }
    switch (kind) {
      case 'startup':
        if (l.successes >= 1) {
          w.started = true;
          w.loops.delete('startup');
          this.#startMain(k, w, t);
          this.#o.onChange(t.podUid);
          return;
        }
        if (l.failures >= failureThreshold) {
          this.#o.onLivenessFailure(t.podUid, t.container.name);
          return;
        }
        break;
      case 'liveness':
        if (l.failures >= failureThreshold) {
          l.failures = 0;
          this.#o.onLivenessFailure(t.podUid, t.container.name);
        }
        break;
      case 'readiness': {
        const before = w.ready;
        if (okay && l.successes >= successThreshold) w.ready = true;
        if (!okay && l.failures >= failureThreshold) w.ready = false;
        if (before !== w.ready) this.#o.onChange(t.podUid);
        break;
      }
    }
    again();
  }
}

function portOf(c: Container, port: number | string): number | null {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort ?? null;
}

/** httpProbe tries an HTTP(S) GET: success on a status from 200 to 399. */
export function httpProbe(probe: NonNullable<Probe['httpGet']>, t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  const port = portOf(t.container, probe.port);
  if (port === null) return Promise.resolve(false);
  const req = probe.scheme === 'HTTPS' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32' };
    for (const h of probe.httpHeaders ?? []) headers[h.name] = h.value;
    const r = req({ host: probe.host ?? t.podIP, port, path: probe.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', () => resolve(false));
    r.end();
  });
}

/** tcpProbe tries to open a TCP connection: success when it connects. */
export function tcpProbe(probe: NonNullable<Probe['tcpSocket']>, t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  const port = portOf(t.container, probe.port);
  if (port === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = connect({ host: probe.host ?? t.podIP, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** ExecProbe runs a command in a container: its exit code, or null when it could not run or timed out. */
export type ExecProbe = (podUid: string, container: string, command: readonly string[], timeoutMs: number) => Promise<number | null>;

/** networkProber runs httpGet and tcpSocket probes over the network and exec probes through `exec`. */
export function networkProber(exec: ExecProbe | undefined): RunProbe {
  return async (probe, t, timeoutMs) => {
    if (probe.exec !== undefined) {
      if (exec === undefined) return true;
      return (await exec(t.podUid, t.container.name, probe.exec.command ?? [], timeoutMs)) === 0;
    }
    if (probe.httpGet !== undefined) return httpProbe(probe.httpGet, t, timeoutMs);
    if (probe.tcpSocket !== undefined) return tcpProbe(probe.tcpSocket, t, timeoutMs);
    // A gRPC probe is not supported: it counts as passing rather than killing the container.
    return true;
  };
}
