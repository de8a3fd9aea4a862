/**
 * read-context: the ReadIndex context the driver puts on each read round — member id,
 * incarnation, sequence — and its map key. The context must be unique cluster-wide and across
 * restarts: the leader deduplicates pending reads by it, and a late answer must never match a
 * newer read.
 */

/** READ_CONTEXT_BYTES is a ReadIndex context's size: member id, incarnation, sequence (8 bytes each). */
export const READ_CONTEXT_BYTES = 24;

/**
 * readContext builds the ReadIndex context of one read round. A round that serves a sampled
 * read (bench kv --trace) has a negative sequence, so every member can tell it by its sign bit
 * (isTracedReadContext in trace.ts) without a byte more on the wire.
 */
export function readContext(id: number, incarnation: Uint8Array, seq: number): Uint8Array {
  const ctx = new Uint8Array(READ_CONTEXT_BYTES);
  const view = new DataView(ctx.buffer);
  view.setFloat64(0, id, true);
  ctx.set(incarnation.subarray(0, 8), 8);
  view.setFloat64(16, seq, true);
  return ctx;
}

/** contextKey is a context's key in maps (and a sampled read's trace key): its bytes in hex. */
export function contextKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('hex');
}
