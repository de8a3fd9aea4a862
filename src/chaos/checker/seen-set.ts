/**
 * seen-set: the linearizability search's memory of configurations it has explored — pairs of
 * (set of operations linearized, register value). The set being built is kept as a bitset with
 * a Zobrist hash updated on every change; a stored configuration is compact, since at any point
 * of the search the required operations linearized are nearly a prefix (in invoke order): it
 * stores the first required operation not yet linearized, the bitset words from there to the
 * last one linearized, and the bitset of the optional (unknown-outcome) operations, which are
 * few once the checker has pruned them. A configuration of a history with 100,000 operations
 * on one key then costs tens of bytes, not 12 KB.
 *
 * NB: `add` and `remove` must come in stack order (remove undoes the latest add), which is how
 * the search uses them; the highest linearized index is restored from a stack.
 */

/** SeenSet tracks the current set of linearized operations and the configurations seen. */
export class SeenSet {
  readonly #index: Int32Array;
  readonly #optional: Uint8Array;
  readonly #req: Uint32Array;
  readonly #opt: Uint32Array;
  readonly #zobrist: Int32Array;
  readonly #maxBytes: number;
  #records = 0;
  #hash = 0;
  /** #low: the first required operation (dense index) not linearized. */
  #low = 0;
  /** #high: the highest required operation (dense index) linearized, or -1. */
  #high = -1;
  readonly #highs: number[] = [];
  readonly #buckets = new Map<number, number[]>();
  #pool = new Uint32Array(1 << 16);
  #used = 0;

  readonly #hashMask: number;

  /**
   * constructor: `optional[i]` says whether operation i may stay unlinearized; `maxBytes` bounds
   * the store. `hashMask` narrows the hash (tests use 0 to make every configuration collide, so
   * the exact comparison is what answers).
   */
  constructor(optional: readonly boolean[], maxBytes: number, hashMask = -1) {
    this.#hashMask = hashMask;
    const n = optional.length;
    this.#index = new Int32Array(n);
    this.#optional = new Uint8Array(n);
    let req = 0;
    let opt = 0;
    optional.forEach((o, i) => {
      this.#optional[i] = o ? 1 : 0;
      this.#index[i] = o ? opt++ : req++;
    });
    this.#req = new Uint32Array(((req + 31) >>> 5) + 1);
    this.#opt = new Uint32Array((opt + 31) >>> 5);
    this.#zobrist = new Int32Array(n);
    let x = 0x9e3779b9 | 0; // xorshift32, seeded: runs are reproducible
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#zobrist[i] = x;
    }
    this.#maxBytes = maxBytes;
  }

  /** add marks operation `op` linearized. */
  add(op: number): void {
    this.#hash ^= this.#zobrist[op]!;
    const i = this.#index[op]!;
    if (this.#optional[op] === 1) {
      this.#opt[i >>> 5] = this.#opt[i >>> 5]! | (1 << (i & 31));
      return;
    }
    this.#req[i >>> 5] = this.#req[i >>> 5]! | (1 << (i & 31));
    this.#highs.push(this.#high);
    if (i > this.#high) this.#high = i;
    if (i === this.#low) {
      let l = i + 1;
      while ((this.#req[l >>> 5]! & (1 << (l & 31))) !== 0) l++;
      this.#low = l;
    }
  }

  /** remove undoes the latest `add`, of operation `op`. */
  remove(op: number): void {
    this.#hash ^= this.#zobrist[op]!;
    const i = this.#index[op]!;
    if (this.#optional[op] === 1) {
      this.#opt[i >>> 5] = this.#opt[i >>> 5]! & ~(1 << (i & 31));
      return;
    }
    this.#req[i >>> 5] = this.#req[i >>> 5]! & ~(1 << (i & 31));
    this.#high = this.#highs.pop() ?? -1;
    if (i < this.#low) this.#low = i;
  }

  /** remember stores (current set, state); false if it was stored before. */
  remember(state: number): boolean {
    const h = (this.#hash ^ Math.imul(state + 1, 0x85ebca6b)) & this.#hashMask;
    const from = this.#low >>> 5;
    const to = Math.max(from, this.#high >> 5); // high is -1 when nothing required is linearized
    const len = to - from + 1;
    const opt = this.#opt;
    const req = this.#req;
    let bucket = this.#buckets.get(h);
    if (bucket !== undefined) {
      const pool = this.#pool;
      for (const at of bucket) {
        if (pool[at] !== state >>> 0 || pool[at + 1] !== this.#low || pool[at + 2] !== len) continue;
        let same = true;
        let p = at + 3;
        for (let w = from; same && w <= to; w++) same = pool[p++] === req[w];
        for (let w = 0; same && w < opt.length; w++) same = pool[p++] === opt[w];
        if (same) return false;
      }
    } else this.#buckets.set(h, (bucket = []));
    this.#records++;
    const size = 3 + len + opt.length;
    if (this.#used + size > this.#pool.length) {
      const grown = new Uint32Array(Math.max(this.#pool.length * 2, this.#used + size));
      grown.set(this.#pool);
      this.#pool = grown;
    }
    const pool = this.#pool;
    const at = this.#used;
    pool[at] = state >>> 0;
    pool[at + 1] = this.#low;
    pool[at + 2] = len;
    pool.set(req.subarray(from, to + 1), at + 3);
    pool.set(opt, at + 3 + len);
    this.#used += size;
    bucket.push(at);
    return true;
  }

  /** full says the store has outgrown its bound (an estimate: the pool plus ~80 bytes a bucket, 16 a record). */
  get full(): boolean {
    return this.#used * 4 + this.#buckets.size * 80 + this.#records * 16 > this.#maxBytes;
  }
}
