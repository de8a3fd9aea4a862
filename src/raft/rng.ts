/**
 * rng: the only source of randomness the Raft core may use — injected, seeded and replayable.
 */

/** Rng yields integers in [0, n). */
export interface Rng {
  int(n: number): number;
}

/**
 * seededRng returns a deterministic generator (mulberry32): the same seed always yields the
 * same sequence, so a simulated run replays exactly from its seed.
 */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    int(n: number): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      return Math.floor(r * n);
    },
  };
}
