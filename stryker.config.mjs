// @ts-check
/**
 * Mutation testing of the Raft core (src/raft): `npm run test:mutation`.
 * Runs the tests in vitest.stryker.config.ts (the core's unit, paper, scenario, property and
 * driver-under-simulator tests plus the WAL's unit tests; nothing that starts processes) against
 * each mutant, only the tests that cover it (perTest coverage). One mutant at a time: the
 * machine is small and shared. Reports: reports/mutation/ (git-ignored), index.html and
 * mutation.json; a clear-text summary is printed at the end.
 * One file: npm run test:mutation -- --mutate src/raft/progress.ts
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const config = {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: ['src/raft/**/*.ts', '!src/raft/**/index.ts'],
  coverageAnalysis: 'perTest',
  // A static mutant (in a module-level constant) would need every test run for it: too slow here.
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 5_000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 85, low: 70, break: null },
};

export default config;
