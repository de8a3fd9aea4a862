/**
 * bench/mvcc: the MVCC store on its own — apply throughput, read latency, memory and recovery.
 *
 *   npx tsx bench/mvcc/run.ts [--keys 1000000] [--no-record]
 *
 * 1. load: puts of 256-byte values to distinct keys, applied in batches of 100 with one
 *    commit({ sync: false }) per batch (what the apply loop does; the Raft WAL is the durable copy);
 * 2. update: 100,000 puts over the loaded keys in batches of 100, commit({ sync: true }) per batch;
 * 3. reads: single-key gets, 100-key ranges, a keys_only 1,000-key range, count_only over all keys;
 * 4. memory: RSS and JS heap after the load (after a full GC), against etcd's few hundred MB;
 * 5. recovery: close and reopen (rebuild the index by scanning RocksDB).
 *
 * Appends the numbers under "## MVCC" in bench/RESULTS.md.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MvccStore, type MvccResult } from '../../src/kv/mvcc/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const args = process.argv.slice(2);
const KEYS = Number(args[args.indexOf('--keys') + 1] ?? NaN) || 1_000_000;
const RECORD = !args.includes('--no-record');
const BATCH = 100;
const VALUE_BYTES = 256;

function unwrap<T>(r: MvccResult<T>): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
const keyOf = (i: number): Buffer => Buffer.from(`/registry/bench/key-${String(i).padStart(8, '0')}`);
const mib = (n: number): number => Math.round(n / 1024 / 1024);

function percentiles(samples: number[]): { p50: number; p99: number } {
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
}
function timeUs(fn: () => void, n: number): { p50: number; p99: number } {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return percentiles(samples);
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'raftkube-bench-mvcc-'));
  const dir = join(root, 'db');
  const baseRss = process.memoryUsage().rss;
  gc();
  const baseHeap = process.memoryUsage().heapUsed;
  let store = await MvccStore.open(dir);
  const values = Array.from({ length: 64 }, () => randomBytes(VALUE_BYTES)); // incompressible
  let index = 0;
  try {
    // 1. load
    let t0 = performance.now();
    for (let i = 0; i < KEYS; i += BATCH) {
      for (let j = i; j < Math.min(KEYS, i + BATCH); j++) unwrap(store.put({ key: keyOf(j), value: values[j % 64] as Buffer }));
      store.setConsistentIndex(++index);
      await store.commit({ sync: false });
    }
    const loadMs = performance.now() - t0;
    const loadRate = Math.round(KEYS / (loadMs / 1000));
    console.log(`load: ${KEYS} puts in ${Math.round(loadMs)} ms = ${loadRate} puts/s (batch ${BATCH}, commit without fsync)`);

    // 4. memory (right after the load, before the other phases allocate)
    gc();
    gc();
    const mem = process.memoryUsage();
    const rocksMem = store.memoryStats();
    console.log(
      `memory after load: rss ${mib(mem.rss)} MiB (process started at ${mib(baseRss)} MiB), heapUsed ${mib(mem.heapUsed)} MiB, ` +
        `RocksDB memtables ${mib(rocksMem.memtableBytes)} MiB, block cache ${mib(rocksMem.blockCacheBytes)} MiB, table readers ${mib(rocksMem.tableReaderBytes)} MiB`,
    );

    // 2. updates with fsync per batch
    const UPDATES = Math.min(100_000, KEYS);
    t0 = performance.now();
    for (let i = 0; i < UPDATES; i += BATCH) {
      for (let j = i; j < i + BATCH; j++) unwrap(store.put({ key: keyOf((j * 7919) % KEYS), value: values[j % 64] as Buffer }));
      store.setConsistentIndex(++index);
      await store.commit({ sync: true });
    }
    const updMs = performance.now() - t0;
    const updRate = Math.round(UPDATES / (updMs / 1000));
    console.log(`update: ${UPDATES} puts in ${Math.round(updMs)} ms = ${updRate} puts/s (batch ${BATCH}, commit with fsync)`);

    // 3. reads
    let r = 12345;
    const rnd = (): number => (r = (r * 1103515245 + 12345) % 2147483648) % KEYS;
    const get = timeUs(() => unwrap(store.range({ key: keyOf(rnd()) })), 20_000);
    const range100 = timeUs(() => {
      const i = rnd();
      unwrap(store.range({ key: keyOf(i), range_end: keyOf(KEYS + 1), limit: 100 }));
    }, 2_000);
    const keysOnly = timeUs(() => {
      const i = rnd();
      unwrap(store.range({ key: keyOf(i), range_end: keyOf(i + 1000), keys_only: true }));
    }, 500);
    const countAll = timeUs(() => unwrap(store.range({ key: Buffer.of(0), range_end: Buffer.of(0), count_only: true })), 20);
    const pastGet = timeUs(() => unwrap(store.range({ key: keyOf(rnd()), revision: 2 + rnd() })), 20_000);
    for (const [name, p] of [['get (1 key)', get], ['get at a past revision', pastGet], ['range limit 100', range100], ['range 1,000 keys_only', keysOnly], ['count_only, all keys', countAll]] as const) {
      console.log(`${name}: p50 ${p.p50.toFixed(1)} µs, p99 ${p.p99.toFixed(1)} µs`);
    }

    // 5. recovery
    await store.close();
    t0 = performance.now();
    store = await MvccStore.open(dir);
    const reopenMs = performance.now() - t0;
    console.log(`reopen (index rebuild from RocksDB, ${store.keyCount} keys): ${Math.round(reopenMs)} ms`);

    if (RECORD) {
      const date = new Date().toISOString().slice(0, 10);
      const cpu = cpus()[0]?.model ?? 'unknown CPU';
      const load = loadavg()[0]?.toFixed(1) ?? '?';
      const f = (n: number): string => n.toLocaleString('en-US');
      const us = (n: number): string => n.toFixed(0);
      const entry = [
        `### ${date} — ${f(KEYS)} keys, 256-byte values`,
        '',
        `Machine: ${cpus().length} cores (${cpu}), Node ${process.version}, RocksDB (@nxtedition/rocksdb) in os.tmpdir(), other work sharing the cores (load average ${load} at the end). Command: \`npx tsx bench/mvcc/run.ts\`.`,
        '',
        '| workload | result |',
        '|---|---:|',
        `| load ${f(KEYS)} distinct keys, batches of 100 puts, commit (no fsync) per batch | ${f(loadRate)} puts/s |`,
        `| update ${f(UPDATES)} keys, batches of 100 puts, commit with fsync per batch | ${f(updRate)} puts/s |`,
        `| get one key, p50 / p99 | ${us(get.p50)} / ${us(get.p99)} µs |`,
        `| get one key at a past revision, p50 / p99 | ${us(pastGet.p50)} / ${us(pastGet.p99)} µs |`,
        `| range, limit 100, p50 / p99 | ${us(range100.p50)} / ${us(range100.p99)} µs |`,
        `| range of 1,000 keys, keys_only, p50 / p99 | ${us(keysOnly.p50)} / ${us(keysOnly.p99)} µs |`,
        `| count_only over all ${f(KEYS)} keys, p50 / p99 | ${us(countAll.p50)} / ${us(countAll.p99)} µs |`,
        `| RSS after the load (after GC) | ${f(mib(mem.rss))} MiB |`,
        `| reopen: rebuild the index from RocksDB | ${f(Math.round(reopenMs))} ms |`,
        '',
        `RSS breakdown after the load: the process starts at ${mib(baseRss)} MiB (Node + tsx); JS heap ${mib(mem.heapUsed)} MiB ` +
          `(~${Math.round((mem.heapUsed - baseHeap) / KEYS)} bytes per key: key string, index record, block slot); RocksDB memtables ` +
          `${mib(rocksMem.memtableBytes)} MiB, block cache ${mib(rocksMem.blockCacheBytes)} MiB, table readers ${mib(rocksMem.tableReaderBytes)} MiB; ` +
          'values are not on the JS heap. etcd\'s figure for the same load comes from the memory workload of `bench/kv` (see its section).',
        '',
      ].join('\n');
      appendSection('MVCC', entry);
      console.log('recorded in bench/RESULTS.md');
    }
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** appendSection adds `entry` at the end of "## name" in bench/RESULTS.md, creating what is missing. */
function appendSection(name: string, entry: string): void {
  const path = join(import.meta.dirname, '..', 'RESULTS.md');
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const heading = `## ${name}`;
  const start = text.split('\n').findIndex((l) => l === heading);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${heading}\n\n${entry}`;
  } else {
    const lines = text.split('\n');
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, end).join('\n').trimEnd();
    const after = lines.slice(end).join('\n');
    text = `${before}\n\n${entry}${after.length > 0 ? `\n${after}` : ''}`;
  }
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
}

await main();
