/**
 * bench/raft-core: committed entries per second through an in-process cluster with no disk and
 * no network — the cost of the Raft core alone — and bytes allocated per entry.
 *
 *   npx tsx bench/raft-core/run.ts [--seconds 3] [--batch 64] [--size 128] [--json]
 */
import { GCProfiler } from 'node:v8';
import { BenchCluster } from './cluster.js';

interface Result {
  readonly nodes: number;
  readonly batch: number;
  readonly entries: number;
  readonly seconds: number;
  readonly entriesPerSec: number;
  readonly bytesPerEntry: number;
  readonly messagesPerEntry: number;
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

function run(nodes: number, batch: number, size: number, seconds: number): Result {
  const c = new BenchCluster(nodes);
  const leader = c.elect();
  const payload = Array.from({ length: batch }, (_, i) => new Uint8Array(size).fill(i & 0xff));
  // Warm up the JIT before measuring.
  for (let i = 0; i < 2000; i++) {
    leader.node.proposeBatch(payload);
    c.stabilize();
  }
  const startApplied = leader.applied;
  const startMsgs = c.messages;
  let gcFreed = 0;
  const profiler = new GCProfiler();
  profiler.start();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) {
      const r = leader.node.proposeBatch(payload);
      if (!r.ok) throw new Error(`Proposal refused: ${r.reason}`);
      c.stabilize();
    }
    now = process.hrtime.bigint();
  }
  const heapAfter = process.memoryUsage().heapUsed;
  const profile = profiler.stop();
  for (const s of profile.statistics) gcFreed += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize);
  const secs = Number(now - t0) / 1e9;
  const entries = leader.applied - startApplied;
  for (const n of c.nodes) {
    if (n.applied !== leader.applied) throw new Error(`Node ${n.id} applied ${n.applied}, leader ${leader.applied}`);
  }
  return {
    nodes,
    batch,
    entries,
    seconds: secs,
    entriesPerSec: entries / secs,
    bytesPerEntry: (gcFreed + heapAfter - heapBefore) / entries,
    messagesPerEntry: (c.messages - startMsgs) / entries,
  };
}

const seconds = arg('seconds', 3);
const batch = arg('batch', 64);
const size = arg('size', 128);
const results: Result[] = [];
for (const nodes of [3, 5]) {
  process.stderr.write(`raft-core: ${nodes} nodes, batches of ${batch} × ${size} B for ${seconds}s ...\n`);
  results.push(run(nodes, batch, size, seconds));
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  console.log('| nodes | batch | entries committed | entries/s | bytes allocated/entry | messages/entry |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.nodes} | ${r.batch} | ${r.entries} | ${Math.round(r.entriesPerSec).toLocaleString('en-US')} | ${Math.round(r.bytesPerEntry)} | ${r.messagesPerEntry.toFixed(3)} |`);
  }
}
