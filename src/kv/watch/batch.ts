/**
 * batch: a list filled and emptied over and over on the watch fan-out path (the queues to tell
 * in one microtask, one turn's responses of a stream), that keeps its room between uses.
 *
 * A fresh array per use, or `length = 0` (V8 then drops the array's backing store), grows its
 * store again each time: for one change reaching 33 watchers, five stores and about a kilobyte
 * per list. A Batch keeps its store and clears the slots it used, so its items are not held past
 * `clear`.
 */
export class Batch<T> {
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  /** size is how many items the batch holds. */
  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size < this.#items.length) this.#items[this.#size] = item;
    else this.#items.push(item);
    this.#size++;
  }

  /** at is item `i` (0 ≤ i < size). */
  at(i: number): T {
    if (i < 0 || i >= this.#size) throw new RangeError(`Batch index ${i} is outside 0..${this.#size - 1}`);
    return this.#items[i] as T;
  }

  /** clear empties the batch, keeping its room. */
  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#items[i] = undefined;
    this.#size = 0;
  }
}
