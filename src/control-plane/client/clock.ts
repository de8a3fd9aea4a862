/**
 * clock: the client machinery's only source of time. The work queue, the informer's backoff
 * and leader election take a `Clock`, so production code runs on Node's timers and tests run
 * on a `VirtualClock` that moves only when the test says so.
 */

/** TimerHandle is a scheduled callback; pass it to `Clock.clearTimeout` to cancel it. */
export interface TimerHandle {
  /** cancel stops the callback from running (a no-op once it ran). */
  readonly cancel: () => void;
}

/** Clock gives monotonic milliseconds and one-shot timers. */
export interface Clock {
  /** now returns monotonic milliseconds (not wall-clock time). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

/**
 * systemClock is the production Clock: `performance.now()` and Node timers, unref'd so that a
 * pending retry never keeps a process alive on its own.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  clearTimeout(h) {
    h.cancel();
  },
};

interface VirtualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** flushAsync lets every promise continuation that is already runnable run (one macrotask turn). */
export function flushAsync(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * VirtualClock is a Clock for tests: time stands still until `advance(ms)`, which runs the
 * timers that fall due in order of due time (ties in scheduling order), letting pending
 * promise continuations settle between timers, so async loops driven by it behave as they
 * would in real time, only instantly and deterministically.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: VirtualTimer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  clearTimeout(h: TimerHandle): void {
    h.cancel();
  }

  /** pending counts timers that are scheduled and not cancelled (for leak checks). */
  pending(): number {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    return this.#timers.length;
  }

  #next(limit: number): VirtualTimer | undefined {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    let best: VirtualTimer | undefined;
    for (const t of this.#timers) {
      if (t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  /**
   * advance moves time forward by `ms`, running every timer due on the way (including timers
   * those timers schedule), and settles pending promise continuations before and after each.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await flushAsync();
      const t = this.#next(target);
      if (t === undefined) break;
      t.cancelled = true;
      this.#now = Math.max(this.#now, t.due);
      t.fn();
    }
    this.#now = target;
    await flushAsync();
  }
}
