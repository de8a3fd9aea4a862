/**
 * reads: the linearizability check of ReadIndex reads in real-time order. A read is registered
 * when it is invoked (before readIndex() is called: a leader may answer at once) with three
 * bounds, and the index its ReadState returns must reach each of them:
 *
 * - the highest commit index any member ever knew (in memory, persisted or not, including
 *   members that crashed since: what a crashed leader knew committed stays committed);
 * - the index of every write acknowledged before the read was invoked;
 * - the index every read that completed before it was invoked returned.
 */
import type { NodeId } from '../../src/raft/types.js';
import { InvariantViolation } from './invariants.js';

interface PendingRead {
  readonly node: NodeId;
  readonly step: number;
  readonly minCommit: number;
  readonly minAck: number;
  readonly minRead: number;
}

/** ReadChecker holds the reads in flight and the high-water marks they are checked against. */
export class ReadChecker {
  readonly #pending = new Map<string, PendingRead>();
  #commitHigh = 0;
  #ackHigh = 0;
  #readHigh = 0;
  /** served counts the ReadStates checked. */
  served = 0;

  /** commitHigh is the highest commit index any member ever knew. */
  get commitHigh(): number {
    return this.#commitHigh;
  }

  /** noteCommit records that some member knows `commit` committed. */
  noteCommit(commit: number): void {
    if (commit > this.#commitHigh) this.#commitHigh = commit;
  }

  /** noteAck records a write acknowledged at `index`. */
  noteAck(index: number): void {
    if (index > this.#ackHigh) this.#ackHigh = index;
  }

  /** start registers read `ctx`, invoked at node `node` at `step`, with the bounds as they stand. */
  start(ctx: string, node: NodeId, step: number): void {
    this.#pending.set(ctx, { node, step, minCommit: this.#commitHigh, minAck: this.#ackHigh, minRead: this.#readHigh });
  }

  /** has tells whether read `ctx` was started and has not completed. */
  has(ctx: string): boolean {
    return this.#pending.has(ctx);
  }

  /** cancel forgets a read the node refused. */
  cancel(ctx: string): void {
    this.#pending.delete(ctx);
  }

  /**
   * complete checks the ReadState of `ctx` (returning `index`) against its bounds; it returns
   * false for a context this checker did not start, and throws InvariantViolation on a breach.
   */
  complete(ctx: string, index: number): boolean {
    const want = this.#pending.get(ctx);
    if (want === undefined) return false;
    this.#pending.delete(ctx);
    this.served++;
    const started = `read ${ctx} at node ${want.node}, invoked at step ${want.step},`;
    if (index < want.minCommit) {
      throw new InvariantViolation('read-linearizability', `${started} got read index ${index}, but index ${want.minCommit} was known committed when it was invoked`);
    }
    if (index < want.minAck) {
      throw new InvariantViolation('read-linearizability', `${started} got read index ${index}, but a write at ${want.minAck} was acknowledged before it was invoked`);
    }
    if (index < want.minRead) {
      throw new InvariantViolation('read-linearizability', `${started} got read index ${index}, older than the index ${want.minRead} a read that completed before it returned`);
    }
    if (index > this.#readHigh) this.#readHigh = index;
    return true;
  }
}
