/**
 * seen-set: the compact store of explored configurations answers exactly as a plain set of
 * (sorted operation list, state) strings would, for random stack-ordered add/remove sequences
 * over a mix of required and optional operations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeenSet } from '../../../src/chaos/checker/seen-set.js';

describe('SeenSet', () => {
  it.each([
    ['full hashes', -1],
    ['every configuration colliding (exact comparison only)', 0],
    ['few hash buckets', 3],
  ])('agrees with a naive set of configurations (%s)', (_name, mask) => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 90 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.boolean()), { maxLength: 400 }),
        (optional, script) => {
          const n = optional.length;
          const set = new SeenSet(optional, 1 << 30, mask);
          const naive = new Set<string>();
          const stack: number[] = [];
          const inSet = new Set<number>();
          for (const [pick, state, push] of script) {
            if (push || stack.length === 0) {
              const free = [...Array(n).keys()].filter((i) => !inSet.has(i));
              if (free.length === 0) continue;
              const op = free[pick % free.length]!;
              set.add(op);
              const key = `${[...inSet, op].sort((a, b) => a - b).join(',')}|${state}`;
              expect(set.remember(state)).toBe(!naive.has(key));
              naive.add(key);
              stack.push(op);
              inSet.add(op);
            } else {
              const op = stack.pop()!;
              set.remove(op);
              inSet.delete(op);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports full once past its byte bound', () => {
    const set = new SeenSet([false, false, false, false], 64);
    let remembered = 0;
    for (let s = 0; s < 100 && !set.full; s++) if (set.remember(s)) remembered++;
    expect(set.full).toBe(true);
    expect(remembered).toBeGreaterThan(0);
    expect(remembered).toBeLessThan(100);
  });
});
