import { defineConfig } from 'vitest/config';

/**
 * The vitest config used only by the mutation run (`npm run test:mutation`, stryker.config.mjs):
 * the Raft core's tests (unit, paper, scenarios, properties, the driver under the simulator) and
 * the WAL's unit tests, none that start processes (test/wal/crash.test.ts does), and no global
 * setup (nothing here needs dist/). The fast-check properties run fewer cases than in `npm test`
 * so each mutant's tests finish in seconds (20 driver runs is the fewest at which every property
 * still sees each fault kind it asserts it exercised); a mutant that only a rare schedule catches
 * may survive here and still be killed by the full property run.
 */
export default defineConfig({
  test: {
    include: ['test/raft/**/*.test.ts', 'test/wal/**/*.test.ts'],
    // planted-bugs.test.ts runs the properties in vitest processes of its own against copies of
    // the core: it checks the tests, not the core, and would only slow every mutant down.
    exclude: ['test/wal/crash.test.ts', 'test/raft/planted-bugs.test.ts'],
    env: {
      RAFT_PROP_RUNS: '30',
      DRIVER_SIM_RUNS: '20',
    },
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
