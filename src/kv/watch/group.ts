/**
 * group: a set of watcher registrations indexed for matching event keys — etcd's watcherGroup.
 * Single-key watchers sit in a map by key; range watchers in a list scanned per event (clients
 * such as the apiserver hold a few range watches, one per resource prefix).
 */

/** Span is a watched key range in latin1 string terms; end null = unbounded. */
export interface Span {
  readonly start: string;
  readonly end: string | null;
  readonly single: boolean;
}

/** Matchable is what the group needs of a registration. */
export interface Matchable {
  readonly span: Span;
}

/** WatcherGroup indexes registrations by the keys they watch. */
export class WatcherGroup<T extends Matchable> {
  readonly #byKey = new Map<string, Set<T>>();
  readonly #ranges = new Set<T>();
  #size = 0;

  /** size is the number of registrations. */
  get size(): number {
    return this.#size;
  }

  /** add inserts a registration. */
  add(w: T): void {
    if (w.span.single) {
      let set = this.#byKey.get(w.span.start);
      if (set === undefined) {
        set = new Set();
        this.#byKey.set(w.span.start, set);
      }
      if (set.has(w)) return;
      set.add(w);
    } else {
      if (this.#ranges.has(w)) return;
      this.#ranges.add(w);
    }
    this.#size++;
  }

  /** delete removes a registration; returns whether it was present. */
  delete(w: T): boolean {
    let removed: boolean;
    if (w.span.single) {
      const set = this.#byKey.get(w.span.start);
      removed = set?.delete(w) ?? false;
      if (set !== undefined && set.size === 0) this.#byKey.delete(w.span.start);
    } else {
      removed = this.#ranges.delete(w);
    }
    if (removed) this.#size--;
    return removed;
  }

  /** has says whether the registration is in the group. */
  has(w: T): boolean {
    return w.span.single ? (this.#byKey.get(w.span.start)?.has(w) ?? false) : this.#ranges.has(w);
  }

  /** match calls `fn` for every registration watching `key`. */
  match(key: string, fn: (w: T) => void): void {
    const set = this.#byKey.get(key);
    if (set !== undefined) for (const w of set) fn(w);
    for (const w of this.#ranges) {
      if (key >= w.span.start && (w.span.end === null || key < w.span.end)) fn(w);
    }
  }

  /** [Symbol.iterator] lists every registration. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const set of this.#byKey.values()) yield* set;
    yield* this.#ranges;
  }
}
