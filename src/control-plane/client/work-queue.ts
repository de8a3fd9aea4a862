/**
 * work-queue: the queue between informer handlers and a controller's reconcile, as client-go's
 * rate-limited work queue. A key is queued once however often it is added while it waits; a key
 * is never processed by two workers at once (a key added while it is being processed is queued
 * again when that processing is done); a key whose reconcile fails comes back after a per-key
 * exponential backoff, and every rate-limited requeue also waits for a token of a global
 * bucket, so a storm of failures cannot hammer the apiserver.
 */
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';

/** RateLimits tune the queue's backoff; the defaults are client-go's. */
export interface RateLimits {
  /** baseDelayMs is the first retry's delay (default 5 ms); each failure doubles it. */
  readonly baseDelayMs?: number;
  /** maxDelayMs caps a key's backoff (default 1000 s). */
  readonly maxDelayMs?: number;
  /** qps is the global bucket's refill rate in tokens per second (default 10). */
  readonly qps?: number;
  /** burst is the global bucket's size (default 100). */
  readonly burst?: number;
}

/** WorkQueueOptions configure a queue. */
export interface WorkQueueOptions {
  readonly clock?: Clock;
  readonly rateLimits?: RateLimits;
}

/**
 * Reconciled is what a handler reports for a key: 'done' (forget its failures), 'retry' (requeue
 * with backoff), or requeueAfter (forget failures, look again after this many ms, e.g. to check
 * a deadline).
 */
export type Reconciled = 'done' | 'retry' | { readonly requeueAfter: number };

/** RunOptions configure `WorkQueue.run`. */
export interface RunOptions<K extends QueueKey> {
  /** onError is told about a handler that threw (a bug); the key is retried with backoff. */
  readonly onError?: (key: K, error: unknown) => void;
}

/** TokenBucket is a token bucket that hands out reservations: how long until your token. */
export class TokenBucket {
  readonly #clock: Clock;
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  constructor(clock: Clock, o: { readonly qps: number; readonly burst: number }) {
    if (!(o.qps > 0) || !(o.burst >= 1)) throw new Error(`A token bucket needs qps > 0 and burst >= 1, not qps=${o.qps} burst=${o.burst}`);
    this.#clock = clock;
    this.#perMs = o.qps / 1000;
    this.#burst = o.burst;
    this.#tokens = o.burst;
    this.#last = clock.now();
  }

  /** reserve takes one token and returns the ms to wait until it is really available (0: now). */
  reserve(): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#perMs;
  }
}

interface Waiter<K extends QueueKey> {
  readonly resolve: (k: K | undefined) => void;
}

/** QueueKey is what a work queue can hold: any value but undefined and null. */
export type QueueKey = string | number | bigint | boolean | symbol | object;

/**
 * WorkQueue is a deduplicating, rate-limited queue of keys (usually 'namespace/name') with
 * `run(workers, handler)` as the controller's loop. Keys are compared with SameValueZero, so
 * use strings or other primitives.
 */
export class WorkQueue<K extends QueueKey> {
  readonly #clock: Clock;
  readonly #base: number;
  readonly #max: number;
  readonly #bucket: TokenBucket;
  readonly #queue: K[] = [];
  /** dirty: keys that need processing (queued, or re-added while processing). */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #failures = new Map<K, number>();
  /** delayed: for each key waiting on addAfter, when it is due and its timer. */
  readonly #delayed = new Map<K, { readonly due: number; readonly timer: TimerHandle }>();
  readonly #waiters: Waiter<K>[] = [];
  #shuttingDown = false;

  constructor(o: WorkQueueOptions = {}) {
    this.#clock = o.clock ?? systemClock;
    const r = o.rateLimits ?? {};
    this.#base = r.baseDelayMs ?? 5;
    this.#max = r.maxDelayMs ?? 1_000_000;
    this.#bucket = new TokenBucket(this.#clock, { qps: r.qps ?? 10, burst: r.burst ?? 100 });
  }

  /** add queues a key unless it is already queued; a key being processed is queued again after. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  #push(key: K): void {
    const w = this.#waiters.shift();
    if (w !== undefined) this.#start(key, w);
    else this.#queue.push(key);
  }

  #start(key: K, w: Waiter<K>): void {
    this.#dirty.delete(key);
    this.#processing.add(key);
    w.resolve(key);
  }

  /** addAfter adds the key once `ms` have passed; an earlier pending addAfter of the key wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = this.#clock.now() + ms;
    const cur = this.#delayed.get(key);
    if (cur !== undefined) {
      if (cur.due <= due) return;
      this.#clock.clearTimeout(cur.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { due, timer });
  }

  /**
   * addRateLimited adds the key after its backoff (base × 2^failures, capped) or the global
   * bucket's wait, whichever is longer, and counts a failure for it.
   */
  addRateLimited(key: K): void {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const perKey = Math.min(this.#max, this.#base * 2 ** n);
    this.addAfter(key, Math.max(perKey, this.#bucket.reserve()));
  }

  /** forget clears the key's failure count (call it when the key was processed successfully). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** numRequeues is how many failures in a row the key has had. */
  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** len is how many keys wait to be processed (not counting delayed ones). */
  len(): number {
    return this.#queue.length;
  }

  /** shuttingDown says whether `shutDown` was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * get waits for a key and marks it as being processed; call `done(key)` afterwards. It
   * resolves to undefined once the queue shuts down.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) return new Promise((resolve) => this.#start(key, { resolve }));
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }

  /** done ends the processing of a key; if it was added meanwhile it is queued again. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
  }

  /**
   * shutDown stops the queue: waiting `get` calls resolve to undefined, pending delays are
   * cancelled, and no key is added any more. Keys being processed finish normally.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const d of this.#delayed.values()) this.#clock.clearTimeout(d.timer);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const w of this.#waiters.splice(0)) w.resolve(undefined);
  }

  /**
   * run processes keys with `workers` concurrent workers until the queue shuts down; it
   * resolves when every worker has finished its last key. The handler's outcome decides what
   * happens to the key (see Reconciled); a handler that throws is retried with backoff.
   */
  async run(workers: number, handler: (key: K) => Promise<Reconciled>, o: RunOptions<K> = {}): Promise<void> {
    const worker = async (): Promise<void> => {
      for (;;) {
        const k = await this.get();
        if (k === undefined) return;
        try {
          const outcome = await handler(k);
          if (outcome === 'done') this.forget(k);
          else if (outcome === 'retry') this.addRateLimited(k);
          else {
            this.forget(k);
            this.addAfter(k, outcome.requeueAfter);
          }
        } catch (e: unknown) {
          o.onError?.(k, e);
          this.addRateLimited(k);
        } finally {
          this.done(k);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, () => worker()));
  }
}
