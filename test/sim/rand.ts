/**
 * rand: helpers over the core's seeded Rng — seed derivation (so each consumer gets its own
 * independent, replayable stream), percent chances and in-place shuffles.
 */
import type { Rng } from '../../src/raft/rng.js';
import { seededRng } from '../../src/raft/rng.js';

/**
 * deriveSeed mixes a root seed with labels into a new 32-bit seed (murmur3 finalizer), so the
 * network, each node and each node incarnation draw from separate streams of one root seed.
 */
export function deriveSeed(root: number, ...parts: readonly number[]): number {
  let h = root >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** derivedRng returns seededRng(deriveSeed(root, ...parts)). */
export function derivedRng(root: number, ...parts: readonly number[]): Rng {
  return seededRng(deriveSeed(root, ...parts));
}

/** chance is true with probability pct/100. */
export function chance(rng: Rng, pct: number): boolean {
  return pct > 0 && rng.int(100) < pct;
}

/** shuffle permutes `xs` in place (Fisher–Yates) and returns it. */
export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = xs[i]!;
    xs[i] = xs[j]!;
    xs[j] = t;
  }
  return xs;
}
