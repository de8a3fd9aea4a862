/**
 * bench/wal/sync-methods: three ways for a member to write a WAL batch and fdatasync it, on this
 * machine's disk —
 *   blocking  writeSync + fdatasyncSync on the event loop's own thread (the WAL's blockingIO);
 *   pool      fs.write + fs.fdatasync, both through libuv's thread pool (the WAL's default mode);
 *   libuv     writeSync on the loop, fs.fdatasync through libuv's thread pool (the WAL's
 *             syncOffLoop, which members use);
 *   worker    writeSync on the loop, fdatasyncSync on a dedicated worker thread, signalled through
 *             a SharedArrayBuffer with Atomics.notify and answered through Atomics.waitAsync
 *             (bench/wal/sync-worker.ts).
 * Each saves one ~300-byte record at a time, sequentially, and reports the save latency (write
 * to durable, p50/p99 µs) and how long each save holds the event loop (the synchronous part of
 * the call, p50 µs): while it is held nothing else moves — no peer message, no client reply.
 *
 *   npx tsx bench/wal/sync-methods.ts [--dir <parent dir>] [--count 3000] [--rounds 3]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SyncWorker } from './sync-worker.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const PARENT = arg('dir') ?? os.tmpdir();
const COUNT = Number(arg('count') ?? 3000);
const ROUNDS = Number(arg('rounds') ?? 3);
const RECORD = Buffer.alloc(300, 7);

/** Syncer writes RECORD at `pos` and resolves once it is durable. */
type Syncer = (fd: number, pos: number) => Promise<void>;

const blocking: Syncer = (fd, pos) => {
  fs.writeSync(fd, RECORD, 0, RECORD.length, pos);
  fs.fdatasyncSync(fd);
  return Promise.resolve();
};

const libuv: Syncer = (fd, pos) => {
  fs.writeSync(fd, RECORD, 0, RECORD.length, pos);
  return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
};

const pool: Syncer = (fd, pos) =>
  new Promise((resolve, reject) => {
    fs.write(fd, RECORD, 0, RECORD.length, pos, (err) => {
      if (err) return reject(err);
      fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()));
    });
  });

function workerSyncer(): { sync: Syncer; close: () => Promise<void> } {
  const w = new SyncWorker();
  const sync: Syncer = (fd, pos) => {
    fs.writeSync(fd, RECORD, 0, RECORD.length, pos);
    return w.fdatasync(fd);
  };
  return { sync, close: () => w.close() };
}

interface Result {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly opsPerSec: number;
  readonly heldP50: number;
}

async function run(name: string, sync: Syncer, dir: string): Promise<Result> {
  const file = path.join(dir, `${name}.wal`);
  const fd = fs.openSync(file, 'w+');
  // Preallocate as the WAL does, so a sync flushes data only.
  fs.writeSync(fd, Buffer.alloc(RECORD.length * (COUNT + 200)), 0, RECORD.length * (COUNT + 200), 0);
  fs.fdatasyncSync(fd);
  for (let i = 0; i < 100; i++) await sync(fd, i * RECORD.length);
  const lat: number[] = [];
  const held: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const s = performance.now();
    const p = sync(fd, (100 + i) * RECORD.length);
    held.push(performance.now() - s);
    await p;
    lat.push(performance.now() - s);
  }
  const secs = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  const q = (xs: number[], p: number): number => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! * 1000;
  return { name, p50: q(lat, 0.5), p99: q(lat, 0.99), opsPerSec: COUNT / secs, heldP50: q(held, 0.5) };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(PARENT, 'wal-sync-methods-'));
  const w = workerSyncer();
  const methods: [string, Syncer][] = [['blocking', blocking], ['pool', pool], ['libuv', libuv], ['worker', w.sync]];
  const all: Result[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so a change in the machine's load does not favour one method.
      const order = r % 2 === 0 ? methods : [...methods].reverse();
      for (const [name, sync] of order) all.push(await run(name, sync, dir));
    }
  } finally {
    await w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`write + fdatasync of a ${RECORD.length}-byte record, ${COUNT} sequential saves, ${ROUNDS} rounds, load average ${os.loadavg()[0]!.toFixed(2)}`);
  console.log('method     p50 µs   p99 µs   saves/s   loop held per save, p50 µs');
  for (const x of all) console.log(`${x.name.padEnd(9)} ${x.p50.toFixed(0).padStart(7)} ${x.p99.toFixed(0).padStart(8)} ${x.opsPerSec.toFixed(0).padStart(9)}   ${x.heldP50.toFixed(0)}`);
}

await main();
