/**
 * bench/chaos/checker: how long the linearizability checker takes on a large history — by
 * default 100,000 operations over 100 keys from 20 concurrent processes, 1% of them timed out
 * (`info`) — counting the parse of the JSON-lines file and the search separately. A second
 * pass checks the same history with one read corrupted, so the failing path (search, replay,
 * counterexample) is timed too. Wall time and this process's CPU time are both reported (on a
 * shared machine the CPU time is the steadier figure). Goal: both in seconds.
 *
 *   npx tsx bench/chaos/checker.ts [--ops 100000] [--keys 100] [--processes 20] [--info-rate 0.01] [--seed 1] [--time-limit 60] [--keep FILE] [--json]
 *
 * `--keep FILE` leaves the generated history there (it is deleted otherwise).
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLinearizability } from '../../src/chaos/checker/index.js';
import { HistoryWriter, readHistoryFile, type HistoryEvent } from '../../src/chaos/history.js';
import { generateHistory } from './history-gen.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number, 0 or more`);
  return v;
}

function stringArg(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}

async function writeHistory(path: string, events: readonly HistoryEvent[]): Promise<void> {
  const w = new HistoryWriter(createWriteStream(path));
  for (const e of events) await w.write(e);
  await w.close();
}

interface Timing {
  readonly parseMs: number;
  readonly parseCpuMs: number;
  readonly checkMs: number;
  readonly checkCpuMs: number;
  readonly verdict: string;
  /** undecided: keys left unknown, by reason. */
  readonly undecided: Record<string, number>;
  readonly steps: number;
  readonly ops: number;
}

/** cpuMs: user + system CPU time of this process since `from`, in milliseconds. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

async function timed(path: string, timeLimitMs: number): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const parsed = await readHistoryFile(path);
  if (!parsed.ok) throw new Error(`Generated history did not parse: line ${parsed.error.line}: ${parsed.error.message}`);
  const t1 = performance.now();
  const parseCpuMs = cpuMs(c0);
  const c1 = process.cpuUsage();
  const r = checkLinearizability(parsed.value.ops, { timeLimitMs });
  const t2 = performance.now();
  const undecided: Record<string, number> = {};
  for (const k of r.keys) if (k.verdict === 'unknown') undecided[k.reason] = (undecided[k.reason] ?? 0) + 1;
  return { parseMs: t1 - t0, parseCpuMs, checkMs: t2 - t1, checkCpuMs: cpuMs(c1), verdict: r.verdict, undecided, steps: r.steps, ops: parsed.value.ops.length };
}

async function main(): Promise<void> {
  const o = { ops: arg('ops', 100_000), keys: arg('keys', 100), processes: arg('processes', 20), infoRate: arg('info-rate', 0.01), seed: arg('seed', 1) };
  const timeLimitMs = arg('time-limit', 60) * 1000;
  const keep = stringArg('keep');
  const dir = mkdtempSync(join(tmpdir(), 'raftkube-checker-bench-'));
  try {
    const events = generateHistory(o);
    const path = keep ?? join(dir, 'history.jsonl');
    await writeHistory(path, events);
    const good = await timed(path, timeLimitMs);
    // Corrupt the last ok read to a value nobody wrote.
    let last = -1;
    events.forEach((e, i) => {
      if (e.type === 'ok' && e.f === 'read') last = i;
    });
    const bad = events.map((e, i) => (i === last && e.f === 'read' ? { ...e, value: 'never-written' } : e));
    const badPath = join(dir, 'corrupted.jsonl');
    await writeHistory(badPath, bad);
    const corrupted = await timed(badPath, timeLimitMs);
    const result = {
      ...o,
      linearizable: good,
      corrupted,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
      load: loadavg().map((l) => l.toFixed(2)).join(' '),
    };
    if (process.argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    const line = (t: Timing): string => `parse ${s(t.parseMs)} (CPU ${s(t.parseCpuMs)}), check ${s(t.checkMs)} (CPU ${s(t.checkCpuMs)}, ${t.steps} steps) -> ${t.verdict}${t.verdict === 'unknown' ? ` (undecided keys: ${JSON.stringify(t.undecided)})` : ''}`;
    process.stdout.write(
      [
        `history: ${good.ops} operations, ${o.keys} keys, ${o.processes} processes, info rate ${o.infoRate}, seed ${o.seed}`,
        `linearizable history: ${line(good)}`,
        `one read corrupted:   ${line(corrupted)}`,
        `resident memory at the end: ${result.rssMiB} MiB; ${result.machine}; load ${result.load}`,
        '',
      ].join('\n'),
    );
    if (good.verdict !== 'linearizable' || corrupted.verdict !== 'not-linearizable') process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
