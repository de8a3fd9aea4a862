/**
 * read-only: the leader's queue of ReadIndex requests awaiting confirmation by a heartbeat
 * round (Raft thesis §6.4): a request is served once a quorum acknowledges a heartbeat that
 * carried its context (or a later one, since acknowledgements confirm every earlier request).
 */
import type { LogIndex, NodeId } from './types.js';

/** ReadRequest is one pending linearizable read. */
export interface ReadRequest {
  readonly index: LogIndex;
  readonly from: NodeId;
  readonly context: Uint8Array;
  readonly acks: Set<NodeId>;
}

/** contextKey turns a request context into a map key. */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

/** ReadOnlyQueue holds pending reads in arrival order. */
export class ReadOnlyQueue {
  readonly #pending = new Map<string, ReadRequest>();
  #queue: string[] = [];

  /** add enqueues a read at `index`; a duplicate context is ignored. */
  add(index: LogIndex, from: NodeId, context: Uint8Array): void {
    const key = contextKey(context);
    if (this.#pending.has(key)) return;
    this.#pending.set(key, { index, from, context, acks: new Set() });
    this.#queue.push(key);
  }

  /** recvAck records that `from` acknowledged the heartbeat carrying ctx; returns the acks so far. */
  recvAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | null {
    const req = this.#pending.get(contextKey(context));
    if (req === undefined) return null;
    req.acks.add(from);
    return req.acks;
  }

  /** advance removes and returns every request up to and including the one for ctx. */
  advance(context: Uint8Array): ReadRequest[] {
    const key = contextKey(context);
    const at = this.#queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.#queue.slice(0, at + 1);
    this.#queue = this.#queue.slice(at + 1);
    const out: ReadRequest[] = [];
    for (const k of keys) {
      const r = this.#pending.get(k);
      this.#pending.delete(k);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** lastContext is the context of the newest pending request, which heartbeats carry. */
  lastContext(): Uint8Array | null {
    const k = this.#queue[this.#queue.length - 1];
    return k === undefined ? null : this.#pending.get(k)!.context;
  }

  get size(): number {
    return this.#queue.length;
  }

  clear(): void {
    this.#pending.clear();
    this.#queue = [];
  }
}
