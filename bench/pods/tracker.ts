/**
 * tracker: the benchmark's watcher of its namespace's pods. It keeps one gRPC watch open from
 * the namespace's resourceVersion and notes, for each pod, the first moment (performance.now()
 * in this process) it saw the pod bound to a node, Running, and Ready, together with the pod's
 * current phase and readiness. A watch that ends is resumed from the last resourceVersion seen;
 * one that expired (410) is replaced by a list, and whatever that list shows for the first time
 * is stamped with the time of the list (counted in `relisted`).
 */
import type { ApiError } from '../../src/control-plane/apiserver/registry-api.js';
import type { ApiClient } from '../../src/control-plane/client/index.js';
import type { PodObject } from '../../src/node-agent/index.js';
import { PODS } from '../../src/node-agent/index.js';

/** PodSeen is what the tracker knows of one pod. */
export interface PodSeen {
  node: string;
  scheduledAt: number | null;
  runningAt: number | null;
  readyAt: number | null;
  /** running and ready are the pod's state in the latest event. */
  running: boolean;
  ready: boolean;
  deleted: boolean;
}

/** isReady tells whether a pod's Ready condition is True. */
export function isReady(p: PodObject): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** PodTracker watches one namespace's pods; see the module doc. */
export class PodTracker {
  readonly #client: ApiClient;
  readonly #namespace: string;
  readonly #seen = new Map<string, PodSeen>();
  readonly #waiters = new Set<() => void>();
  #rv = '';
  #watch: { dispose(): void } | null = null;
  #stopped = false;
  #relisted = 0;
  #restarts = 0;
  #everRunning = 0;
  #everReady = 0;
  #lastError: string | null = null;

  constructor(o: { readonly client: ApiClient; readonly namespace: string }) {
    this.#client = o.client;
    this.#namespace = o.namespace;
  }

  /** start lists the namespace (to learn its resourceVersion) and opens the watch. */
  async start(): Promise<void> {
    await this.#relist(false);
    this.#open();
  }

  /** stop closes the watch. */
  stop(): void {
    this.#stopped = true;
    this.#watch?.dispose();
    this.#watch = null;
    this.#wake();
  }

  /** get is what the tracker saw of a pod (undefined: nothing yet). */
  get(name: string): PodSeen | undefined {
    return this.#seen.get(name);
  }

  /** count counts the pods a predicate holds for. */
  count(pred: (p: PodSeen) => boolean): number {
    let n = 0;
    for (const p of this.#seen.values()) if (pred(p)) n++;
    return n;
  }

  /** everRunning counts the pods seen Running at least once. */
  get everRunning(): number {
    return this.#everRunning;
  }

  /** everReady counts the pods seen Ready at least once. */
  get everReady(): number {
    return this.#everReady;
  }

  /** relisted counts first sightings stamped by a relist rather than a watch event. */
  get relisted(): number {
    return this.#relisted;
  }

  /** restarts counts the watches reopened after one ended. */
  get restarts(): number {
    return this.#restarts;
  }

  /** lastError is the last way a watch or list failed, for messages. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /**
   * until resolves once `done()` holds (checked after every event) or `deadline` (performance.now()
   * time) passes; it returns whether `done()` held.
   */
  until(done: () => boolean, deadline: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done() && !this.#stopped && performance.now() < deadline) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(done());
      };
      const timer = setTimeout(check, Math.max(0, deadline - performance.now()));
      this.#waiters.add(check);
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  #note(p: PodObject, at: number, viaList: boolean): void {
    const name = p.metadata.name ?? '';
    let s = this.#seen.get(name);
    if (s === undefined) this.#seen.set(name, (s = { node: '', scheduledAt: null, runningAt: null, readyAt: null, running: false, ready: false, deleted: false }));
    const node = p.spec?.nodeName ?? '';
    s.running = p.status?.phase === 'Running';
    s.ready = isReady(p);
    const first = (cur: number | null, now: boolean): number | null => {
      if (cur !== null || !now) return cur;
      if (viaList) this.#relisted++;
      return at;
    };
    if (node !== '') s.node = node;
    s.scheduledAt = first(s.scheduledAt, node !== '');
    if (s.runningAt === null && s.running) this.#everRunning++;
    if (s.readyAt === null && s.ready) this.#everReady++;
    s.runningAt = first(s.runningAt, s.running);
    s.readyAt = first(s.readyAt, s.ready);
  }

  async #relist(stamp: boolean): Promise<void> {
    const r = await this.#client.list<PodObject>(PODS, { namespace: this.#namespace });
    if (!r.ok) throw new Error(`Listing the pods of ${this.#namespace} failed: ${r.error.message}`);
    const at = performance.now();
    for (const p of r.value.items) this.#note(p, at, stamp);
    this.#rv = r.value.metadata.resourceVersion;
    this.#wake();
  }

  #open(): void {
    if (this.#stopped) return;
    this.#watch = this.#client.watch<PodObject>(PODS, { namespace: this.#namespace, resourceVersion: this.#rv, allowWatchBookmarks: true }, {
      event: (ev) => {
        const at = performance.now();
        const rv = ev.object.metadata.resourceVersion;
        if (rv !== undefined && rv !== '') this.#rv = rv;
        if (ev.type === 'BOOKMARK') return;
        if (ev.type === 'DELETED') {
          const s = this.#seen.get(ev.object.metadata.name ?? '');
          if (s !== undefined) s.deleted = true;
        } else this.#note(ev.object, at, false);
        this.#wake();
      },
      end: (why: ApiError | null) => {
        if (this.#stopped) return;
        this.#restarts++;
        if (why !== null) this.#lastError = why.message;
        // 410: the resourceVersion is compacted away; anything else: resume where the stream stopped.
        // A failed watch is retried after a pause, so an apiserver that keeps refusing is not hammered.
        const pauseMs = why === null ? 0 : 500;
        const resume = why?.code === 410 ? this.#relist(true) : Promise.resolve();
        resume.then(
          () => setTimeout(() => this.#open(), pauseMs),
          (e: unknown) => {
            this.#lastError = e instanceof Error ? e.message : String(e);
            // Keep trying from the last resourceVersion; the caller's deadline bounds the wait.
            setTimeout(() => this.#open(), 1000);
          },
        );
      },
    });
  }
}
