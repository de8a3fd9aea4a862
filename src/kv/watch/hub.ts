/**
 * hub: WatchHub, etcd's watchableStore. Watchers are either synced (they have seen every change
 * up to the store's revision and receive each new ChangeSet as it is applied) or unsynced
 * (behind: a catch-up step reads history from the store in chunks and moves them to synced once
 * they reach the current revision).
 *
 * NB: everything runs on one thread and a catch-up step is synchronous — it reads history up to
 * the current revision and joins the live stream in the same step — so no change can slip
 * between the two: each event reaches a watcher exactly once, in revision order.
 *
 * A slow consumer never slows down writes: a synced watcher whose unread events would exceed the
 * bound is cancelled with a reason (its queue still holds every revision before the cut, complete);
 * an unsynced one simply pauses catching up until its consumer reads.
 */

import { ERR_COMPACTED_MESSAGE, type ChangeSet, type KeyValue, type MvccEvent, type MvccStore } from '../mvcc/index.js';
import { WatcherGroup, type Span } from './group.js';
import { ResponseQueue, Watcher, type WatchEvent, type WatchRequest, type WatchResponse } from './watcher.js';

/** HUB_DEFAULTS are the WatchHubOptions limits used when an option is left out. */
const HUB_DEFAULTS = { maxPendingEvents: 10_000, maxPendingBytes: 64 * 1024 * 1024, catchUpEvents: 1_000, maxWatchersPerSync: 512 } as const;

/** WatchHubOptions tunes a WatchHub. */
export interface WatchHubOptions {
  /** maxPendingEvents bounds each watcher's unread events (default 10,000). */
  readonly maxPendingEvents?: number;
  /** maxPendingBytes bounds each watcher's unread event bytes (default 64 MiB). */
  readonly maxPendingBytes?: number;
  /** catchUpEvents is how many history events one catch-up step reads (default 1,000). */
  readonly catchUpEvents?: number;
  /** maxWatchersPerSync is how many unsynced watchers one catch-up step serves (default 512). */
  readonly maxWatchersPerSync?: number;
  /** schedule runs a catch-up step later (default setImmediate); tests pass a manual scheduler. */
  readonly schedule?: (task: () => void) => void;
}

interface Registration {
  readonly id: number;
  readonly span: Span;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  readonly queue: ResponseQueue;
  /** minRev is the next revision this watcher needs. */
  minRev: number;
  progressRequested: boolean;
  done: boolean;
}

const EVENT_OVERHEAD_BYTES = 64;

type EventsResponse = Extract<WatchResponse, { readonly type: 'events' }>;

/** eventBytes approximates the memory an event holds (the hub's limits and the service's fragments count in it). */
export function eventBytes(e: WatchEvent): number {
  let n = EVENT_OVERHEAD_BYTES + e.kv.key.length + e.kv.value.length;
  if (e.prev_kv !== undefined) n += e.prev_kv.key.length + e.prev_kv.value.length;
  return n;
}

/** eventsBytes is eventBytes summed over a list of events. */
export function eventsBytes(events: readonly WatchEvent[]): number {
  let n = 0;
  for (let i = 0; i < events.length; i++) n += eventBytes(events[i] as WatchEvent);
  return n;
}

function toSpan(key: Uint8Array, rangeEnd: Uint8Array | undefined): Span {
  const start = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: null, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null, single: false };
  return { start, end: Buffer.from(rangeEnd.buffer, rangeEnd.byteOffset, rangeEnd.byteLength).toString('latin1'), single: false };
}

/** WatchHub serves watches over one MvccStore. */
export class WatchHub {
  readonly #store: MvccStore;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #catchUpEvents: number;
  readonly #maxPerSync: number;
  readonly #schedule: (task: () => void) => void;
  readonly #synced = new WatcherGroup<Registration>();
  readonly #unsynced = new Set<Registration>();
  readonly #registrations = new WeakMap<Watcher, Registration>();
  readonly #subscription: { dispose(): void };
  #nextId = 1;
  #scheduled = false;
  #closed = false;

  /** constructor attaches the hub to a store; close() detaches it. */
  constructor(store: MvccStore, options: WatchHubOptions = {}) {
    this.#store = store;
    this.#maxEvents = options.maxPendingEvents ?? HUB_DEFAULTS.maxPendingEvents;
    this.#maxBytes = options.maxPendingBytes ?? HUB_DEFAULTS.maxPendingBytes;
    this.#catchUpEvents = options.catchUpEvents ?? HUB_DEFAULTS.catchUpEvents;
    this.#maxPerSync = options.maxWatchersPerSync ?? HUB_DEFAULTS.maxWatchersPerSync;
    this.#schedule = options.schedule ?? ((task) => void setImmediate(task));
    this.#subscription = store.subscribe({
      onChanges: (cs) => this.#notify(cs),
      onRestore: (prev) => this.#onRestore(prev),
    });
  }

  /** watcherCount is the number of active watchers; syncedCount those caught up. */
  get watcherCount(): number {
    return this.#synced.size + this.#unsynced.size;
  }

  /** syncedCount is the number of watchers receiving changes live. */
  get syncedCount(): number {
    return this.#synced.size;
  }

  /**
   * watch starts a watcher. With start_revision ≤ the current revision it first replays history
   * from there (or, if that was compacted, ends at once with a canceled response carrying
   * compact_revision); otherwise it sees changes from the next revision (or from start_revision).
   */
  watch(req: WatchRequest): Watcher {
    if (this.#closed) throw new Error('WatchHub is closed: create a new one');
    const id = this.#nextId++;
    const cur = this.#store.currentRevision;
    const start = req.start_revision ?? 0;
    const filters = req.filters ?? [];
    const queue = new ResponseQueue(() => this.#onConsumed(reg));
    const watcher = new Watcher(id, cur, queue, () => this.#cancelByClient(reg));
    const reg: Registration = {
      id,
      span: toSpan(req.key, req.range_end),
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      prevKv: req.prev_kv === true,
      progressNotify: req.progress_notify === true,
      queue,
      minRev: start <= 0 ? cur + 1 : start,
      progressRequested: false,
      done: false,
    };
    this.#registrations.set(watcher, reg);
    if (start <= 0 || start > cur) {
      this.#synced.add(reg);
    } else if (start < this.#store.compactedRevision) {
      this.#cancelCompacted(reg);
    } else {
      this.#unsynced.add(reg);
      this.#scheduleSync();
    }
    return watcher;
  }

  /**
   * requestProgress asks for a progress response (etcd's WatchProgressRequest): sent now if the
   * watcher is caught up, else as soon as it is.
   */
  requestProgress(watcher: Watcher): void {
    const reg = this.#registrations.get(watcher);
    if (reg === undefined || reg.done) return;
    if (this.#synced.has(reg)) this.#sendProgress(reg);
    else reg.progressRequested = true;
  }

  /**
   * progressNotify sends a progress response to every caught-up watcher that asked for
   * progress_notify and has nothing unread; the owner calls it on its own clock (etcd: every
   * 10 minutes). Returns how many were sent.
   */
  progressNotify(): number {
    let n = 0;
    for (const reg of this.#synced) {
      if (reg.progressNotify && reg.queue.length === 0) {
        this.#sendProgress(reg);
        n++;
      }
    }
    return n;
  }

  #sendProgress(reg: Registration): void {
    reg.progressRequested = false;
    reg.queue.push({ type: 'progress', revision: this.#store.currentRevision }, 0, EVENT_OVERHEAD_BYTES);
  }

  #remove(reg: Registration): void {
    reg.done = true;
    this.#synced.delete(reg);
    this.#unsynced.delete(reg);
  }

  #cancelByClient(reg: Registration): void {
    this.#remove(reg);
    reg.queue.clear();
  }

  #cancelCompacted(reg: Registration): void {
    this.#remove(reg);
    const compacted = this.#store.compactedRevision;
    reg.queue.push(
      { type: 'canceled', revision: this.#store.currentRevision, compact_revision: compacted, cancel_reason: ERR_COMPACTED_MESSAGE },
      0,
      EVENT_OVERHEAD_BYTES,
    );
    reg.queue.end();
  }

  #cancelSlow(reg: Registration, incoming: number): void {
    this.#remove(reg);
    const reason =
      `Watcher is too slow: ${reg.queue.events} unread events (${reg.queue.bytes} bytes) plus ${incoming} new ones exceed ` +
      `the limit of ${this.#maxEvents} events or ${this.#maxBytes} bytes; read faster and watch again from revision ${reg.minRev}`;
    reg.queue.push({ type: 'canceled', revision: this.#store.currentRevision, compact_revision: 0, cancel_reason: reason }, 0, EVENT_OVERHEAD_BYTES);
    reg.queue.end();
  }

  /** #fits says whether `events`/`bytes` more may be queued (a lone oversized revision always fits an empty queue). */
  #fits(reg: Registration, events: number, bytes: number): boolean {
    const q = reg.queue;
    if (q.events === 0 && q.length === 0) return true;
    return q.events + events <= this.#maxEvents && q.bytes + bytes <= this.#maxBytes;
  }

  #hasRoom(reg: Registration): boolean {
    return reg.queue.events < this.#maxEvents && reg.queue.bytes < this.#maxBytes;
  }

  #filter(reg: Registration, ev: MvccEvent): boolean {
    return ev.type === 'PUT' ? !reg.noPut : !reg.noDelete;
  }

  /** #prevOf reads the key's value just before the event (omitted if compacted away). */
  #prevOf(ev: MvccEvent): KeyValue | undefined {
    const res = this.#store.range({ key: ev.kv.key, revision: ev.kv.mod_revision - 1 });
    return res.ok ? res.value.kvs[0] : undefined;
  }

  #notify(cs: ChangeSet): void {
    if (this.#synced.size === 0) return;
    const only = cs.events.length === 1 ? cs.events[0] : undefined;
    if (only !== undefined) this.#notifyOne(cs.revision, only);
    else this.#notifyMany(cs);
  }

  /**
   * #notifyOne is #notifyMany for a change of one event (every put, most deletes): the watchers
   * that see it alike share one response object (at most two per change: with and without
   * prev_kv), so a change watched n times allocates no response, events array or event per
   * watcher. NB: queues are written after matching, as in #notifyMany, since cancelling a slow
   * watcher removes it from the group being matched.
   */
  #notifyOne(revision: number, ev: MvccEvent): void {
    const matched: Registration[] = [];
    this.#synced.match(ev.kv.key.toString('latin1'), (reg) => {
      if (revision >= reg.minRev && this.#filter(reg, ev)) matched.push(reg);
    });
    if (matched.length === 0) return;
    let plain: EventsResponse | null = null;
    let withPrev: EventsResponse | null = null;
    let prev: KeyValue | undefined | null = null; // null = not looked up yet
    const plainBytes = eventBytes(ev);
    let prevBytes = 0;
    for (const reg of matched) {
      if (reg.prevKv && prev === null) prev = this.#prevOf(ev);
      let r: EventsResponse;
      let bytes: number;
      if (reg.prevKv && prev !== null && prev !== undefined) {
        // NB: one object per change for all watchers alike, so consumers can cache its encoding.
        if (withPrev === null) {
          const e: WatchEvent = { type: ev.type, kv: ev.kv, prev_kv: prev };
          withPrev = { type: 'events', revision, events: [e] };
          prevBytes = eventBytes(e);
        }
        r = withPrev;
        bytes = prevBytes;
      } else {
        r = plain ??= { type: 'events', revision, events: [ev] };
        bytes = plainBytes;
      }
      if (!this.#fits(reg, 1, bytes)) {
        reg.minRev = revision;
        this.#cancelSlow(reg, 1);
        continue;
      }
      reg.queue.push(r, 1, bytes);
    }
  }

  #notifyMany(cs: ChangeSet): void {
    const batches = new Map<Registration, WatchEvent[]>();
    for (const ev of cs.events) {
      const key = ev.kv.key.toString('latin1');
      let prev: KeyValue | undefined | null = null; // null = not looked up yet
      let withPrev: WatchEvent | null = null;
      this.#synced.match(key, (reg) => {
        if (cs.revision < reg.minRev || !this.#filter(reg, ev)) return;
        let out: WatchEvent = ev;
        if (reg.prevKv) {
          if (prev === null) prev = this.#prevOf(ev);
          // NB: one object per change for all watchers alike, so consumers can cache its encoding.
          if (prev !== undefined) out = withPrev ??= { type: ev.type, kv: ev.kv, prev_kv: prev };
        }
        const list = batches.get(reg);
        if (list === undefined) batches.set(reg, [out]);
        else list.push(out);
      });
    }
    for (const [reg, events] of batches) {
      const bytes = eventsBytes(events);
      if (!this.#fits(reg, events.length, bytes)) {
        reg.minRev = cs.revision;
        this.#cancelSlow(reg, events.length);
        continue;
      }
      reg.queue.push({ type: 'events', revision: cs.revision, events }, events.length, bytes);
    }
  }

  #onConsumed(reg: Registration): void {
    if (!reg.done && this.#unsynced.has(reg) && this.#hasRoom(reg)) this.#scheduleSync();
  }

  #onRestore(previousRevision: number): void {
    // Synced watchers have seen everything up to the old revision; catch them up from the new state.
    for (const reg of [...this.#synced]) {
      this.#synced.delete(reg);
      reg.minRev = Math.max(reg.minRev, previousRevision + 1);
      this.#unsynced.add(reg);
    }
    this.#scheduleSync();
  }

  #scheduleSync(): void {
    if (this.#scheduled || this.#closed || this.#unsynced.size === 0) return;
    this.#scheduled = true;
    this.#schedule(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      if (this.syncStep()) this.#scheduleSync();
    });
  }

  #moveToSynced(reg: Registration): void {
    this.#unsynced.delete(reg);
    this.#synced.add(reg);
    if (reg.progressRequested) this.#sendProgress(reg);
  }

  /**
   * syncStep runs one catch-up step now: up to maxWatchersPerSync unsynced watchers get up to
   * catchUpEvents events of history. Returns whether another step could make progress now.
   * Normally scheduled by the hub itself; tests call it directly.
   */
  syncStep(): boolean {
    if (this.#closed || this.#unsynced.size === 0) return false;
    const store = this.#store;
    const cur = store.currentRevision;
    const compacted = store.compactedRevision;
    const batch: Registration[] = [];
    for (const reg of [...this.#unsynced]) {
      if (batch.length >= this.#maxPerSync) break;
      if (reg.minRev < compacted) this.#cancelCompacted(reg);
      else if (reg.minRev > cur) this.#moveToSynced(reg);
      else if (this.#hasRoom(reg)) batch.push(reg);
    }
    if (batch.length === 0) return false;
    let minRev = Infinity;
    for (const reg of batch) minRev = Math.min(minRev, reg.minRev);
    const read = store.readEvents(minRev, this.#catchUpEvents);
    if (!read.ok) {
      // Unreachable while minRev ≥ compacted was checked above; cancel rather than loop.
      for (const reg of batch) this.#cancelCompacted(reg);
      return false;
    }
    const { events, nextRev } = read.value;
    for (const reg of batch) this.#deliverHistory(reg, events, nextRev, cur);
    for (const reg of this.#unsynced) if (this.#hasRoom(reg)) return true;
    return false;
  }

  #deliverHistory(reg: Registration, events: readonly MvccEvent[], nextRev: number, cur: number): void {
    const out: WatchEvent[] = [];
    let outBytes = 0;
    let i = 0;
    let stoppedAt = nextRev;
    while (i < events.length) {
      const rev = (events[i] as MvccEvent).kv.mod_revision;
      let j = i;
      const group: WatchEvent[] = [];
      let groupBytes = 0;
      for (; j < events.length && (events[j] as MvccEvent).kv.mod_revision === rev; j++) {
        const ev = events[j] as MvccEvent;
        if (rev < reg.minRev || !this.#filter(reg, ev)) continue;
        const key = ev.kv.key.toString('latin1');
        const { start, end, single } = reg.span;
        if (single ? key !== start : key < start || (end !== null && key >= end)) continue;
        let e: WatchEvent = ev;
        if (reg.prevKv) {
          const prev = this.#prevOf(ev);
          if (prev !== undefined) e = { type: ev.type, kv: ev.kv, prev_kv: prev };
        }
        group.push(e);
        groupBytes += eventBytes(e);
      }
      if (group.length > 0) {
        const q = reg.queue;
        const fits =
          (q.events === 0 && q.length === 0 && out.length === 0) ||
          (q.events + out.length + group.length <= this.#maxEvents && q.bytes + outBytes + groupBytes <= this.#maxBytes);
        if (!fits) {
          stoppedAt = rev;
          break;
        }
        for (const e of group) out.push(e);
        outBytes += groupBytes;
      }
      i = j;
    }
    if (out.length > 0) reg.queue.push({ type: 'events', revision: cur, events: out }, out.length, outBytes);
    reg.minRev = Math.max(reg.minRev, stoppedAt);
    if (reg.minRev > cur) this.#moveToSynced(reg);
  }

  /** close cancels every watcher (their readers see the end) and detaches from the store. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription.dispose();
    for (const reg of [...this.#synced, ...this.#unsynced]) {
      this.#remove(reg);
      reg.queue.end();
    }
  }
}
