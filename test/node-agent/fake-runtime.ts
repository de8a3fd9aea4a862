/**
 * fake-runtime: a ContainerRuntime for pod worker tests that records every call and lets the
 * test decide when containers exit.
 */
import type { Result } from '../../src/control-plane/api/types.js';
import { err, ok } from '../../src/control-plane/api/types.js';
import type { Disposable } from '../../src/control-plane/apiserver/registry-api.js';
import type { ConfigError, ContainerRecord, ContainerRuntime, StartContainerRequest } from '../../src/node-agent/runtime.js';

/** FakeRuntime records starts and stops; `exit` ends a container as a process would. */
export class FakeRuntime implements ContainerRuntime {
  readonly name = 'fake';
  /** calls: 'start <pod>/<container>', 'stop <pod>/<container> <graceMs>', 'remove <pod>'. */
  readonly calls: string[] = [];
  /** failing: containers whose starts fail with CreateContainerConfigError while listed. */
  readonly failing = new Set<string>();
  readonly #pods = new Map<string, { readonly podName: string; readonly containers: Map<string, ContainerRecord> }>();
  readonly #listeners = new Set<(uid: string) => void>();
  readonly #wall: () => Date;

  constructor(wall: () => Date) {
    this.#wall = wall;
  }

  async startContainer(req: StartContainerRequest): Promise<Result<void, ConfigError>> {
    const uid = req.pod.metadata.uid ?? '';
    let p = this.#pods.get(uid);
    if (p === undefined) this.#pods.set(uid, (p = { podName: req.pod.metadata.name ?? '', containers: new Map() }));
    const prev = p.containers.get(req.container.name);
    this.calls.push(`start ${p.podName}/${req.container.name}`);
    if (this.failing.has(req.container.name)) {
      const message = `configmap "cfg" not found`;
      p.containers.set(req.container.name, { name: req.container.name, init: req.init, state: { kind: 'waiting', reason: 'CreateContainerConfigError', message }, restartCount: prev?.restartCount ?? 0 });
      return err({ reason: 'CreateContainerConfigError', message });
    }
    p.containers.set(req.container.name, {
      name: req.container.name,
      init: req.init,
      state: { kind: 'running', startedAt: this.#wall() },
      restartCount: prev === undefined ? req.firstRestartCount : prev.restartCount + 1,
      containerID: `fake://${uid}/${req.container.name}`,
      ...(prev?.state.kind === 'terminated' ? { lastTermination: prev.state } : {}),
    });
    return ok(undefined);
  }

  /** exit ends a running container with an exit code and tells the worker. */
  exit(uid: string, name: string, exitCode: number): void {
    const p = this.#pods.get(uid);
    const r = p?.containers.get(name);
    if (p === undefined || r === undefined || r.state.kind !== 'running') throw new Error(`container ${name} of ${uid} is not running`);
    p.containers.set(name, { ...r, state: { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: r.state.startedAt, finishedAt: this.#wall() } });
    for (const l of this.#listeners) l(uid);
  }

  async stopContainer(podUid: string, name: string, graceMs: number): Promise<void> {
    const p = this.#pods.get(podUid);
    this.calls.push(`stop ${p?.podName ?? podUid}/${name} ${graceMs}`);
    const r = p?.containers.get(name);
    if (p === undefined || r === undefined || r.state.kind === 'terminated') return;
    const startedAt = r.state.kind === 'running' ? r.state.startedAt : this.#wall();
    p.containers.set(name, { ...r, state: { kind: 'terminated', exitCode: 143, signal: 'SIGTERM', reason: 'Error', startedAt, finishedAt: this.#wall() } });
  }

  containers(podUid: string): readonly ContainerRecord[] {
    return [...(this.#pods.get(podUid)?.containers.values() ?? [])];
  }

  async removePod(podUid: string): Promise<void> {
    const p = this.#pods.get(podUid);
    if (p === undefined) return;
    this.calls.push(`remove ${p.podName}`);
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
    this.#pods.clear();
  }
}
