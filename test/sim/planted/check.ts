/**
 * check: runs the fast-check properties (test/raft/properties.test.ts, nothing else) against a
 * copy of src/raft with one planted bug, and tells whether they caught it: which properties
 * failed, after how many runs, with which seed and path, and the violation they reported.
 *
 * Each bug gets its own temporary copy of src/raft, patched by plantBug (which fails loudly if
 * the anchor text is gone), and its own vitest process (config: vitest.config.ts here) with
 * RAFT_CORE_DIR pointing at the copy and RAFT_PROP_END_ON_FAILURE=1 (fast-check stops at the
 * first failing run instead of shrinking it). The copy is removed afterwards.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlantedBug } from './bugs.js';
import { plantBug } from './bugs.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** REPO is the repository root. */
export const REPO = resolve(HERE, '../../..');
const VITEST = join(REPO, 'node_modules', 'vitest', 'vitest.mjs');
const CONFIG = join(HERE, 'vitest.config.ts');

/** PropertyOutcome is one property's result against the planted core. */
export interface PropertyOutcome {
  readonly property: string;
  readonly failed: boolean;
  readonly ms: number;
  /** runs is the number of runs fast-check made before the failure (undefined if it passed). */
  readonly runs?: number;
  readonly seed?: string;
  readonly path?: string;
  /** violation is the first line of the reported failure (e.g. "state-machine-safety: ..."). */
  readonly violation?: string;
}

/** PlantedResult is what the properties made of one planted bug. */
export interface PlantedResult {
  readonly bug: string;
  readonly caught: boolean;
  readonly properties: readonly PropertyOutcome[];
  readonly ms: number;
}

/** PlantedCheckError: the check itself could not run (vitest crashed, no report, no test ran). */
export class PlantedCheckError extends Error {
  override readonly name = 'PlantedCheckError';
}

interface JsonAssertion {
  readonly title: string;
  readonly status: string;
  readonly duration?: number | null;
  readonly failureMessages?: readonly string[];
}

interface JsonReport {
  readonly testResults?: readonly { readonly assertionResults?: readonly JsonAssertion[]; readonly message?: string }[];
}

function parseOutcome(a: JsonAssertion): PropertyOutcome {
  const ms = Math.round(a.duration ?? 0);
  if (a.status === 'passed') return { property: a.title, failed: false, ms };
  const text = (a.failureMessages ?? []).join('\n');
  // Only a failed fast-check run is a catch; any other failure (a coverage minimum, a crash of
  // the test itself) says nothing about the bug and must not pass for one.
  if (!/Property failed after/.test(text)) {
    throw new PlantedCheckError(`Property "${a.title}" failed without a failing run:\n${text.slice(0, 2000)}`);
  }
  const runs = /Property failed after (\d+) tests?/.exec(text)?.[1];
  const seed = /seed: (-?\d+)/.exec(text)?.[1];
  const path = /path: "([^"]*)"/.exec(text)?.[1];
  // fast-check reports the thrown error as "Got <name>: <message>" (includeErrorInReport).
  const got = /^Got (?:SimFailure: )?(?:InvariantViolation: )?(.*)$/m.exec(text)?.[1];
  const violation = got ?? text.split('\n').find((l) => l.trim() !== '') ?? a.status;
  return {
    property: a.title,
    failed: true,
    ms,
    ...(runs === undefined ? {} : { runs: Number(runs) }),
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
    violation: violation.slice(0, 300),
  };
}

/** CheckOptions tune a planted-bug run. */
export interface CheckOptions {
  /** runs overrides RAFT_PROP_RUNS (default: the properties' own default). */
  readonly runs?: number;
  /** timeoutMs bounds one vitest process (default 15 minutes). */
  readonly timeoutMs?: number;
}

function runVitest(coreDir: string, reportPath: string, opts: CheckOptions): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, RAFT_CORE_DIR: coreDir, RAFT_PROP_END_ON_FAILURE: '1' };
    if (opts.runs !== undefined) env['RAFT_PROP_RUNS'] = String(opts.runs);
    const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG, '--reporter=json', '--outputFile', reportPath], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/** checkBug plants `bug` in a fresh copy of src/raft and runs the properties against it. */
export async function checkBug(bug: PlantedBug, opts: CheckOptions = {}): Promise<PlantedResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `raftkube-planted-${bug.name}-`));
  try {
    const coreDir = join(dir, 'raft');
    cpSync(join(REPO, 'src', 'raft'), coreDir, { recursive: true });
    plantBug(coreDir, bug);
    const reportPath = join(dir, 'report.json');
    const { code, output } = await runVitest(coreDir, reportPath, opts);
    let report: JsonReport;
    try {
      report = JSON.parse(readFileSync(reportPath, 'utf8')) as JsonReport;
    } catch (e: unknown) {
      throw new PlantedCheckError(`vitest (exit ${code ?? 'killed'}) wrote no readable report for ${bug.name}: ${String(e)}\n${output.slice(-3000)}`);
    }
    const assertions = (report.testResults ?? []).flatMap((f) => f.assertionResults ?? []);
    if (assertions.length === 0) {
      const why = (report.testResults ?? []).map((f) => f.message ?? '').join('\n');
      throw new PlantedCheckError(`No property ran against the core with ${bug.name} (vitest exit ${code ?? 'killed'}): ${why}\n${output.slice(-3000)}`);
    }
    const properties = assertions.map(parseOutcome);
    return { bug: bug.name, caught: properties.some((p) => p.failed), properties, ms: Date.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** checkBugs checks each bug, `concurrency` vitest processes at a time, in the given order. */
export async function checkBugs(bugs: readonly PlantedBug[], opts: CheckOptions & { readonly concurrency?: number } = {}): Promise<PlantedResult[]> {
  const out: PlantedResult[] = new Array<PlantedResult>(bugs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bugs.length) {
      const i = next++;
      out[i] = await checkBug(bugs[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, bugs.length)) }, worker));
  return out;
}

/** describeResult renders one result as report lines. */
export function describeResult(r: PlantedResult): string[] {
  const failed = r.properties.filter((p) => p.failed);
  const head = `${r.caught ? 'CAUGHT' : 'MISSED'} ${r.bug} (${(r.ms / 1000).toFixed(1)} s): ${failed.length} of ${r.properties.length} properties failed`;
  const lines = [head];
  for (const p of r.properties) {
    if (p.failed) {
      lines.push(`  caught by "${p.property}" after ${p.runs ?? '?'} runs (seed ${p.seed ?? '?'}, path "${p.path ?? '?'}"): ${p.violation ?? ''}`);
    } else {
      lines.push(`  passed    "${p.property}" (${(p.ms / 1000).toFixed(1)} s)`);
    }
  }
  return lines;
}
