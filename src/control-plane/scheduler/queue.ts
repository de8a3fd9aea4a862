/**
 * queue: kube-scheduler's scheduling queue. Pending pods wait in the *active* queue (highest
 * priority first, then first come), pods whose last attempt failed wait out a per-pod backoff
 * (1 s doubling to 10 s) in the *backoff* queue, and pods that fit nowhere park in the
 * *unschedulable* set until the cluster changes (a node added or updated, a bound pod deleted
 * or finished) — or for at most a minute, in case an event was missed. A pod whose cycle
 * overlapped such a change goes to backoff instead of parking, so the change is not lost.
 */
import type { Clock, TimerHandle } from '../client/clock.js';
import type { PodInfo } from './types.js';

/** QueuedPod is a pod in the queue with its scheduling history. */
export interface QueuedPod {
  info: PodInfo;
  /** attempts counts scheduling attempts so far (the backoff doubles with each). */
  attempts: number;
  /** seq orders pods of equal priority by arrival. */
  seq: number;
  /** cycle is the scheduling cycle in which the pod was last popped. */
  cycle: number;
  /** failedAt is when its last attempt failed (clock ms). */
  failedAt: number;
  /** deleted marks a popped pod that was deleted (or bound elsewhere) while in flight. */
  deleted: boolean;
}

/** QueueOptions configure the queue's timings. */
export interface QueueOptions {
  readonly clock: Clock;
  /** initialBackoffMs is the first retry's backoff (default 1000). */
  readonly initialBackoffMs?: number;
  /** maxBackoffMs caps the backoff (default 10000). */
  readonly maxBackoffMs?: number;
  /** maxUnschedulableMs moves parked pods back after this long even without an event (default 60000). */
  readonly maxUnschedulableMs?: number;
}

/** QueueLengths report how many pods wait where. */
export interface QueueLengths {
  readonly active: number;
  readonly backoff: number;
  readonly unschedulable: number;
  readonly inFlight: number;
}

function before(a: QueuedPod, b: QueuedPod): boolean {
  return a.info.priority !== b.info.priority ? a.info.priority > b.info.priority : a.seq < b.seq;
}

/** SchedulingQueue holds every pod waiting for this scheduler, each in exactly one place. */
export class SchedulingQueue {
  readonly #clock: Clock;
  readonly #initial: number;
  readonly #max: number;
  readonly #maxParked: number;
  /** heap of the active queue; entries no longer in #active are skipped on pop. */
  readonly #heap: QueuedPod[] = [];
  readonly #active = new Map<string, QueuedPod>();
  readonly #backoff = new Map<string, { readonly qp: QueuedPod; readonly timer: TimerHandle }>();
  readonly #parked = new Map<string, QueuedPod>();
  readonly #inFlight = new Map<string, QueuedPod>();
  readonly #waiters: ((qp: QueuedPod | undefined) => void)[] = [];
  #seq = 0;
  #cycle = 0;
  #moveRequestCycle = -1;
  #flushTimer: TimerHandle | null = null;
  #closed = false;

  constructor(o: QueueOptions) {
    this.#clock = o.clock;
    this.#initial = o.initialBackoffMs ?? 1000;
    this.#max = o.maxBackoffMs ?? 10_000;
    this.#maxParked = o.maxUnschedulableMs ?? 60_000;
    this.#armFlush();
  }

  #armFlush(): void {
    if (this.#closed) return;
    this.#flushTimer = this.#clock.setTimeout(() => {
      this.#flushTimer = null;
      this.#flushParked();
      this.#armFlush();
    }, Math.max(1000, this.#maxParked / 2));
  }

  #flushParked(): void {
    const now = this.#clock.now();
    for (const [k, qp] of [...this.#parked]) {
      if (now - qp.failedAt < this.#maxParked) continue;
      this.#parked.delete(k);
      this.#toActiveOrBackoff(qp, now);
    }
  }

  #push(qp: QueuedPod): void {
    const w = this.#waiters.shift();
    if (w !== undefined) {
      this.#startCycle(qp);
      w(qp);
      return;
    }
    this.#active.set(qp.info.key, qp);
    const h = this.#heap;
    h.push(qp);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #popHeap(): QueuedPod | undefined {
    const h = this.#heap;
    while (h.length > 0) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && before(h[l]!, h[m]!)) m = l;
          if (r < h.length && before(h[r]!, h[m]!)) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m]!, h[i]!];
          i = m;
        }
      }
      if (this.#active.get(top.info.key) === top) {
        this.#active.delete(top.info.key);
        return top;
      }
    }
    return undefined;
  }

  #startCycle(qp: QueuedPod): void {
    qp.cycle = ++this.#cycle;
    qp.attempts++;
    this.#inFlight.set(qp.info.key, qp);
  }

  #where(key: string): QueuedPod | undefined {
    return this.#active.get(key) ?? this.#backoff.get(key)?.qp ?? this.#parked.get(key) ?? this.#inFlight.get(key);
  }

  /**
   * add queues a pending pod, or refreshes the one queued: a parked pod whose spec or labels
   * changed gets another try at once (its problem may be fixed).
   */
  add(info: PodInfo): void {
    if (this.#closed) return;
    const cur = this.#where(info.key);
    if (cur === undefined) {
      this.#push({ info, attempts: 0, seq: this.#seq++, cycle: 0, failedAt: 0, deleted: false });
      return;
    }
    const old = cur.info;
    cur.info = info;
    if (this.#parked.get(info.key) === cur && schedulingInputsChanged(old, info)) {
      this.#parked.delete(info.key);
      this.#toActiveOrBackoff(cur, this.#clock.now());
    }
  }

  /** delete removes a pod (deleted, or bound by someone else) from wherever it waits. */
  delete(key: string): void {
    this.#active.delete(key);
    const b = this.#backoff.get(key);
    if (b !== undefined) {
      this.#clock.clearTimeout(b.timer);
      this.#backoff.delete(key);
    }
    this.#parked.delete(key);
    const f = this.#inFlight.get(key);
    if (f !== undefined) f.deleted = true;
  }

  /** has says whether the queue holds the pod anywhere (including in flight). */
  has(key: string): boolean {
    return this.#where(key) !== undefined;
  }

  /** tryPop takes the next pod without waiting (undefined when none is active). */
  tryPop(): QueuedPod | undefined {
    const qp = this.#popHeap();
    if (qp !== undefined) this.#startCycle(qp);
    return qp;
  }

  /** pop waits for the next pod; undefined once the queue is closed or `signal` aborts. */
  pop(signal?: AbortSignal): Promise<QueuedPod | undefined> {
    if (this.#closed || signal?.aborted === true) return Promise.resolve(undefined);
    const qp = this.tryPop();
    if (qp !== undefined) return Promise.resolve(qp);
    return new Promise((resolve) => {
      const waiter = (v: QueuedPod | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** putBack returns a popped pod to the active queue untried (its cycle was abandoned). */
  putBack(qp: QueuedPod): void {
    if (this.#inFlight.get(qp.info.key) !== qp) return;
    this.#inFlight.delete(qp.info.key);
    qp.attempts = Math.max(0, qp.attempts - 1);
    if (!qp.deleted && !this.#closed) this.#push(qp);
  }

  /** done ends a pod's cycle after it was assumed and handed to the binder. */
  done(key: string): void {
    this.#inFlight.delete(key);
  }

  #backoffMs(qp: QueuedPod): number {
    return Math.min(this.#max, this.#initial * 2 ** Math.max(0, qp.attempts - 1));
  }

  #toBackoff(qp: QueuedPod, waitMs: number): void {
    const key = qp.info.key;
    const timer = this.#clock.setTimeout(() => {
      if (this.#backoff.get(key)?.qp !== qp) return;
      this.#backoff.delete(key);
      this.#push(qp);
    }, waitMs);
    this.#backoff.set(key, { qp, timer });
  }

  #toActiveOrBackoff(qp: QueuedPod, now: number): void {
    const left = qp.failedAt + this.#backoffMs(qp) - now;
    if (left > 0) this.#toBackoff(qp, left);
    else this.#push(qp);
  }

  /**
   * unschedulable takes back a pod that fit nowhere: it parks until the cluster changes, or
   * waits out its backoff if the cluster changed while it was being scheduled.
   */
  unschedulable(qp: QueuedPod): void {
    const key = qp.info.key;
    if (this.#inFlight.get(key) !== qp) return;
    this.#inFlight.delete(key);
    if (qp.deleted || this.#closed) return;
    qp.failedAt = this.#clock.now();
    if (this.#moveRequestCycle >= qp.cycle) this.#toBackoff(qp, this.#backoffMs(qp));
    else this.#parked.set(key, qp);
  }

  /** retry takes back a pod whose attempt failed for another reason (a failed binding): it waits out its backoff. */
  retry(qp: QueuedPod): void {
    const key = qp.info.key;
    this.#inFlight.delete(key);
    if (qp.deleted || this.#closed || this.#where(key) !== undefined) return;
    qp.failedAt = this.#clock.now();
    qp.deleted = false;
    this.#toBackoff(qp, this.#backoffMs(qp));
  }

  /** moveAllToActiveOrBackoff gives every parked pod another try after a cluster change. */
  moveAllToActiveOrBackoff(): void {
    this.#moveRequestCycle = this.#cycle;
    if (this.#parked.size === 0) return;
    const now = this.#clock.now();
    const parked = [...this.#parked.values()];
    this.#parked.clear();
    for (const qp of parked) this.#toActiveOrBackoff(qp, now);
  }

  /** lengths counts the pods in each place. */
  lengths(): QueueLengths {
    return { active: this.#active.size, backoff: this.#backoff.size, unschedulable: this.#parked.size, inFlight: this.#inFlight.size };
  }

  /** close empties the queue, cancels its timers and releases waiting pops. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#flushTimer !== null) this.#clock.clearTimeout(this.#flushTimer);
    for (const b of this.#backoff.values()) this.#clock.clearTimeout(b.timer);
    this.#backoff.clear();
    this.#active.clear();
    this.#heap.length = 0;
    this.#parked.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}

/** schedulingInputsChanged says whether a pod changed in a way that could change where it fits. */
export function schedulingInputsChanged(a: PodInfo, b: PodInfo): boolean {
  if (a.pod === b.pod) return false;
  return JSON.stringify(a.pod.spec) !== JSON.stringify(b.pod.spec) || JSON.stringify(a.labels) !== JSON.stringify(b.labels);
}
