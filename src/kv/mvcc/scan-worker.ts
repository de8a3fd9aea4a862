/**
 * scan-worker: the key-bucket scan of an index rebuild, on a worker thread.
 *
 * Most of a rebuild's time is RocksDB handing every stored revision over as two fresh Buffers
 * (about 2 s of CPU for 1.1 M revisions, against under 1 s to build the index from them). A
 * worker thread does that part and the header decoding, and posts the revisions as RevChunks
 * (typed arrays, moved, not copied); this thread builds the index from each chunk as it comes,
 * so on two cores the rebuild takes about as long as the scan alone.
 *
 * The worker opens the database, reads it to the end and closes it before the caller opens it
 * (RocksDB allows one handle per process). When no worker can run — the module is TypeScript
 * that the test runner transforms in place, say — the caller scans on its own thread: same
 * result, slower.
 *
 * This module is both: imported, it exports scanInWorker; started as a worker (workerData
 * carries SCAN_WORKER_MARK), it scans.
 */

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Backend } from './backend.js';
import { IndexBuilder, packRows, type RevChunk } from './rebuild.js';
import type { RocksOptions } from './rocks.js';

/** SCAN_WORKER_MARK tells this module, loaded in a worker, that it is the scan worker. */
const SCAN_WORKER_MARK = 'raftkube-mvcc-scan';
/** WORKER_BATCH is how many rows one posted chunk holds. */
const WORKER_BATCH = 4_096;

interface ScanRequest {
  readonly mark: typeof SCAN_WORKER_MARK;
  readonly dir: string;
  readonly options: RocksOptions;
}

/** ScanMessage is what the worker posts: chunks, then done, or an error. */
type ScanMessage = { readonly type: 'chunk'; readonly chunk: RevChunk } | { readonly type: 'done' } | { readonly type: 'error'; readonly message: string; readonly codec: boolean };

/** ScanWorkerError is a failure the worker met reading the database (not a failure to run it). */
export class ScanWorkerError extends Error {
  /** codec says the stored bytes were damaged (a CodecError in the worker). */
  readonly codec: boolean;

  /** constructor takes the worker's message. */
  constructor(message: string, codec: boolean) {
    super(message);
    this.name = 'ScanWorkerError';
    this.codec = codec;
  }
}

function isScanRequest(data: unknown): data is ScanRequest {
  return typeof data === 'object' && data !== null && (data as { mark?: unknown }).mark === SCAN_WORKER_MARK;
}

/**
 * scanInWorker rebuilds the index of the database in `dir` with the scan on a worker thread.
 * Returns null when no worker could run (the caller then scans itself); rejects with
 * ScanWorkerError when the worker ran and failed reading the database.
 */
export function scanInWorker(dir: string, options: RocksOptions): Promise<IndexBuilder | null> {
  let worker: Worker;
  try {
    const request: ScanRequest = { mark: SCAN_WORKER_MARK, dir, options: { ...options } };
    worker = new Worker(new URL(import.meta.url), { workerData: request });
  } catch {
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const builder = new IndexBuilder();
    let outcome: { ok: true } | { ok: false; err: Error } | { ok: null } = { ok: null };
    let received = false;
    worker.on('message', (m: ScanMessage) => {
      received = true;
      if (outcome.ok !== null) return;
      try {
        if (m.type === 'chunk') builder.addChunk(m.chunk);
        else if (m.type === 'done') outcome = { ok: true };
        else outcome = { ok: false, err: new ScanWorkerError(m.message, m.codec) };
      } catch (err: unknown) {
        outcome = { ok: false, err: err instanceof Error ? err : new Error(String(err)) };
      }
    });
    // NB: the database is opened again only after the worker has exited (and closed it).
    worker.on('error', (err: Error) => {
      if (outcome.ok === null) outcome = received ? { ok: false, err } : { ok: null };
    });
    worker.on('exit', () => {
      if (outcome.ok === true) resolve(builder);
      else if (outcome.ok === false) reject(outcome.err);
      else if (received) reject(new Error('The MVCC scan worker stopped before it finished; this is a bug'));
      else resolve(null); // it never ran (could not load its module): scan on this thread
    });
  });
}

async function runScan(req: ScanRequest): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  let backend: Backend | null = null;
  try {
    backend = await Backend.open(req.dir, req.options);
    backend.scanKeyBucketRows(WORKER_BATCH, (rows) => {
      const chunk = packRows(rows);
      const msg: ScanMessage = { type: 'chunk', chunk };
      // NB: packRows allocates each array itself (never a SharedArrayBuffer), so all can move.
      const buffers = [chunk.mains, chunk.subTs, chunk.created, chunk.versions, chunk.leases, chunk.keyEnds, chunk.keys].map((a) => a.buffer as ArrayBuffer);
      port.postMessage(msg, buffers);
    });
    await backend.close();
    backend = null;
    port.postMessage({ type: 'done' } satisfies ScanMessage);
  } catch (err: unknown) {
    if (backend !== null) await backend.close().catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    port.postMessage({ type: 'error', message, codec: err instanceof Error && err.name === 'CodecError' } satisfies ScanMessage);
  }
}

if (!isMainThread && isScanRequest(workerData)) void runScan(workerData);
