/**
 * expectations: what a controller is waiting to see after fan-out creates and deletes, as
 * Kubernetes' ControllerExpectations. Before creating n pods the controller records that it
 * expects n additions; each pod the informer then shows lowers the count. While a key has
 * unmet expectations its controller does not act on the (possibly stale) cache, so it never
 * creates twice. Deletions are tracked by pod key, so the same deletion observed twice (an
 * update with a deletionTimestamp, then the delete) counts once. Expectations expire after a
 * TTL, so a lost watch event cannot wedge a controller for good.
 */
import type { Clock } from '../client/clock.js';

interface Expectation {
  adds: number;
  readonly deletes: Set<string>;
  readonly since: number;
}

/** EXPECTATIONS_TTL_MS is how long expectations are trusted (Kubernetes: 5 minutes). */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

/** Expectations tracks pending creations and deletions per controller key. */
export class Expectations {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #byKey = new Map<string, Expectation>();

  constructor(clock: Clock, ttlMs = EXPECTATIONS_TTL_MS) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** satisfied says whether the key may act: nothing pending, or the expectations expired. */
  satisfied(key: string): boolean {
    const e = this.#byKey.get(key);
    if (e === undefined) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.#clock.now() - e.since > this.#ttlMs;
  }

  /** expect records that `adds` creations and the deletion of `deletes` (pod keys) are coming. */
  expect(key: string, adds: number, deletes: readonly string[] = []): void {
    this.#byKey.set(key, { adds, deletes: new Set(deletes), since: this.#clock.now() });
  }

  /** creationObserved lowers the pending creations by one (also for a creation that failed). */
  creationObserved(key: string): void {
    const e = this.#byKey.get(key);
    if (e !== undefined) e.adds--;
  }

  /** deletionObserved marks the deletion of one pod as seen (also for a deletion that failed). */
  deletionObserved(key: string, podKey: string): void {
    this.#byKey.get(key)?.deletes.delete(podKey);
  }

  /** pending reports what the key still waits for (for tests and logs). */
  pending(key: string): { readonly adds: number; readonly deletes: number } {
    const e = this.#byKey.get(key);
    return { adds: Math.max(0, e?.adds ?? 0), deletes: e?.deletes.size ?? 0 };
  }

  /** forget drops the key's expectations (its controller object is gone). */
  forget(key: string): void {
    this.#byKey.delete(key);
  }
}
