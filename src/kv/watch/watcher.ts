/**
 * watcher: what a watch's consumer holds — a bounded queue of responses read by polling, by
 * awaiting next(), or with for-await — and the shapes of the requests and responses.
 */

import type { KeyValue } from '../mvcc/index.js';
import { Batch } from './batch.js';

/** COMPACT_AFTER_SHIFTS: a ResponseQueue moves its unread responses to the front once more than this many were taken and they are over half. */
const COMPACT_AFTER_SHIFTS = 1024;
/** KEEP_ROOM: an emptied ResponseQueue keeps arrays of up to this many slots for its next responses; larger ones go. */
const KEEP_ROOM = 1024;

/** FilterType is WatchCreateRequest.FilterType: drop puts or deletes from a watcher's events. */
export type FilterType = 'NOPUT' | 'NODELETE';

/** WatchRequest is etcd's WatchCreateRequest minus what belongs to the gRPC stream (watch_id, fragment). */
export interface WatchRequest {
  readonly key: Uint8Array;
  /** range_end follows RangeRequest: absent/empty = one key, "\0" = every key ≥ key. */
  readonly range_end?: Uint8Array;
  /** start_revision replays history from that revision; 0/absent starts after the current one. */
  readonly start_revision?: number;
  readonly filters?: readonly FilterType[];
  readonly prev_kv?: boolean;
  /** progress_notify opts in to WatchHub.progressNotify()'s periodic progress responses. */
  readonly progress_notify?: boolean;
}

/** WatchEvent is mvccpb.Event: a change, with the key's previous value if prev_kv was asked for. */
export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue;
  readonly prev_kv?: KeyValue;
}

/**
 * WatchResponse is one message to the watcher's consumer. `revision` is the store revision when
 * it was produced (the response header's revision). Events arrive in revision order, each
 * exactly once; a revision's events are never split across responses.
 */
export type WatchResponse =
  | { readonly type: 'events'; readonly revision: number; readonly events: readonly WatchEvent[] }
  /** progress: every change up to `revision` that this watcher should see has been delivered. */
  | { readonly type: 'progress'; readonly revision: number }
  /**
   * canceled: the last response. compact_revision ≠ 0 means the start revision was compacted;
   * otherwise cancel_reason says why (a consumer too slow to keep up).
   */
  | { readonly type: 'canceled'; readonly revision: number; readonly compact_revision: number; readonly cancel_reason: string };

/**
 * Readable queues tell their consumers in one microtask for all of them. A change that reaches
 * n watchers makes n queues readable at once; a microtask each (Node's queueMicrotask makes an
 * async resource and a bound function per call) was a third of what a member allocated with 100
 * watchers. Consumers are told in the order their queues became readable, as before.
 */
// NB: two batches, swapped at each telling: a queue made readable while consumers are being told
// joins the other one, under a microtask of its own.
let toTell = new Batch<ResponseQueue>();
let telling = new Batch<ResponseQueue>();

function tellSoon(q: ResponseQueue): void {
  toTell.push(q);
  if (toTell.size === 1) queueMicrotask(tellAll);
}

function tellAll(): void {
  const queues = toTell;
  toTell = telling;
  telling = queues;
  // NB: one consumer's throw must not keep the others from hearing; the first is rethrown after,
  // as it would have escaped its own microtask.
  let first: { readonly err: unknown } | null = null;
  for (let i = 0; i < queues.size; i++) {
    try {
      queues.at(i).tellReadable();
    } catch (err: unknown) {
      first ??= { err };
    }
  }
  queues.clear();
  if (first !== null) throw first.err;
}

/**
 * ResponseQueue is the hub's side of a watcher: an unbounded FIFO the hub bounds by policy.
 *
 * The responses and their counts sit in three parallel arrays, unread ones at [head, tail). When
 * the queue empties both go back to 0 and the arrays keep their room, so the usual push (one
 * change, read at once) allocates nothing.
 */
export class ResponseQueue {
  #responses: (WatchResponse | undefined)[] = [];
  #eventCounts: number[] = [];
  #byteCounts: number[] = [];
  #head = 0;
  #tail = 0;
  #events = 0;
  #bytes = 0;
  #ended = false;
  #waiters: ((r: WatchResponse | undefined) => void)[] = [];
  #onReadable: (() => void) | null = null;
  #readableScheduled = false;
  readonly #onConsumed: () => void;

  /** constructor takes the hub's callback for "the consumer took something" (to resume catch-up). */
  constructor(onConsumed: () => void) {
    this.#onConsumed = onConsumed;
  }

  /** events is the number of events queued and not yet read. */
  get events(): number {
    return this.#events;
  }

  /** bytes approximates the memory held by queued events. */
  get bytes(): number {
    return this.#bytes;
  }

  /** length is the number of queued responses. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** ended says no response will be added any more. */
  get ended(): boolean {
    return this.#ended;
  }

  /** push appends a response (ignored once ended). */
  push(r: WatchResponse, events: number, bytes: number): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter(r);
      this.#onConsumed();
      return;
    }
    const t = this.#tail++;
    if (t < this.#responses.length) {
      this.#responses[t] = r;
      this.#eventCounts[t] = events;
      this.#byteCounts[t] = bytes;
    } else {
      this.#responses.push(r);
      this.#eventCounts.push(events);
      this.#byteCounts.push(bytes);
    }
    this.#events += events;
    this.#bytes += bytes;
    if (this.length === 1 && this.#onReadable !== null && !this.#readableScheduled) {
      this.#readableScheduled = true;
      tellSoon(this);
    }
  }

  /** tellReadable tells the consumer that responses wait (from the shared microtask, see tellSoon). */
  tellReadable(): void {
    this.#readableScheduled = false;
    if (this.length > 0) this.#onReadable?.();
  }

  /** end marks the queue finished: readers get what is queued, then undefined. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.length === 0) for (const w of this.#waiters.splice(0)) w(undefined);
  }

  /** clear drops everything queued and ends the queue (the consumer cancelled). */
  clear(): void {
    this.#responses = [];
    this.#eventCounts = [];
    this.#byteCounts = [];
    this.#head = 0;
    this.#tail = 0;
    this.#events = 0;
    this.#bytes = 0;
    this.end();
  }

  /** shift takes the oldest response, if any. */
  shift(): WatchResponse | undefined {
    if (this.#head >= this.#tail) return undefined;
    const i = this.#head++;
    const r = this.#responses[i] as WatchResponse;
    this.#responses[i] = undefined;
    this.#events -= this.#eventCounts[i] as number;
    this.#bytes -= this.#byteCounts[i] as number;
    if (this.#head === this.#tail) this.#restart();
    else if (this.#head > COMPACT_AFTER_SHIFTS && this.#head * 2 > this.#tail) this.#compact();
    this.#onConsumed();
    if (this.#ended && this.length === 0) for (const w of this.#waiters.splice(0)) w(undefined);
    return r;
  }

  /** #restart starts an emptied queue again at slot 0, keeping arrays of up to KEEP_ROOM slots. */
  #restart(): void {
    this.#head = 0;
    this.#tail = 0;
    if (this.#responses.length > KEEP_ROOM) {
      this.#responses = [];
      this.#eventCounts = [];
      this.#byteCounts = [];
    }
  }

  /** #compact moves the unread responses to the front of the arrays and cuts them to that. */
  #compact(): void {
    this.#responses = this.#responses.slice(this.#head, this.#tail);
    this.#eventCounts = this.#eventCounts.slice(this.#head, this.#tail);
    this.#byteCounts = this.#byteCounts.slice(this.#head, this.#tail);
    this.#tail -= this.#head;
    this.#head = 0;
  }

  /** next resolves with the next response, or undefined once the queue has ended and is empty. */
  next(): Promise<WatchResponse | undefined> {
    const r = this.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** setOnReadable registers a callback run (in a microtask) when the queue becomes non-empty. */
  setOnReadable(fn: (() => void) | null): void {
    this.#onReadable = fn;
    if (fn !== null && this.length > 0 && !this.#readableScheduled) {
      this.#readableScheduled = true;
      tellSoon(this);
    }
  }
}

/** Watcher is a consumer's handle on one watch: read its responses, cancel it when done. */
export class Watcher implements AsyncIterable<WatchResponse> {
  /** id identifies the watcher within its hub (not etcd's per-stream watch_id). */
  readonly id: number;
  /** createdRevision is the store revision when the watch was created (the "created" response's header). */
  readonly createdRevision: number;
  readonly #queue: ResponseQueue;
  readonly #cancel: () => void;

  /** constructor is the hub's; use WatchHub.watch. */
  constructor(id: number, createdRevision: number, queue: ResponseQueue, cancel: () => void) {
    this.id = id;
    this.createdRevision = createdRevision;
    this.#queue = queue;
    this.#cancel = cancel;
  }

  /** pendingEvents is the number of events waiting to be read. */
  get pendingEvents(): number {
    return this.#queue.events;
  }

  /** done says the watcher has ended and every response has been read. */
  get done(): boolean {
    return this.#queue.ended && this.#queue.length === 0;
  }

  /** poll takes every queued response without waiting. */
  poll(): WatchResponse[] {
    const out: WatchResponse[] = [];
    for (let r = this.#queue.shift(); r !== undefined; r = this.#queue.shift()) out.push(r);
    return out;
  }

  /** take takes the oldest queued response without waiting, if any (poll, one at a time). */
  take(): WatchResponse | undefined {
    return this.#queue.shift();
  }

  /** next resolves with the next response, or undefined when the watcher has ended. */
  next(): Promise<WatchResponse | undefined> {
    return this.#queue.next();
  }

  /** onReadable registers a callback for "responses are waiting" (push-style consumers); null removes it. */
  onReadable(fn: (() => void) | null): void {
    this.#queue.setOnReadable(fn);
  }

  /** cancel stops the watch: queued responses are dropped and readers see the end. */
  cancel(): void {
    this.#cancel();
  }

  /** [Symbol.asyncIterator] yields responses until the watcher ends; breaking out cancels it. */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchResponse> {
    try {
      for (;;) {
        const r = await this.#queue.next();
        if (r === undefined) return;
        yield r;
      }
    } finally {
      if (!this.done) this.cancel();
    }
  }
}
