/**
 * watch-source: what a watch cache needs from the etcd layer — a list of a prefix at one
 * revision, and one watch of the prefix from a revision on — behind an interface, so the cache
 * runs against a real cluster (EtcdWatchSource) or a scripted fake in unit tests.
 *
 * EtcdWatchSource opens each watch on the next member in turn, so a cache whose stream broke
 * (its member died) resumes on another member.
 */
import { WatchStream, prefixEnd } from '../../kv/client/watch-stream.js';
import type { Event } from '../../kv/proto/index.js';
import { err, ok, type KubeObject, type Result } from '../api/types.js';
import { decodeObject } from './codec.js';
import type { StoreError } from './errors.js';
import type { ObjectStore } from './store.js';

/** SourceItem is one object of a list, with resourceVersion set. */
export interface SourceItem {
  readonly key: string;
  readonly object: KubeObject;
}

/** SourceListing is a whole prefix at one revision. */
export interface SourceListing {
  readonly items: readonly SourceItem[];
  readonly revision: number;
}

/** SourceEvent is one change from the watch: a put with the new object, or a delete with the previous one when known. */
export type SourceEvent =
  | { readonly type: 'put'; readonly key: string; readonly revision: number; readonly object: KubeObject }
  | { readonly type: 'delete'; readonly key: string; readonly revision: number; readonly prev: KubeObject | null };

/** SourceEnd says why a watch ended: its start revision was compacted (relist), or the stream broke (resume). */
export interface SourceEnd {
  readonly compacted: boolean;
  readonly message: string;
}

/** SourceHandlers receive one watch's output; `ended` is called at most once and nothing after it. */
export interface SourceHandlers {
  /** events are the changes of one response, in revision order. */
  readonly events: (events: readonly SourceEvent[]) => void;
  /** progress says every change up to `revision` has been delivered. */
  readonly progress: (revision: number) => void;
  readonly ended: (why: SourceEnd) => void;
}

/** SourceWatch is one open watch. */
export interface SourceWatch {
  /** endpoint names the member the watch is connected to. */
  readonly endpoint: string;
  /** requestProgress asks for a progress response (answered through `progress`). */
  requestProgress(): void;
  /** close ends the watch without calling `ended`. Idempotent. */
  close(): void;
}

/** CacheSource is the etcd layer as a watch cache sees it. */
export interface CacheSource {
  /** list reads every object under prefix at the latest revision. */
  list(prefix: string): Promise<Result<SourceListing, StoreError>>;
  /** watch follows prefix from `fromRevision` on (inclusive), with previous values for deletes. */
  watch(prefix: string, fromRevision: number, h: SourceHandlers): SourceWatch;
}

/** EtcdWatchSource is the CacheSource over an ObjectStore's etcd client. */
export class EtcdWatchSource implements CacheSource {
  readonly #store: ObjectStore;
  #next: number;
  /** opened counts the etcd watches this source created (each on its own stream). */
  opened = 0;
  /** undecodable counts events whose value was not an object's JSON (skipped). */
  undecodable = 0;

  constructor(store: ObjectStore, o: { readonly firstEndpoint?: number } = {}) {
    this.#store = store;
    this.#next = o.firstEndpoint ?? 0;
  }

  /** list reads the prefix in one range at the latest revision. */
  async list(prefix: string): Promise<Result<SourceListing, StoreError>> {
    const r = await this.#store.rangeRaw(prefix);
    if (!r.ok) return r;
    const items: SourceItem[] = [];
    for (const kv of r.value.kvs) {
      const key = Buffer.from(kv.key).toString('utf8');
      const o = decodeObject(kv.value, kv.mod_revision);
      if (typeof o === 'string') return err({ kind: 'internal', key, message: `The stored value of ${key} is ${o}; repair or delete the key with etcdctl` });
      items.push({ key, object: o });
    }
    return ok({ items, revision: r.value.header.revision });
  }

  /** watch opens one stream with one watcher on the next member in turn. */
  watch(prefix: string, fromRevision: number, h: SourceHandlers): SourceWatch {
    const endpoints = this.#store.client.endpoints;
    const i = this.#next % endpoints.length;
    this.#next = i + 1;
    this.opened++;
    let done = false;
    const end = (why: SourceEnd): void => {
      if (done) return;
      done = true;
      stream.close();
      h.ended(why);
    };
    const stream = new WatchStream(this.#store.client, i, {
      onEvents: (_id, events) => {
        if (done) return;
        const out: SourceEvent[] = [];
        for (const e of events) {
          const s = this.#toSourceEvent(e);
          if (s !== null) out.push(s);
        }
        h.events(out);
      },
      onProgress: (_id, header) => {
        if (!done) h.progress(header.revision);
      },
      onCanceled: (_id, why) => end({ compacted: why.compactRevision > 0, message: why.reason === '' ? `Watch canceled by ${stream.endpoint}` : why.reason }),
      onError: (e) => end({ compacted: false, message: e.message }),
    });
    stream.create(prefix, { rangeEnd: prefixEnd(prefix), startRevision: fromRevision, prevKv: true, progressNotify: true }).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      end({ compacted: /compacted/.test(message), message });
    });
    return {
      endpoint: stream.endpoint,
      requestProgress: () => stream.requestProgress(),
      close: () => {
        done = true;
        stream.close();
      },
    };
  }

  #toSourceEvent(e: Event): SourceEvent | null {
    const kv = e.kv;
    if (kv === undefined) return null;
    const key = Buffer.from(kv.key).toString('utf8');
    if (e.type === 'DELETE') {
      const prev = e.prev_kv === undefined ? null : decodeObject(e.prev_kv.value, e.prev_kv.mod_revision);
      return { type: 'delete', key, revision: kv.mod_revision, prev: typeof prev === 'string' ? null : prev };
    }
    const o = decodeObject(kv.value, kv.mod_revision);
    if (typeof o === 'string') {
      this.undecodable++;
      return null;
    }
    return { type: 'put', key, revision: kv.mod_revision, object: o };
  }
}
