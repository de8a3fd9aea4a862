/**
 * global-setup: vitest globalSetup — make sure dist/ holds a build of the current sources before
 * any test runs, so the integration tests (which start `node dist/src/cli/main.js`) work on a
 * fresh clone after `npm ci`.
 *
 * It runs `npm run build` (tsc -p tsconfig.build.json) when dist/src/cli/main.js is missing or
 * older than any file the build reads; otherwise it does nothing, so a run of unit tests alone
 * does not pay for a build. tsc writes every output on each build, so main.js's mtime is the
 * time of the last build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RAFTKUBE_MAIN, REPO_ROOT } from './harness.js';

const INPUTS = ['src', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** buildIsStale tells whether dist/ is missing or older than the sources it is built from. */
export function buildIsStale(): boolean {
  if (!existsSync(RAFTKUBE_MAIN)) return true;
  const built = statSync(RAFTKUBE_MAIN).mtimeMs;
  return INPUTS.some((p) => newestMtime(join(REPO_ROOT, p)) > built);
}

/** setup builds raftkube once per test run, when dist/ is stale. */
export function setup(): void {
  if (!buildIsStale()) return;
  const started = Date.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.error !== undefined) throw new Error(`globalSetup: could not run npm run build: ${r.error.message}`);
  if (r.status === 0) return;
  // tsc emits even when it reports type errors. If the CLI was rewritten, the tests can still run
  // (the typecheck step reports the errors); a build that produced nothing is fatal.
  if (existsSync(RAFTKUBE_MAIN) && statSync(RAFTKUBE_MAIN).mtimeMs >= started - 1_000) {
    process.stderr.write(`globalSetup: npm run build reported errors; testing what it emitted anyway:\n${output}\n`);
    return;
  }
  throw new Error(`globalSetup: npm run build failed (exit ${r.status ?? 'signal'}):\n${output}`);
}
