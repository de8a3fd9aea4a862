/**
 * scheduler: the simulator's virtual time for real drivers. SimScheduler keeps the timers and
 * deferred callbacks of every simulated member on one virtual clock (milliseconds that advance
 * only when the simulator says so) and hands each member incarnation its own Clock. Killing an
 * incarnation (a crash) drops its timers and deferred work and ignores any it asks for later,
 * as a dead process would. Timers due at one instant fire in the order they were set; deferred
 * callbacks run in the order they were queued, so a seed replays exactly.
 */
import type { Clock, Disposable } from '../../src/raft/driver.js';

interface Timer {
  readonly seq: number;
  readonly owner: ClockOwner;
  readonly fn: () => void;
  readonly every: number;
  at: number;
  cancelled: boolean;
}

/** ClockOwner is one member incarnation's share of the scheduler. */
export class ClockOwner {
  #alive = true;

  constructor(readonly label: string) {}

  /** alive tells whether the incarnation may still run timers and deferred work. */
  get alive(): boolean {
    return this.#alive;
  }

  /** kill stops the incarnation's timers and deferred work for good. */
  kill(): void {
    this.#alive = false;
  }
}

/** SimScheduler is the virtual clock shared by every simulated driver. */
export class SimScheduler {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];
  #deferred: { readonly owner: ClockOwner; readonly fn: () => void }[] = [];

  /** now is the virtual time in milliseconds. */
  get now(): number {
    return this.#now;
  }

  /** pendingDeferred is the number of deferred callbacks waiting to run. */
  get pendingDeferred(): number {
    return this.#deferred.length;
  }

  /** advanceTo moves virtual time forward to `t` (it never goes back); fire due timers with fireDue. */
  advanceTo(t: number): void {
    if (t < this.#now) throw new RangeError(`Virtual time cannot go back from ${this.#now} to ${t}`);
    this.#now = t;
  }

  /** clockFor returns the Clock of one incarnation; its timers die with `owner`. */
  clockFor(owner: ClockOwner): Clock {
    const add = (fn: () => void, ms: number, every: number): Disposable => {
      if (!owner.alive) return { dispose: () => undefined };
      const t: Timer = { seq: ++this.#seq, owner, fn, every, at: this.#now + Math.max(1, Math.ceil(ms)), cancelled: false };
      this.#timers.push(t);
      return {
        dispose: () => {
          t.cancelled = true;
        },
      };
    };
    return {
      now: () => this.#now,
      setTimeout: (fn, ms) => add(fn, ms, 0),
      setInterval: (fn, ms) => add(fn, ms, Math.max(1, Math.ceil(ms))),
      defer: (fn) => {
        if (owner.alive) this.#deferred.push({ owner, fn });
      },
    };
  }

  /**
   * fireDue runs every timer due at the current time, earliest first and in the order set at
   * one instant; intervals are re-armed. Returns how many fired.
   */
  fireDue(): number {
    let fired = 0;
    for (;;) {
      let next: Timer | null = null;
      for (const t of this.#timers) {
        if (t.cancelled || !t.owner.alive || t.at > this.#now) continue;
        if (next === null || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
      }
      if (next === null) break;
      if (next.every > 0) next.at += next.every;
      else next.cancelled = true;
      fired++;
      next.fn();
    }
    if (fired > 0 || this.#timers.length > 64) this.#timers = this.#timers.filter((t) => !t.cancelled && t.owner.alive);
    return fired;
  }

  /** runDeferred runs the deferred callbacks queued so far (not those they queue); returns how many ran. */
  runDeferred(): number {
    const q = this.#deferred;
    this.#deferred = [];
    let ran = 0;
    for (const d of q) {
      if (!d.owner.alive) continue;
      ran++;
      d.fn();
    }
    return ran;
  }
}

/**
 * settleMicrotasks waits until every promise continuation queued so far has run. NB: the
 * simulation performs no real I/O, so all of its asynchronous work is promise continuations
 * (microtasks), and Node runs every microtask before the next macrotask: one setImmediate
 * round is a point at which that work has reached a fixed point, in a deterministic order.
 */
export function settleMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
