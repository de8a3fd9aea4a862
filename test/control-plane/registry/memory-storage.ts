/**
 * memory-storage: an in-memory StoragePort for registry tests — a revisioned map with
 * compare-and-swap, continue tokens and a watch log — so the registry's semantics can be
 * checked without processes. The production port is the etcd-backed one.
 */
import type { KubeObject, ResourceInfo, Result } from '../../../src/control-plane/api/types.js';
import { err, ok } from '../../../src/control-plane/api/types.js';
import type { Disposable } from '../../../src/control-plane/apiserver/registry-api.js';
import type { CacheEvent, CacheWatchOptions, ObjectStorePort, PortError, PortList, PortWriteConditions, StoragePort, WatchCachePort } from '../../../src/control-plane/apiserver/registry/storage-port.js';
import { fencedMessage } from '../../../src/control-plane/storage/fencing.js';
import { resourcePrefix } from '../../../src/control-plane/storage/keys.js';

interface Entry {
  readonly value: string;
  readonly modRevision: number;
  readonly createRevision: number;
}

interface LogEntry {
  readonly key: string;
  readonly revision: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

/** MemoryStore is a revisioned key-value map shaped like the etcd layer. */
export class MemoryStore implements ObjectStorePort {
  readonly #data = new Map<string, Entry>();
  readonly log: LogEntry[] = [];
  revision = 1;
  readonly #listeners = new Set<(e: LogEntry) => void>();

  #decode(e: Entry): KubeObject {
    const obj = JSON.parse(e.value) as KubeObject;
    obj.metadata.resourceVersion = String(e.modRevision);
    return obj;
  }

  #record(key: string, type: LogEntry['type'], object: KubeObject): void {
    const entry = { key, revision: this.revision, type, object };
    this.log.push(entry);
    for (const l of this.#listeners) l(entry);
  }

  /** onChange subscribes to every change. */
  onChange(l: (e: LogEntry) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /**
   * #fenceFails is the refusal of a write whose fence's Lease is not (or no longer) in the
   * fence's term — checked in the same synchronous step as the write, so as atomic as etcd's compare.
   */
  #fenceFails(c: PortWriteConditions | undefined): PortError | null {
    const f = c?.fence;
    if (f === undefined) return null;
    const e = this.#data.get(`/registry/coordination.k8s.io/leases/${f.namespace}/${f.name}`);
    const spec = e === undefined ? undefined : (JSON.parse(e.value) as { spec?: { holderIdentity?: string; leaseTransitions?: number } }).spec;
    if (spec !== undefined && spec.holderIdentity === f.holderIdentity && (spec.leaseTransitions ?? 0) === f.leaseTransitions) return null;
    return { kind: 'fenced', message: fencedMessage(f) };
  }

  async create(key: string, obj: KubeObject, c?: PortWriteConditions): Promise<Result<KubeObject, PortError>> {
    const fenced = this.#fenceFails(c);
    if (fenced !== null) return err(fenced);
    if (this.#data.has(key)) return err({ kind: 'already-exists', message: `${key} exists` });
    this.revision++;
    const stored = structuredClone(obj);
    delete stored.metadata.resourceVersion;
    const e = { value: JSON.stringify(stored), modRevision: this.revision, createRevision: this.revision };
    this.#data.set(key, e);
    const out = this.#decode(e);
    this.#record(key, 'ADDED', out);
    return ok(out);
  }

  async get(key: string): Promise<Result<KubeObject | null, PortError>> {
    const e = this.#data.get(key);
    return ok(e === undefined ? null : this.#decode(e));
  }

  async list(prefix: string, o: { readonly limit?: number; readonly continueKey?: string; readonly revision?: number }): Promise<Result<PortList, PortError>> {
    const keys = [...this.#data.keys()].filter((k) => k.startsWith(prefix)).sort();
    let start = 0;
    if (o.continueKey !== undefined) {
      const after = Buffer.from(o.continueKey, 'base64url').toString('utf8');
      start = keys.findIndex((k) => k > after);
      if (start < 0) start = keys.length;
    }
    const rest = keys.slice(start);
    const page = o.limit !== undefined && o.limit > 0 ? rest.slice(0, o.limit) : rest;
    const more = rest.length > page.length;
    return ok({
      items: page.map((k) => this.#decode(this.#data.get(k)!)),
      revision: o.revision ?? this.revision,
      continueKey: more ? Buffer.from(page[page.length - 1]!).toString('base64url') : null,
      remaining: rest.length - page.length,
    });
  }

  continueToken(_revision: number, afterKey: string): string {
    return Buffer.from(afterKey).toString('base64url');
  }

  async update(key: string, obj: KubeObject, expectedRevision: number, c?: PortWriteConditions): Promise<Result<KubeObject, PortError>> {
    const fenced = this.#fenceFails(c);
    if (fenced !== null) return err(fenced);
    const cur = this.#data.get(key);
    if (cur === undefined) return err({ kind: 'not-found', message: `${key} not found` });
    if (cur.modRevision !== expectedRevision) return err({ kind: 'conflict', message: 'revision mismatch' });
    this.revision++;
    const stored = structuredClone(obj);
    delete stored.metadata.resourceVersion;
    const e = { value: JSON.stringify(stored), modRevision: this.revision, createRevision: cur.createRevision };
    this.#data.set(key, e);
    const out = this.#decode(e);
    this.#record(key, 'MODIFIED', out);
    return ok(out);
  }

  async delete(key: string, expectedRevision?: number, c?: PortWriteConditions): Promise<Result<KubeObject, PortError>> {
    const fenced = this.#fenceFails(c);
    if (fenced !== null) return err(fenced);
    const cur = this.#data.get(key);
    if (cur === undefined) return err({ kind: 'not-found', message: `${key} not found` });
    if (expectedRevision !== undefined && cur.modRevision !== expectedRevision) return err({ kind: 'conflict', message: 'revision mismatch' });
    this.revision++;
    this.#data.delete(key);
    const out = this.#decode(cur);
    out.metadata.resourceVersion = String(this.revision);
    this.#record(key, 'DELETED', out);
    return ok(out);
  }

  async currentRevision(): Promise<Result<number, PortError>> {
    return ok(this.revision);
  }

  /** keys lists the stored keys (for assertions). */
  keys(): string[] {
    return [...this.#data.keys()].sort();
  }
}

/** MemoryCache is a watch cache over a MemoryStore for one resource. */
class MemoryCache implements WatchCachePort {
  readonly #store: MemoryStore;
  readonly #res: ResourceInfo;

  constructor(store: MemoryStore, res: ResourceInfo) {
    this.#store = store;
    this.#res = res;
  }

  async list(o: { readonly namespace?: string; readonly filter?: (obj: KubeObject) => boolean }): Promise<Result<{ readonly items: readonly KubeObject[]; readonly revision: number }, PortError>> {
    const r = await this.#store.list(resourcePrefix(this.#res, o.namespace), {});
    if (!r.ok) return r;
    return ok({ items: r.value.items.filter((x) => o.filter?.(x) ?? true), revision: r.value.revision });
  }

  watch(o: CacheWatchOptions, sink: { readonly event: (ev: CacheEvent) => void; readonly closed: (err: PortError | null) => void }): Result<Disposable, PortError> {
    const prefix = resourcePrefix(this.#res, o.namespace);
    const matches = (x: KubeObject): boolean => o.filter?.(x) ?? true;
    if (o.sendInitialEvents === true) {
      void this.list({ ...(o.namespace === undefined ? {} : { namespace: o.namespace }), ...(o.filter === undefined ? {} : { filter: o.filter }) }).then((r) => {
        if (r.ok) for (const it of r.value.items) sink.event({ type: 'ADDED', object: it, revision: Number(it.metadata.resourceVersion) });
      });
    } else {
      for (const e of this.#store.log) if (e.revision > o.fromRevision && e.key.startsWith(prefix) && matches(e.object)) sink.event({ type: e.type, object: e.object, revision: e.revision });
    }
    const off = this.#store.onChange((e) => {
      if (e.key.startsWith(prefix) && matches(e.object)) sink.event({ type: e.type, object: e.object, revision: e.revision });
    });
    return ok({ dispose: off });
  }
}

/** memoryStorage builds a StoragePort over one MemoryStore. */
export function memoryStorage(store = new MemoryStore()): StoragePort & { readonly store: MemoryStore } {
  const caches = new Map<string, MemoryCache>();
  return {
    store,
    cacheFor(res: ResourceInfo): WatchCachePort {
      const k = `${res.group}/${res.plural}`;
      let c = caches.get(k);
      if (c === undefined) {
        c = new MemoryCache(store, res);
        caches.set(k, c);
      }
      return c;
    },
  };
}
