/**
 * store: Kubernetes objects in the etcd layer, through the etcd v3 gRPC API only (with failover
 * across every member). Each write is one Txn that compares a revision — create_revision == 0
 * for create, mod_revision == the object's resourceVersion for update and delete — so that
 * concurrent writers never overwrite each other. Reads are linearizable; lists are one range,
 * paged by opaque continue tokens that pin the first page's revision, so the pages of one list
 * are one consistent snapshot (or 410 Gone once that revision is compacted).
 *
 * Every call is bounded: a deadline per gRPC call, and calls that fail for want of a leader or
 * a reachable member are retried with backoff only within `retryMs`; past that the caller gets
 * an `unavailable` (or `timeout`) error value, never a hang.
 *
 * NB: a write that timed out may still be applied (its proposal can outlive a dead leader).
 * Every write here is guarded by a compare, so a retry and the original can never both apply.
 * A create whose retry finds the key taken by exactly the bytes it wrote reports success.
 */
import { EtcdClient, buf, type EtcdTls } from '../../kv/client/etcd-client.js';
import { prefixEnd } from '../../kv/client/watch-stream.js';
import { responseDecoders, type Decoded, type KeyValue, type RangeResponse, type TxnResponse } from '../../kv/proto/index.js';
import { err, ok, type KubeObject, type Result } from '../api/types.js';
import { decodeObject, encodeObject, parseRevision, withResourceVersion } from './codec.js';
import {
  alreadyExists, callError, conflict, fenced, isSafeToRetryWrite, isUnavailableCall, notFound, type StoreError,
} from './errors.js';
import { fenceTerm, termKeyOfObject, termOfLease, type LeaseFence } from './fencing.js';

/** ObjectStoreOptions tune the store. */
export interface ObjectStoreOptions {
  /** deadlineMs bounds each gRPC call (default 5 s). */
  readonly deadlineMs?: number;
  /** retryMs is how long calls failing for want of a leader or in time are retried (default 10 s; 0: never). */
  readonly retryMs?: number;
  /** maxObjectBytes refuses larger objects before they reach etcd (default 1.5 MiB, etcd's request limit). */
  readonly maxObjectBytes?: number;
  /** maxUpdateAttempts bounds guaranteedUpdate's read-mutate-write rounds (default 8). */
  readonly maxUpdateAttempts?: number;
  /** tls is what the store presents to and checks the etcd layer with (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  readonly tls?: EtcdTls;
}

/**
 * WriteConditions add a condition to a write beyond its own compare: `fence` makes it apply only
 * while a kube-system Lease names the writer in the writer's term (see fencing.ts), in the same
 * transaction; a write refused for that is a 'fenced' error.
 */
export interface WriteConditions {
  readonly fence?: LeaseFence;
}

/** ListPageOptions select one page of a list. */
export interface ListPageOptions {
  /** limit is the page size; absent or 0 lists everything. */
  readonly limit?: number;
  /** continueKey is the token a previous page returned. */
  readonly continueKey?: string;
  /** revision reads at this revision (a consistent snapshot); absent reads the latest. */
  readonly revision?: number;
}

/** ListPage is one page of a list. */
export interface ListPage {
  /** items are in key order, each with resourceVersion = its mod revision. */
  readonly items: readonly KubeObject[];
  /** revision is the revision the page was read at (the list's resourceVersion). */
  readonly revision: number;
  /** continueKey fetches the next page; null on the last. */
  readonly continueKey: string | null;
  /** remaining counts the objects after this page (0 on the last). */
  readonly remaining: number;
}

/** Deletion is a deleted object's last state, with resourceVersion = the delete's revision. */
export type Deletion = KubeObject;

/** Mutation is guaranteedUpdate's mutate function: the new object, null to delete, or an error to stop. */
export type Mutation<E> = (current: KubeObject | null) => Result<KubeObject | null, E>;

/** GuaranteedUpdateOptions tune guaranteedUpdate. */
export interface GuaranteedUpdateOptions {
  /** allowCreate calls mutate with null when the object does not exist (otherwise: not-found). */
  readonly allowCreate?: boolean;
  /** current is a cached copy to try first (saving a read when it is fresh). */
  readonly current?: KubeObject;
}

/** UpdateOutcome is guaranteedUpdate's result: the object as stored (or last seen, when deleted). */
export interface UpdateOutcome {
  readonly object: KubeObject;
  /** deleted says the mutation deleted the object. */
  readonly deleted: boolean;
  /** unchanged says the mutation changed nothing, so nothing was written. */
  readonly unchanged: boolean;
}

const TOKEN_VERSION = 'meta.k8s.io/v1';

/** encodeContinue renders a continue token: base64url JSON of the list's revision and the key the next page starts at. */
export function encodeContinue(revision: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, rv: revision, start })).toString('base64url');
}

/** decodeContinue reads a continue token; a message saying what is wrong when it is not one. */
export function decodeContinue(token: string): { readonly rv: number; readonly start: string } | string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return 'The continue token is not valid; start the list again without it';
  }
  if (typeof v !== 'object' || v === null) return 'The continue token is not valid; start the list again without it';
  const o = v as Record<string, unknown>;
  if (o['v'] !== TOKEN_VERSION || typeof o['rv'] !== 'number' || !Number.isSafeInteger(o['rv']) || o['rv'] <= 0 || typeof o['start'] !== 'string' || o['start'] === '') {
    return 'The continue token is not valid; start the list again without it';
  }
  return { rv: o['rv'], start: o['start'] };
}

/** ObjectStore keeps Kubernetes objects in an etcd cluster; it owns its client (close() it). */
export class ObjectStore {
  readonly client: EtcdClient;
  readonly #retryMs: number;
  readonly #maxBytes: number;
  readonly #maxAttempts: number;
  #closed = false;
  /** #current is the member that answered last; calls start there. */
  #current = 0;

  constructor(endpoints: readonly string[], o: ObjectStoreOptions = {}) {
    this.client = new EtcdClient(endpoints, { deadlineMs: o.deadlineMs ?? 5_000, ...(o.tls === undefined ? {} : { tls: o.tls }) });
    this.#retryMs = o.retryMs ?? 10_000;
    this.#maxBytes = o.maxObjectBytes ?? 1.5 * 1024 * 1024;
    this.#maxAttempts = o.maxUpdateAttempts ?? 8;
  }

  /** create stores a new object; already-exists when the key is taken. */
  async create(key: string, obj: KubeObject, c: WriteConditions = {}): Promise<Result<KubeObject, StoreError>> {
    const value = this.#encode(key, obj);
    if (!value.ok) return value;
    const r = await this.#txn({
      compare: [{ key: buf(key), target: 'CREATE', result: 'EQUAL', create_revision: 0 }, ...fenceCompare(c)],
      success: [{ request_put: { key: buf(key), value: value.value } }, ...termUpkeep(key, obj)],
      failure: [{ request_range: { key: buf(key) } }, ...fenceProbe(c)],
    });
    if (!r.ok) return r;
    const res = r.value.response;
    if (!res.succeeded) {
      if (c.fence !== undefined && fenceFailed(res, c.fence)) return err(fenced(key, c.fence));
      // An attempt that timed out may have created it: then the stored bytes are exactly ours
      // (they carry the uid and creation time the registry set).
      const mine = r.value.ambiguous ? this.#ownWrite(res, value.value) : null;
      return mine ?? err(alreadyExists(key));
    }
    return ok(withResourceVersion(obj, res.header.revision));
  }

  /** get reads an object linearizably; null when there is none. */
  async get(key: string): Promise<Result<KubeObject | null, StoreError>> {
    const r = await this.#call(true, 'Gone', 'Range', { key: buf(key) }, responseDecoders.RangeResponse);
    if (!r.ok) return r;
    const kv = r.value.kvs[0];
    return kv === undefined ? ok(null) : this.#decode(kv);
  }

  /**
   * list reads the objects under `prefix` (which must end in '/'), one page at a time. The
   * first page is read at the latest revision (or at `revision`); the continue token pins that
   * revision, so every page belongs to one snapshot.
   */
  async list(prefix: string, o: ListPageOptions = {}): Promise<Result<ListPage, StoreError>> {
    let start = prefix;
    let revision = o.revision ?? 0;
    if (o.continueKey !== undefined && o.continueKey !== '') {
      const t = decodeContinue(o.continueKey);
      if (typeof t === 'string') return err({ kind: 'invalid', message: t });
      if (o.revision !== undefined && o.revision !== t.rv) {
        return err({ kind: 'invalid', message: 'A continue token already fixes the revision; pass either a resourceVersion or a continue token, not both' });
      }
      if (!t.start.startsWith(prefix)) return err({ kind: 'invalid', message: 'The continue token belongs to another list; start the list again without it' });
      start = t.start;
      revision = t.rv;
    }
    const limit = o.limit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0) return err({ kind: 'invalid', message: `The limit must be a non-negative integer (got ${limit})` });
    const gone = o.continueKey !== undefined && o.continueKey !== ''
      ? 'The provided continue parameter is too old to display a consistent list result; start a new list without the continue parameter'
      : `Too old resource version: ${revision}; list again without a resourceVersion to get the latest state`;
    const r = await this.#call(true, gone, 'Range', { key: buf(start), range_end: prefixEnd(prefix), limit, revision }, responseDecoders.RangeResponse);
    if (!r.ok) return r;
    const page = r.value;
    const items: KubeObject[] = [];
    for (const kv of page.kvs) {
      const d = this.#decode(kv);
      if (!d.ok) return d;
      items.push(d.value);
    }
    const readAt = revision === 0 ? page.header.revision : revision;
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || last === undefined) return ok({ items, revision: readAt, continueKey: null, remaining: 0 });
    // NB: the next page starts just after the last key: the key with a zero byte appended.
    const lastKey = Buffer.from(last.key).toString('utf8');
    return ok({ items, revision: readAt, continueKey: this.continueToken(readAt, lastKey), remaining: Math.max(0, page.count - page.kvs.length) });
  }

  /** continueToken is the token that resumes a list at `revision` just after the key `afterKey`. */
  continueToken(revision: number, afterKey: string): string {
    // NB: the next page starts just after afterKey: that key with a zero byte appended.
    return encodeContinue(revision, `${afterKey}\u0000`);
  }

  /** update replaces an object if its mod revision is still `expectedRevision`; conflict or not-found otherwise. */
  async update(key: string, obj: KubeObject, expectedRevision: number, c: WriteConditions = {}): Promise<Result<KubeObject, StoreError>> {
    const value = this.#encode(key, obj);
    if (!value.ok) return value;
    const r = await this.#txn({
      compare: [{ key: buf(key), target: 'MOD', result: 'EQUAL', mod_revision: expectedRevision }, ...fenceCompare(c)],
      success: [{ request_put: { key: buf(key), value: value.value } }, ...termUpkeep(key, obj)],
      failure: [{ request_range: { key: buf(key) } }, ...fenceProbe(c)],
    });
    if (!r.ok) return r;
    // NB: after an ambiguous attempt a conflict may be our own write; the caller re-reads and
    // sees it. Equal bytes are no proof (two writers may compute the same update from one base).
    const res = r.value.response;
    if (!res.succeeded && c.fence !== undefined && fenceFailed(res, c.fence)) return err(fenced(key, c.fence));
    if (!res.succeeded) return err(existsIn(res) ? conflict(key) : notFound(key));
    return ok(withResourceVersion(obj, res.header.revision));
  }

  /**
   * delete removes an object (only at `expectedRevision` when given) and returns its last
   * state with resourceVersion = the delete's revision.
   */
  async delete(key: string, expectedRevision?: number, c: WriteConditions = {}): Promise<Result<Deletion, StoreError>> {
    const r = await this.#txn({
      compare: [...(expectedRevision === undefined ? [] : [{ key: buf(key), target: 'MOD', result: 'EQUAL', mod_revision: expectedRevision }]), ...fenceCompare(c)],
      success: [{ request_delete_range: { key: buf(key), prev_kv: true } }, ...termUpkeep(key, null)],
      failure: [{ request_range: { key: buf(key) } }, ...fenceProbe(c)],
    });
    if (!r.ok) return r;
    const res = r.value.response;
    if (!res.succeeded && c.fence !== undefined && fenceFailed(res, c.fence)) return err(fenced(key, c.fence));
    // NB: after an ambiguous failure a not-found may mean our own delete applied; the caller
    // sees not-found, which deleters treat as done.
    if (!res.succeeded) return err(existsIn(res) ? conflict(key) : notFound(key));
    const op = res.responses[0];
    const prev = op?.response === 'response_delete_range' ? op.response_delete_range.prev_kvs[0] : undefined;
    if (prev === undefined) return err(notFound(key));
    const d = this.#decode(prev);
    if (!d.ok) return d;
    return ok(withResourceVersion(d.value, res.header.revision));
  }

  /**
   * guaranteedUpdate is read-modify-write with compare-and-swap, retried (a bounded number of
   * times) when someone else wrote in between. `mutate` may be called more than once, so it
   * must be a pure function of its argument; it returns the new object, null to delete the
   * object, or an error that ends the update. A mutation that changes nothing writes nothing.
   */
  async guaranteedUpdate<E>(key: string, mutate: Mutation<E>, o: GuaranteedUpdateOptions = {}): Promise<Result<UpdateOutcome, StoreError | E>> {
    let current: KubeObject | null | undefined = o.current;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      if (current === undefined) {
        const g = await this.get(key);
        if (!g.ok) return g;
        current = g.value;
      }
      if (current === null && o.allowCreate !== true) return err(notFound(key));
      const m = mutate(current);
      if (!m.ok) return m;
      const next = m.value;
      let w: Result<KubeObject, StoreError>;
      if (current === null) {
        if (next === null) return err(notFound(key));
        w = await this.create(key, next);
        if (!w.ok && w.error.kind === 'already-exists') {
          current = undefined;
          continue;
        }
        if (!w.ok) return w;
        return ok({ object: w.value, deleted: false, unchanged: false });
      }
      const rv = parseRevision(current.metadata.resourceVersion);
      if (rv === null) throw new Error(`guaranteedUpdate: the current object of ${key} has no resourceVersion; pass objects read from the store`);
      if (next === null) {
        const d = await this.delete(key, rv);
        if (d.ok) return ok({ object: d.value, deleted: true, unchanged: false });
        w = d;
      } else if (sameContent(current, next)) {
        if (o.current !== undefined && attempt === 0) {
          // The cached copy may be stale: confirm against the store before reporting no change.
          current = undefined;
          continue;
        }
        return ok({ object: current, deleted: false, unchanged: true });
      } else {
        w = await this.update(key, next, rv);
        if (w.ok) return ok({ object: w.value, deleted: false, unchanged: false });
      }
      if (w.error.kind === 'conflict') {
        current = undefined;
        continue;
      }
      if (w.error.kind === 'not-found') {
        current = null;
        if (o.allowCreate !== true) return err(notFound(key));
        continue;
      }
      return w;
    }
    return err({ ...conflict(key), message: `${conflict(key).message} (gave up after ${this.#maxAttempts} attempts)` });
  }

  /** currentRevision is the cluster's current revision (a linearizable read). */
  async currentRevision(): Promise<Result<number, StoreError>> {
    const r = await this.#call(true, 'Gone', 'Range', { key: buf('\u0000'), keys_only: true, limit: 1 }, responseDecoders.RangeResponse);
    return r.ok ? ok(r.value.header.revision) : r;
  }

  /** compact discards history before `revision` (an etcd Compact, waiting until it is applied). */
  async compact(revision: number): Promise<Result<void, StoreError>> {
    const r = await this.#call(false, `Revision ${revision} is already compacted`, 'Compact', { revision, physical: true }, responseDecoders.CompactionResponse);
    return r.ok ? ok(undefined) : r;
  }

  /** rangeRaw is one range of raw key-values (for the watch cache's list). */
  async rangeRaw(prefix: string, revision = 0): Promise<Result<RangeResponse, StoreError>> {
    return this.#call(true, `Too old resource version: ${revision}`, 'Range', { key: buf(prefix), range_end: prefixEnd(prefix), revision }, responseDecoders.RangeResponse);
  }

  /** close releases the client's connections. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
  }

  #encode(key: string, obj: KubeObject): Result<Buffer, StoreError> {
    const value = encodeObject(obj);
    if (value.length > this.#maxBytes) {
      return err({ kind: 'too-large', message: `${key} is ${value.length} bytes, over the limit of ${this.#maxBytes}; make it smaller` });
    }
    return ok(value);
  }

  #decode(kv: KeyValue): Result<KubeObject, StoreError> {
    const d = decodeObject(kv.value, kv.mod_revision);
    if (typeof d !== 'string') return ok(d);
    const key = Buffer.from(kv.key).toString('utf8');
    return err({ kind: 'internal', key, message: `The stored value of ${key} is ${d}; repair or delete the key with etcdctl` });
  }

  /**
   * #txn runs a compare-guarded transaction, retried like a read (see the module comment);
   * `ambiguous` says an attempt failed in a way that may have applied it.
   */
  async #txn(req: object): Promise<Result<{ readonly response: TxnResponse; readonly ambiguous: boolean }, StoreError>> {
    const state = { ambiguous: false };
    const r = await this.#call(true, 'Gone', 'Txn', req, responseDecoders.TxnResponse, state);
    return r.ok ? ok({ response: r.value, ambiguous: state.ambiguous }) : r;
  }

  /** #ownWrite is the stored object when a failed compare found exactly the bytes we wrote. */
  #ownWrite(r: TxnResponse, written: Buffer): Result<KubeObject, StoreError> | null {
    const op = r.responses[0];
    const kv = op?.response === 'response_range' ? op.response_range.kvs[0] : undefined;
    if (kv === undefined || !Buffer.from(kv.value).equals(written)) return null;
    return this.#decode(kv);
  }

  /**
   * #call runs one KV call. A member that is down, has no leader or does not answer in time is
   * skipped for the next one; once every member failed, the round is retried after a backoff,
   * until retryMs has passed. A call that is not `repeatable` is retried only after failures
   * that never reached a state machine; `state.ambiguous` records any other retried failure.
   */
  async #call<T>(
    repeatable: boolean, compactedMessage: string, method: 'Range' | 'Txn' | 'Compact', req: object,
    decode: (v: unknown) => Decoded<T>, state: { ambiguous: boolean } = { ambiguous: false },
  ): Promise<Result<T, StoreError>> {
    const n = this.client.endpoints.length;
    const deadline = Date.now() + this.#retryMs;
    let backoff = 50;
    let i = this.#current;
    for (;;) {
      for (let tried = 0; tried < n; tried++, i = (i + 1) % n) {
        try {
          const v = await this.client.unaryAt(i, 'KV', method, req, decode);
          this.#current = i;
          return ok(v);
        } catch (e: unknown) {
          const retry = isUnavailableCall(e) && (repeatable || isSafeToRetryWrite(e)) && !this.#closed && (tried < n - 1 || Date.now() + backoff < deadline);
          if (!retry) {
            const mapped = callError(e, compactedMessage);
            if (mapped === null) throw e;
            return err(mapped);
          }
          if (!isSafeToRetryWrite(e)) state.ambiguous = true;
        }
      }
      await new Promise<void>((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, 500);
    }
  }
}

/** fenceCompare is the compare that holds only while the fence's Lease is in the writer's term. */
function fenceCompare(c: WriteConditions): object[] {
  if (c.fence === undefined) return [];
  const t = fenceTerm(c.fence);
  return [{ key: buf(t.key), target: 'VALUE', result: 'EQUAL', value: buf(t.value) }];
}

/** fenceProbe reads the term record when the transaction fails, to tell a fenced write from a lost race. */
function fenceProbe(c: WriteConditions): object[] {
  return c.fence === undefined ? [] : [{ request_range: { key: buf(fenceTerm(c.fence).key) } }];
}

/** fenceFailed says whether a failed transaction failed for its fence (the term record read by fenceProbe differs). */
function fenceFailed(r: TxnResponse, f: LeaseFence): boolean {
  const op = r.responses[1];
  const kv = op?.response === 'response_range' ? op.response_range.kvs[0] : undefined;
  return kv === undefined || Buffer.from(kv.value).toString('utf8') !== fenceTerm(f).value;
}

/**
 * termUpkeep keeps a kube-system Lease's term record in step with the Lease, in the Lease's own
 * transaction: written with every write of the Lease (`obj`), deleted with it (null).
 */
function termUpkeep(key: string, obj: KubeObject | null): object[] {
  const tk = termKeyOfObject(key);
  if (tk === null) return [];
  return obj === null ? [{ request_delete_range: { key: buf(tk) } }] : [{ request_put: { key: buf(tk), value: buf(termOfLease(obj)) } }];
}

function existsIn(r: TxnResponse): boolean {
  const op = r.responses[0];
  return op?.response === 'response_range' && op.response_range.kvs.length > 0;
}

/** sameContent compares two objects ignoring resourceVersion (the stored bytes would be equal). */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  return encodeObject(a).equals(encodeObject(b));
}
