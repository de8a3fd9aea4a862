/**
 * linearizability: decides whether a history of register operations is linearizable, key by
 * key (P-compositionality: a history is linearizable iff each key's sub-history is), with the
 * Wing–Gong search as Porcupine does it:
 *
 * - each operation becomes a call entry and a return entry, sorted by time (at equal times calls
 *   come first, so touching operations count as concurrent), in a doubly linked list;
 * - the search walks the list from its head: at a call it tries to apply the operation to the
 *   register; if the register accepts it and the pair (set of operations linearized, register
 *   value) was never seen before, the operation is linearized, its two entries are lifted out of
 *   the list and the walk restarts from the head; at a return entry (an operation that had to be
 *   linearized by now and was not) it backtracks: the last linearized operation is put back and
 *   the walk goes on just after its call;
 * - the seen pairs are a hash set (Zobrist hash of the set, exact comparison on collision, a
 *   compact record per pair: see seen-set.ts), so no configuration is explored twice.
 *
 * `info` and never-completed operations (outcome unknown) have no return entry: they may be
 * linearized at any point after their invoke, or never. The search succeeds once every
 * operation that has to be linearized (the `ok` ones) is. Unknown reads constrain nothing and
 * are dropped, as are `fail` operations (they certainly did not take effect). An unknown write
 * or cas whose new value no read and no cas ever observed is dropped too: placing it can never
 * be needed, so dropping it does not change the verdict, and it keeps the search small. And an
 * unknown write whose value (written by no other operation) an acknowledged operation observed
 * certainly took effect before that observer returned: it is treated as an operation that
 * returned then. Without these two rules every open `info` write is a choice at every step and
 * the search grows exponentially in the number of them.
 *
 * The search is a loop with explicit stacks (no recursion), checks the clock every 1,024 steps
 * against the time limit and bounds the memory of its seen-set; when either runs out the key
 * (and the whole history, unless another key is already proven bad) is `unknown`, never a
 * guess. When a key is not linearizable, the search is replayed (it is deterministic) to find
 * its deepest point, and the counterexample is the window there: the operation whose return
 * could not be reached, with the operations concurrent with it.
 */
import type { Operation, Value } from '../history.js';
import { SeenSet } from './seen-set.js';

/** Verdict of a check: `unknown` means the time or memory limit ran out first. */
export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

/** UnknownReason says which limit ran out. */
export type UnknownReason = 'time-limit' | 'memory-limit';

/** CheckOptions bounds the search. */
export interface CheckOptions {
  /** timeLimitMs is the wall-clock budget for the whole history. */
  readonly timeLimitMs: number;
  /** maxCacheBytes bounds the seen-set of one key (default 256 MiB). */
  readonly maxCacheBytes?: number;
  /** now is the clock in milliseconds (default performance.now). */
  readonly now?: () => number;
}

/**
 * Counterexample is the window where the search got stuck on one key: after linearizing
 * `linearized` of `total` operations (the most it ever managed), with the register holding
 * `register`, the operation `stuck` had to be linearized (its return was reached) and no
 * order of the operations still pending could place it.
 */
export interface Counterexample {
  readonly key: string;
  readonly linearized: number;
  readonly total: number;
  readonly register: Value;
  readonly stuck: Operation;
  /** pending: the operations not yet linearized that were invoked before `stuck` returned, by invoke time (includes `stuck`). */
  readonly pending: readonly Operation[];
  /** placed: operations already linearized at that point whose intervals overlap `stuck`'s, by invoke time. */
  readonly placed: readonly Operation[];
}

/** KeyVerdict is the verdict on one key's sub-history; `ops` counts its operations. */
export type KeyVerdict =
  | { readonly key: string; readonly ops: number; readonly verdict: 'linearizable' }
  | { readonly key: string; readonly ops: number; readonly verdict: 'not-linearizable'; readonly counterexample: Counterexample }
  | { readonly key: string; readonly ops: number; readonly verdict: 'unknown'; readonly reason: UnknownReason };

/** LinearizabilityResult is the verdict on a whole history. */
export interface LinearizabilityResult {
  /** verdict: not-linearizable if any key is; else unknown if any key is; else linearizable. */
  readonly verdict: Verdict;
  readonly keys: readonly KeyVerdict[];
  /** counterexample: the first non-linearizable key's window, if any. */
  readonly counterexample: Counterexample | null;
  readonly elapsedMs: number;
  /** steps: search steps taken over all keys. */
  readonly steps: number;
}

const READ = 0;
const WRITE = 1;
const CAS = 2;

/** A prepared operation of one key; values are interned to small integers (null is 0). */
interface KOp {
  readonly op: Operation;
  readonly kind: typeof READ | typeof WRITE | typeof CAS;
  readonly a: number;
  readonly b: number;
  readonly call: number;
  readonly ret: number;
  readonly optional: boolean;
}

type Search =
  | { readonly kind: 'linearizable'; readonly steps: number }
  | { readonly kind: 'stuck'; readonly steps: number; readonly deepest: Deepest | null }
  | { readonly kind: 'unknown'; readonly steps: number; readonly reason: UnknownReason };

interface Deepest {
  readonly linearized: readonly number[];
  readonly state: number;
  readonly stuck: number;
}

const DEFAULT_MAX_CACHE_BYTES = 256 * 1024 * 1024;
const CLOCK_EVERY = 1024;

/** checkLinearizability checks a whole history (operations of any keys) against a register per key. */
export function checkLinearizability(ops: readonly Operation[], o: CheckOptions): LinearizabilityResult {
  const now = o.now ?? (() => performance.now());
  const start = now();
  const deadline = start + o.timeLimitMs;
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys: KeyVerdict[] = [];
  let steps = 0;
  for (const [key, list] of [...byKey].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    if (now() > deadline) {
      keys.push({ key, ops: list.length, verdict: 'unknown', reason: 'time-limit' });
      continue;
    }
    const { kops, values } = prepare(list);
    const r = search(kops, { deadline, now, maxCacheBytes: o.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES, record: false, maxSteps: Infinity });
    steps += r.steps;
    if (r.kind === 'linearizable') keys.push({ key, ops: list.length, verdict: 'linearizable' });
    else if (r.kind === 'unknown') keys.push({ key, ops: list.length, verdict: 'unknown', reason: r.reason });
    else {
      // The search is deterministic: replay it, this time keeping its deepest point.
      const replay = search(kops, { deadline: Infinity, now, maxCacheBytes: Infinity, record: true, maxSteps: r.steps });
      const deepest = replay.kind === 'stuck' ? replay.deepest : null;
      keys.push({ key, ops: list.length, verdict: 'not-linearizable', counterexample: window(key, kops, values, deepest) });
    }
  }
  const bad = keys.find((k) => k.verdict === 'not-linearizable');
  const verdict: Verdict = bad !== undefined ? 'not-linearizable' : keys.some((k) => k.verdict === 'unknown') ? 'unknown' : 'linearizable';
  return { verdict, keys, counterexample: bad?.verdict === 'not-linearizable' ? bad.counterexample : null, elapsedMs: now() - start, steps };
}

function prepare(list: readonly Operation[]): { kops: KOp[]; values: Value[] } {
  // Strings get an `s` prefix, other scalars their JSON text: "1" and 1 stay apart.
  const ids = new Map<string, number>([['null', 0]]);
  const values: Value[] = [null];
  const intern = (v: Value): number => {
    const k = typeof v === 'string' ? `s${v}` : JSON.stringify(v);
    let id = ids.get(k);
    if (id === undefined) {
      id = values.length;
      ids.set(k, id);
      values.push(v);
    }
    return id;
  };
  let kops: KOp[] = [];
  for (const op of list) {
    const c = op.completion;
    if (c.type === 'fail') continue;
    const optional = c.type === 'info' || c.type === 'open';
    const ret = c.type === 'ok' ? c.time : Infinity;
    const base = { op, call: op.invokeTime, ret, optional };
    switch (op.call.f) {
      case 'read':
        if (c.type === 'ok') kops.push({ ...base, kind: READ, a: intern(c.read), b: 0 });
        break;
      case 'write':
        kops.push({ ...base, kind: WRITE, a: intern(op.call.value), b: 0 });
        break;
      case 'cas':
        kops.push({ ...base, kind: CAS, a: intern(op.call.expected), b: intern(op.call.next) });
        break;
    }
  }
  // Drop unknown writes and cas whose new value nothing observes (see the header); dropping a
  // cas can leave another unobserved, hence the loop.
  for (;;) {
    const observed = new Set<number>();
    for (const k of kops) if (k.kind === READ || k.kind === CAS) observed.add(k.a);
    const kept = kops.filter((k) => !k.optional || observed.has(k.kind === WRITE ? k.a : k.b));
    if (kept.length === kops.length) break;
    kops = kept;
  }
  // An unknown write or cas whose new value no other operation writes, and that an acknowledged
  // operation observed, certainly took effect before that observer returned: it becomes
  // required, returning then. Null is also the initial value, so it is left alone.
  const writers = new Map<number, number>();
  const observedBy = new Map<number, number>();
  for (const k of kops) {
    if (k.kind !== READ) writers.set(k.kind === WRITE ? k.a : k.b, (writers.get(k.kind === WRITE ? k.a : k.b) ?? 0) + 1);
    if (!k.optional && k.kind !== WRITE) observedBy.set(k.a, Math.min(observedBy.get(k.a) ?? Infinity, k.ret));
  }
  kops = kops.map((k) => {
    if (!k.optional || k.kind === READ) return k;
    const v = k.kind === WRITE ? k.a : k.b;
    const by = observedBy.get(v);
    if (v === 0 || by === undefined || writers.get(v) !== 1) return k;
    return { ...k, optional: false, ret: Math.max(by, k.call) };
  });
  return { kops, values };
}

function applyOp(state: number, k: KOp): number {
  switch (k.kind) {
    case READ:
      return state === k.a ? state : -1;
    case WRITE:
      return k.a;
    case CAS:
      return state === k.a ? k.b : -1;
  }
}

interface SearchOptions {
  readonly deadline: number;
  readonly now: () => number;
  readonly maxCacheBytes: number;
  readonly record: boolean;
  readonly maxSteps: number;
}

function search(kops: readonly KOp[], o: SearchOptions): Search {
  const n = kops.length;
  let remaining = 0;
  for (const k of kops) if (!k.optional) remaining++;
  if (remaining === 0) return { kind: 'linearizable', steps: 0 };

  // Entries 1..E; 0 is the head sentinel; -1 ends the list.
  const order: { op: number; call: boolean; time: number }[] = [];
  kops.forEach((k, i) => {
    order.push({ op: i, call: true, time: k.call });
    if (!k.optional) order.push({ op: i, call: false, time: k.ret });
  });
  order.sort((x, y) => x.time - y.time || (x.call === y.call ? x.op - y.op : x.call ? -1 : 1));
  const E = order.length;
  const next = new Int32Array(E + 1);
  const prev = new Int32Array(E + 1);
  const entryOp = new Int32Array(E + 1);
  const isCall = new Uint8Array(E + 1);
  const retOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < E; i++) {
    const e = order[i]!;
    const idx = i + 1;
    entryOp[idx] = e.op;
    isCall[idx] = e.call ? 1 : 0;
    if (!e.call) retOf[e.op] = idx;
    prev[idx] = i;
    next[idx] = idx < E ? idx + 1 : -1;
  }
  next[0] = E > 0 ? 1 : -1;
  const lift = (e: number): void => {
    next[prev[e]!] = next[e]!;
    if (next[e]! !== -1) prev[next[e]!] = prev[e]!;
    const r = retOf[entryOp[e]!]!;
    if (r !== -1) {
      next[prev[r]!] = next[r]!;
      if (next[r]! !== -1) prev[next[r]!] = prev[r]!;
    }
  };
  const unlift = (e: number): void => {
    const r = retOf[entryOp[e]!]!;
    if (r !== -1) {
      if (next[r]! !== -1) prev[next[r]!] = r;
      next[prev[r]!] = r;
    }
    if (next[e]! !== -1) prev[next[e]!] = e;
    next[prev[e]!] = e;
  };

  const seen = new SeenSet(
    kops.map((k) => k.optional),
    o.maxCacheBytes,
  );

  const stackEntry: number[] = [];
  const stackState: number[] = [];
  /** stackForced: the frame is a read placed greedily; if it fails, so does the frame below. */
  const stackForced: boolean[] = [];
  let state = 0;
  let entry = next[0];
  let steps = 0;
  let deepest: Deepest | null = null;
  let backtrack = false;
  for (;;) {
    if (remaining === 0) return { kind: 'linearizable', steps };
    steps++;
    if (steps > o.maxSteps) return { kind: 'stuck', steps, deepest };
    if (steps % CLOCK_EVERY === 0 && o.now() > o.deadline) return { kind: 'unknown', steps, reason: 'time-limit' };
    if (!backtrack && entry !== -1 && isCall[entry] === 1) {
      const op = entryOp[entry]!;
      const k = kops[op]!;
      const s2 = applyOp(state, k);
      if (s2 >= 0) {
        seen.add(op);
        if (seen.remember(s2)) {
          if (seen.full) return { kind: 'unknown', steps, reason: 'memory-limit' };
          stackEntry.push(entry);
          stackState.push(state);
          // NB: a read that fits the register can always be placed first: it changes nothing,
          // and no operation still pending returned before it was invoked. So if any order
          // completes from here, one starts with this read; no other choice needs trying here.
          stackForced.push(k.kind === READ);
          state = s2;
          lift(entry);
          if (!k.optional) remaining--;
          entry = next[0]!;
          continue;
        }
        seen.remove(op);
        // Seen already and not a success, so it failed; for a read that means this one fails.
        if (k.kind === READ) {
          backtrack = true;
          continue;
        }
      }
      entry = next[entry]!;
      continue;
    }
    // A return entry (the operation had to be linearized by now and was not), or a forced
    // backtrack, or defensively the end of the list: undo the latest placement.
    if (o.record && !backtrack && entry !== -1 && (deepest === null || stackEntry.length > deepest.linearized.length)) {
      deepest = { linearized: stackEntry.map((e) => entryOp[e]!), state, stuck: entryOp[entry]! };
    }
    const e = stackEntry.pop();
    const s = stackState.pop();
    const forced = stackForced.pop();
    if (e === undefined || s === undefined) return { kind: 'stuck', steps, deepest };
    const op = entryOp[e]!;
    seen.remove(op);
    state = s;
    unlift(e);
    if (!kops[op]!.optional) remaining++;
    backtrack = forced === true;
    entry = next[e]!;
  }
}

function window(key: string, kops: readonly KOp[], values: readonly Value[], d: Deepest | null): Counterexample {
  const byInvoke = (x: Operation, y: Operation): number => x.invokeTime - y.invokeTime || x.id - y.id;
  if (d === null) {
    // Not reached in practice (a stuck search always passes a return entry); say what we know.
    const first = kops.find((k) => !k.optional) ?? kops[0]!;
    return { key, linearized: 0, total: kops.length, register: null, stuck: first.op, pending: kops.map((k) => k.op).sort(byInvoke), placed: [] };
  }
  const stuck = kops[d.stuck]!;
  const done = new Set(d.linearized);
  const pending: Operation[] = [];
  const placed: Operation[] = [];
  kops.forEach((k, i) => {
    if (!done.has(i)) {
      if (k.call <= stuck.ret) pending.push(k.op);
    } else if (k.call <= stuck.ret && k.ret >= stuck.call) placed.push(k.op);
  });
  return {
    key,
    linearized: d.linearized.length,
    total: kops.length,
    register: values[d.state] ?? null,
    stuck: stuck.op,
    pending: pending.sort(byInvoke),
    placed: placed.sort(byInvoke),
  };
}
