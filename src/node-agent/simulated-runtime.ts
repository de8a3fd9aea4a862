/**
 * simulated-runtime: a ContainerRuntime that runs nothing, as kwok does — a started container
 * waits in ContainerCreating for a configurable delay, then runs until it is stopped. It costs a
 * few objects and one timer per pod, so one process can carry thousands of nodes' pods.
 */
import type { Result } from '../control-plane/api/types.js';
import { ok } from '../control-plane/api/types.js';
import type { Disposable } from '../control-plane/apiserver/registry-api.js';
import type { Clock, TimerHandle } from '../control-plane/client/index.js';
import { systemClock } from '../control-plane/client/index.js';
import type { ConfigError, ContainerRecord, ContainerRuntime, StartContainerRequest } from './runtime.js';

/** SimulatedRuntimeOptions configure the simulated runtime. */
export interface SimulatedRuntimeOptions {
  /** startDelayMs: how long a container stays in ContainerCreating (default 200 ms; 0 runs it at once). */
  readonly startDelayMs?: number;
  readonly clock?: Clock;
  readonly wallClock?: () => Date;
}

interface SimPod {
  readonly containers: Map<string, ContainerRecord>;
  timer: TimerHandle | null;
  /** starting lists the containers that turn running when the timer fires. */
  readonly starting: Set<string>;
}

/** SimulatedRuntime is the kwok-like runtime; see the module doc. */
export class SimulatedRuntime implements ContainerRuntime {
  readonly name = 'simulated';
  readonly #clock: Clock;
  readonly #wall: () => Date;
  readonly #delay: number;
  readonly #pods = new Map<string, SimPod>();
  readonly #listeners = new Set<(uid: string) => void>();

  constructor(o: SimulatedRuntimeOptions = {}) {
    this.#clock = o.clock ?? systemClock;
    this.#wall = o.wallClock ?? (() => new Date());
    this.#delay = o.startDelayMs ?? 200;
  }

  #pod(uid: string): SimPod {
    let p = this.#pods.get(uid);
    if (p === undefined) this.#pods.set(uid, (p = { containers: new Map(), timer: null, starting: new Set() }));
    return p;
  }

  async startContainer(req: StartContainerRequest): Promise<Result<void, ConfigError>> {
    const uid = req.pod.metadata.uid ?? '';
    const p = this.#pod(uid);
    const name = req.container.name;
    const prev = p.containers.get(name);
    const restartCount = prev === undefined ? req.firstRestartCount : prev.restartCount + 1;
    const lastTermination = prev?.state.kind === 'terminated' ? { lastTermination: prev.state } : {};
    const containerID = `simulated://${uid}/${name}/${restartCount}`;
    if (this.#delay <= 0) {
      p.containers.set(name, { name, init: req.init, state: { kind: 'running', startedAt: this.#wall() }, restartCount, containerID, ...lastTermination });
      return ok(undefined);
    }
    p.containers.set(name, { name, init: req.init, state: { kind: 'waiting', reason: 'ContainerCreating' }, restartCount, containerID, ...lastTermination });
    p.starting.add(name);
    // One timer per pod: containers started together turn running together.
    p.timer ??= this.#clock.setTimeout(() => {
      p.timer = null;
      const at = this.#wall();
      for (const n of p.starting) {
        const r = p.containers.get(n);
        if (r !== undefined && r.state.kind === 'waiting') p.containers.set(n, { ...r, state: { kind: 'running', startedAt: at } });
      }
      p.starting.clear();
      for (const l of this.#listeners) l(uid);
    }, this.#delay);
    return ok(undefined);
  }

  async stopContainer(podUid: string, name: string): Promise<void> {
    const p = this.#pods.get(podUid);
    const r = p?.containers.get(name);
    if (p === undefined || r === undefined || r.state.kind === 'terminated') return;
    p.starting.delete(name);
    const now = this.#wall();
    const startedAt = r.state.kind === 'running' ? r.state.startedAt : now;
    // A simulated container honours SIGTERM at once, as a well-behaved server would.
    p.containers.set(name, { ...r, state: { kind: 'terminated', exitCode: 0, reason: 'Completed', startedAt, finishedAt: now } });
  }

  containers(podUid: string): readonly ContainerRecord[] {
    const p = this.#pods.get(podUid);
    return p === undefined ? [] : [...p.containers.values()];
  }

  async removePod(podUid: string): Promise<void> {
    const p = this.#pods.get(podUid);
    if (p?.timer != null) this.#clock.clearTimeout(p.timer);
    this.#pods.delete(podUid);
  }

  pods(): readonly string[] {
    return [...this.#pods.keys()];
  }

  onChange(listener: (podUid: string) => void): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  async close(): Promise<void> {
    for (const uid of [...this.#pods.keys()]) await this.removePod(uid);
    this.#listeners.clear();
  }
}
