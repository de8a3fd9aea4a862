/**
 * kv: the key-value workload of `raftkube chaos run`. A few concurrent workers, each acting as
 * one logical client process at a time, issue reads, writes and compare-and-sets over a small
 * set of keys with values that are never written twice, and record every invocation and its
 * outcome. A key retires after a bounded number of operations and a fresh one takes its place,
 * so each key's history stays small enough for the linearizability search.
 *
 * Outcomes: `ok` with what the cluster answered; `fail` only when the operation certainly did
 * not take effect (a read, a request that never left the client, a refusal before proposing);
 * `info` otherwise (a timeout, a dropped connection): it may still take effect, so the worker
 * takes a new process id and that process never issues again.
 */
import { status as Code } from '@grpc/grpc-js';
import { EtcdCallError, buf, type EtcdClient } from '../../kv/client/etcd-client.js';
import { responseDecoders } from '../../kv/proto/index.js';
import { seededRng, type Rng } from '../../raft/rng.js';
import type { HistoryOp, OpF, OpValue, Recorder } from '../runner/recorder.js';

/** KvWorkloadOptions shape the load. */
export interface KvWorkloadOptions {
  /** prefix is put before every key in the store ("k3" is stored as prefix + "k3"). */
  readonly prefix: string;
  /** workers is how many operations are in flight at most. */
  readonly workers: number;
  /** keys is how many keys are in use at once. */
  readonly keys: number;
  /** opsPerKey retires a key after this many invocations. */
  readonly opsPerKey: number;
  /** rate bounds the operations a second, over all workers. */
  readonly rate: number;
  /** timeoutMs is each request's deadline; past it the outcome is `info`. */
  readonly timeoutMs: number;
  readonly seed: number;
}

/** DEFAULT_KV_WORKLOAD are the knobs `chaos run` uses unless told otherwise. */
export const DEFAULT_KV_WORKLOAD: Omit<KvWorkloadOptions, 'prefix' | 'seed'> = { workers: 6, keys: 6, opsPerKey: 250, rate: 150, timeoutMs: 1500 };

/** Outcome is how one request ended. */
export type Outcome =
  | { readonly type: 'ok'; readonly value: OpValue }
  | { readonly type: 'fail' | 'info'; readonly error: string };

/** KvStats counts outcomes so far (for the progress line). */
export interface KvStats {
  ok: number;
  fail: number;
  info: number;
}

/** WORKLOAD_ERROR_DEFINITE matches failures that certainly did not reach the state machine. */
const DEFINITE = /No connection established|ECONNREFUSED|etcdserver: no leader|etcdserver: not leader|etcdserver: server stopped/;

/**
 * classify decides what a failed request means for the history: a read never changes state, so
 * a failed read is `fail`; a write or cas fails for certain only when the request never left the
 * client or the server refused it before proposing; everything else is `info`.
 */
export function classify(f: OpF, err: unknown): Outcome {
  const raw = err instanceof EtcdCallError ? `${Code[err.code] ?? err.code}: ${err.details}` : err instanceof Error ? err.message : String(err);
  const text = raw.replace(/\s*Resolution note:\s*$/, '');
  if (f === 'read') return { type: 'fail', error: text };
  if (err instanceof EtcdCallError) {
    if (DEFINITE.test(err.details)) return { type: 'fail', error: text };
    // A request the server rejected as malformed or out of range did nothing.
    if (err.code === Code.INVALID_ARGUMENT || err.code === Code.OUT_OF_RANGE || err.code === Code.FAILED_PRECONDITION || err.code === Code.NOT_FOUND) return { type: 'fail', error: text };
  }
  return { type: 'info', error: text };
}

function decodeValue(bytes: Uint8Array): number | null {
  const n = Number(Buffer.from(bytes).toString());
  return Number.isSafeInteger(n) ? n : null;
}

/** KvOps runs single requests on one endpoint and turns them into outcomes. */
export class KvOps {
  readonly #client: EtcdClient;
  readonly #prefix: string;

  constructor(client: EtcdClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  async run(endpoint: number, f: OpF, key: string, value: OpValue): Promise<Outcome> {
    const k = buf(`${this.#prefix}${key}`);
    try {
      switch (f) {
        case 'read': {
          const r = await this.#client.unaryAt(endpoint, 'KV', 'Range', { key: k, serializable: false }, responseDecoders.RangeResponse);
          const kv = r.kvs[0];
          return { type: 'ok', value: kv === undefined ? null : decodeValue(kv.value) };
        }
        case 'write':
          await this.#client.unaryAt(endpoint, 'KV', 'Put', { key: k, value: buf(String(value)) }, responseDecoders.PutResponse);
          return { type: 'ok', value };
        case 'cas': {
          if (!Array.isArray(value)) throw new Error('BUG: a cas needs [expected, new]');
          const [expected, next] = value as readonly [number | null, number];
          const compare = expected === null
            ? { key: k, target: 'VERSION', result: 'EQUAL', version: 0 }
            : { key: k, target: 'VALUE', result: 'EQUAL', value: buf(String(expected)) };
          const r = await this.#client.unaryAt(endpoint, 'KV', 'Txn', { compare: [compare], success: [{ request_put: { key: k, value: buf(String(next)) } }], failure: [] }, responseDecoders.TxnResponse);
          return r.succeeded ? { type: 'ok', value } : { type: 'fail', error: 'compare failed' };
        }
      }
    } catch (err: unknown) {
      return classify(f, err);
    }
  }
}

/** KvWorkload drives the workers until stopped. */
export class KvWorkload {
  readonly stats: KvStats = { ok: 0, fail: 0, info: 0 };
  readonly #o: KvWorkloadOptions;
  readonly #ops: KvOps;
  readonly #rec: Recorder;
  readonly #endpoints: number;
  readonly #rng: Rng;
  readonly #active: string[] = [];
  readonly #used = new Map<string, number>();
  /** #lastSeen is the latest value any client saw for a key, the expected value of a cas. */
  readonly #lastSeen = new Map<string, number | null>();
  #nextKey = 0;
  #nextValue = 1;
  #stopped = false;
  #running: Promise<void>[] = [];

  constructor(client: EtcdClient, rec: Recorder, o: KvWorkloadOptions) {
    this.#o = o;
    this.#ops = new KvOps(client, o.prefix);
    this.#rec = rec;
    this.#endpoints = client.endpoints.length;
    this.#rng = seededRng(o.seed ^ 0x5eed);
    for (let i = 0; i < o.keys; i++) this.#active.push(this.#freshKey());
  }

  /** keysUsed lists every key any operation touched (for the final reads). */
  keysUsed(): string[] {
    return [...this.#used.keys()];
  }

  start(): void {
    this.#running = Array.from({ length: this.#o.workers }, (_, w) => this.#worker(w));
  }

  /** stop lets in-flight operations finish (each is bounded by its deadline) and resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
  }

  #freshKey(): string {
    const k = `k${this.#nextKey++}`;
    this.#used.set(k, 0);
    return k;
  }

  #pickKey(): string {
    const slot = this.#rng.int(this.#active.length);
    const k = this.#active[slot]!;
    const n = (this.#used.get(k) ?? 0) + 1;
    this.#used.set(k, n);
    if (n >= this.#o.opsPerKey) this.#active[slot] = this.#freshKey();
    return k;
  }

  #nextOp(): { f: OpF; key: string; value: OpValue } {
    const key = this.#pickKey();
    const roll = this.#rng.int(10);
    if (roll < 4) return { f: 'read', key, value: null };
    if (roll < 8) return { f: 'write', key, value: this.#nextValue++ };
    return { f: 'cas', key, value: [this.#lastSeen.get(key) ?? null, this.#nextValue++] };
  }

  async #worker(w: number): Promise<void> {
    let proc = this.#rec.newProcess();
    let endpoint = w % this.#endpoints;
    const intervalMs = (1000 * this.#o.workers) / this.#o.rate;
    while (!this.#stopped) {
      const started = performance.now();
      const { f, key, value } = this.#nextOp();
      const inv = this.#rec.invoke(proc, f, key, value);
      const out = await this.#ops.run(endpoint, f, key, value);
      this.#record(inv, out);
      if (out.type !== 'ok') endpoint = (endpoint + 1) % this.#endpoints;
      // NB: a process whose outcome is unknown never issues again: the checker treats its
      // operation as possibly still in flight until the end of the history.
      if (out.type === 'info') proc = this.#rec.newProcess();
      const wait = intervalMs - (performance.now() - started);
      // Pacing to the configured rate, not synchronisation.
      if (wait > 0 && !this.#stopped) await new Promise((r) => setTimeout(r, wait));
    }
  }

  #record(inv: HistoryOp, out: Outcome): void {
    if (out.type === 'ok') {
      this.stats.ok++;
      this.#rec.complete(inv, 'ok', out.value);
      if (inv.f === 'read') this.#lastSeen.set(inv.key, out.value as number | null);
      else if (inv.f === 'write') this.#lastSeen.set(inv.key, inv.value as number);
      else this.#lastSeen.set(inv.key, (inv.value as readonly [number | null, number])[1]);
      return;
    }
    this.stats[out.type]++;
    this.#rec.complete(inv, out.type, inv.value, out.error);
  }
}

/**
 * finalReads reads every key once the cluster has recovered, retrying each (as a new process
 * after an unknown outcome) until one read succeeds or the deadline passes. Returns the keys
 * that could not be read.
 */
export async function finalReads(client: EtcdClient, rec: Recorder, prefix: string, keys: readonly string[], o: { readonly deadlineMs: number }): Promise<string[]> {
  const ops = new KvOps(client, prefix);
  const deadline = Date.now() + o.deadlineMs;
  const unread: string[] = [];
  const proc = rec.newProcess();
  let endpoint = 0;
  for (const key of keys) {
    let done = false;
    while (!done && Date.now() < deadline) {
      const inv = rec.invoke(proc, 'read', key, null, { final: true });
      const out = await ops.run(endpoint, 'read', key, null);
      if (out.type === 'ok') {
        rec.complete(inv, 'ok', out.value);
        done = true;
      } else {
        rec.complete(inv, 'fail', null, out.error);
        endpoint = (endpoint + 1) % client.endpoints.length;
        // Back off before asking the next member (a retry pace, not synchronisation).
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if (!done) unread.push(key);
  }
  return unread;
}
