/**
 * watcher: what a watch's consumer holds — a bounded queue of responses read by polling, by
 * awaiting next(), or with for-await — and the shapes of the requests and responses.
 */

import type { KeyValue } from '../mvcc/index.js';

/** COMPACT_AFTER_SHIFTS: a ResponseQueue drops its consumed head once more than this many were taken and they are over half. */
const COMPACT_AFTER_SHIFTS = 1024;

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

/** ResponseQueue is the hub's side of a watcher: an unbounded FIFO the hub bounds by policy. */
export class ResponseQueue {
  #items: { r: WatchResponse; events: number; bytes: number }[] = [];
  #head = 0;
  #events = 0;
  #bytes = 0;
  #ended = false;
  #waiters: ((r: WatchResponse | undefined) => void)[] = [];
  #onReadable: (() => void) | null = null;
  #readableScheduled = false;
  readonly #onConsumed: () => void;
  /** #fireReadable is the microtask that tells the consumer; made once, not per push. */
  readonly #fireReadable = (): void => {
    this.#readableScheduled = false;
    if (this.length > 0) this.#onReadable?.();
  };

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
    return this.#items.length - this.#head;
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
    this.#items.push({ r, events, bytes });
    this.#events += events;
    this.#bytes += bytes;
    if (this.length === 1 && this.#onReadable !== null && !this.#readableScheduled) {
      this.#readableScheduled = true;
      queueMicrotask(this.#fireReadable);
    }
  }

  /** end marks the queue finished: readers get what is queued, then undefined. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.length === 0) for (const w of this.#waiters.splice(0)) w(undefined);
  }

  /** clear drops everything queued and ends the queue (the consumer cancelled). */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#events = 0;
    this.#bytes = 0;
    this.end();
  }

  /** shift takes the oldest response, if any. */
  shift(): WatchResponse | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++] as { r: WatchResponse; events: number; bytes: number };
    this.#events -= item.events;
    this.#bytes -= item.bytes;
    if (this.#head > COMPACT_AFTER_SHIFTS && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#onConsumed();
    if (this.#ended && this.length === 0) for (const w of this.#waiters.splice(0)) w(undefined);
    return item.r;
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
    if (fn !== null && this.length > 0) queueMicrotask(() => (this.length > 0 ? this.#onReadable?.() : undefined));
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
