/**
 * bench/wal: throughput and save latency of the write-ahead log on this machine's disk —
 * each save() appends a batch of 256-byte entries plus a hard state and resolves after its
 * fdatasync. Sequential rows await each save (one sync per save); the group-commit row keeps
 * many saves of one entry in flight, so one sync covers many of them. Appends the numbers to
 * bench/RESULTS.md under "## WAL" unless --no-write.
 *
 *   npx tsx bench/wal/run.ts [--dir <parent dir>] [--size 256] [--no-write]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Entry, HardState, LogIndex, NodeId, Term } from '../../src/raft/types.js';
import { Wal } from '../../src/raft/wal/index.js';
import { encodeRecords } from '../../src/raft/wal/record.js';

interface Row {
  readonly name: string;
  readonly batch: number;
  readonly saves: number;
  readonly entries: number;
  readonly seconds: number;
  readonly syncs: number;
  readonly p50us: number;
  readonly p99us: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const SIZE = Number(arg('size') ?? 256);
const PARENT = arg('dir') ?? os.tmpdir();
const WRITE = !process.argv.includes('--no-write');

function entriesFrom(first: number, n: number, payload: Uint8Array): Entry[] {
  const out: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) out[i] = { index: (first + i) as LogIndex, term: 1 as Term, type: 'normal', data: payload };
  return out;
}

function hardState(commit: number): HardState {
  return { term: 1 as Term, vote: 1 as NodeId, commit: commit as LogIndex };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function withWal<T>(fn: (wal: Wal) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(PARENT, 'raftkube-walbench-'));
  try {
    const { wal } = await Wal.open(dir);
    try {
      return await fn(wal);
    } finally {
      await wal.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Sequential saves of `batch` entries, each awaited; the first tenth warms up and is not counted. */
function sequential(batch: number, saves: number, payload: Uint8Array): Promise<Row> {
  return withWal(async (wal) => {
    const warm = Math.max(1, Math.floor(saves / 10));
    let next = 1;
    for (let i = 0; i < warm; i++) {
      await wal.save({ hardState: hardState(next - 1), entries: entriesFrom(next, batch, payload) });
      next += batch;
    }
    const lat = new Float64Array(saves);
    const syncs0 = wal.stats.syncs;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < saves; i++) {
      const s = process.hrtime.bigint();
      await wal.save({ hardState: hardState(next - 1), entries: entriesFrom(next, batch, payload) });
      lat[i] = Number(process.hrtime.bigint() - s) / 1000;
      next += batch;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    lat.sort();
    return {
      name: `sequential, batch ${batch}`,
      batch,
      saves,
      entries: saves * batch,
      seconds,
      syncs: wal.stats.syncs - syncs0,
      p50us: percentile(lat, 0.5),
      p99us: percentile(lat, 0.99),
    };
  });
}

/** `writers` loops each saving one entry at a time, all sharing the WAL: group commit at work. */
function concurrent(writers: number, total: number, payload: Uint8Array): Promise<Row> {
  return withWal(async (wal) => {
    let next = 1;
    const lat: number[] = [];
    let done = 0;
    const syncs0 = wal.stats.syncs;
    const t0 = process.hrtime.bigint();
    const writer = async (): Promise<void> => {
      while (done < total) {
        done++;
        const s = process.hrtime.bigint();
        const index = next++;
        await wal.save({ hardState: hardState(index - 1), entries: entriesFrom(index, 1, payload) });
        lat.push(Number(process.hrtime.bigint() - s) / 1000);
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const sorted = Float64Array.from(lat).sort();
    return {
      name: `group commit, ${writers} writers x 1`,
      batch: 1,
      saves: lat.length,
      entries: lat.length,
      seconds,
      syncs: wal.stats.syncs - syncs0,
      p50us: percentile(sorted, 0.5),
      p99us: percentile(sorted, 0.99),
    };
  });
}

/** Time to reopen (replay) a WAL holding `total` entries written in batches of 1000. */
async function recovery(total: number, payload: Uint8Array): Promise<{ entries: number; bytes: number; segments: number; ms: number }> {
  const dir = fs.mkdtempSync(path.join(PARENT, 'raftkube-walbench-'));
  try {
    const { wal } = await Wal.open(dir);
    for (let next = 1; next <= total; next += 1000) {
      await wal.save({ hardState: hardState(next - 1), entries: entriesFrom(next, 1000, payload) });
    }
    const bytes = wal.stats.bytes;
    const segments = wal.segmentCount;
    await wal.close();
    const t0 = process.hrtime.bigint();
    const { wal: again, state } = await Wal.open(dir);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await again.close();
    if (state.entries.length !== total) throw new Error(`recovered ${state.entries.length} entries, wrote ${total}`);
    return { entries: total, bytes, segments, ms };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU cost of encoding alone (records + CRC-32C), no I/O: the ceiling the disk path works under. */
function encodeOnly(batch: number, payload: Uint8Array): number {
  const entries = entriesFrom(1, batch, payload);
  const rounds = Math.ceil(300_000 / batch);
  for (let i = 0; i < rounds / 10; i++) encodeRecords({ hardState: hardState(1), entries });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) encodeRecords({ hardState: hardState(1), entries });
  return (rounds * batch) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const payload = new Uint8Array(SIZE).fill(0x5a);
  const rows: Row[] = [];
  for (const [batch, saves] of [
    [1, 20_000],
    [16, 8_000],
    [100, 3_000],
    [1000, 400],
  ] as const) {
    rows.push(await sequential(batch, saves, payload));
  }
  rows.push(await concurrent(64, 50_000, payload));
  const encode = encodeOnly(100, payload);
  const rec = await recovery(500_000, payload);

  const header = '| workload | entries/s | saves/s | fdatasyncs | MB/s | p50 save µs | p99 save µs |';
  const lines = [header, '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const mbs = (r.entries * (SIZE + 33)) / r.seconds / 1e6; // 33 = record header + entry fields
    lines.push(
      `| ${r.name} | ${fmt(r.entries / r.seconds)} | ${fmt(r.saves / r.seconds)} | ${fmt(r.syncs)} | ${mbs.toFixed(1)} | ${fmt(r.p50us)} | ${fmt(r.p99us)} |`,
    );
  }
  lines.push(
    '',
    `Encoding alone (records + CRC-32C, batch 100, no I/O): ${fmt(encode)} entries/s. ` +
      `Recovery (Wal.open replaying ${fmt(rec.entries)} entries, ${(rec.bytes / 1e6).toFixed(0)} MB in ` +
      `${rec.segments} segments): ${fmt(rec.ms)} ms, ${fmt(rec.entries / (rec.ms / 1000))} entries/s.`,
  );
  const table = lines.join('\n');
  console.log(table);

  if (!WRITE) return;
  const cpus = os.cpus();
  const block = [
    `### ${new Date().toISOString().slice(0, 10)} — ${SIZE}-byte entries, one fdatasync per batch`,
    '',
    `Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ` +
      `WAL in ${PARENT === os.tmpdir() ? 'os.tmpdir()' : 'the --dir given'} on a write-cached virtual disk, ` +
      `other work sharing the cores (load average ${os.loadavg()[0]!.toFixed(1)} at the end). ` +
      'Command: `npx tsx bench/wal/run.ts`.',
    '',
    table,
    '',
  ].join('\n');
  appendSection(block);
}

/** Adds `block` at the end of the "## WAL" section of bench/RESULTS.md, creating either as needed. */
function appendSection(block: string): void {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'RESULTS.md');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## WAL');
  let out: string;
  if (start < 0) {
    out = `${text.replace(/\n*$/, '\n')}\n## WAL\n\n${block}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, end).join('\n').replace(/\n*$/, '\n');
    const after = lines.slice(end).join('\n');
    out = `${before}\n${block}${after ? `\n${after}` : ''}`;
  }
  fs.writeFileSync(file, out);
  console.log(`\nAppended to ${path.relative(process.cwd(), file)}`);
}

await main();
