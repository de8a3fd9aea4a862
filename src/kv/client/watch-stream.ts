/**
 * watch-stream: one etcd v3 Watch stream to one endpoint, carrying any number of watchers.
 * `create` and `cancel` resolve when the server confirms; events go to one callback. Used by the
 * benchmarks, so the same client code watches raftkube and a real etcd.
 *
 * NB: etcd answers create requests on a stream in the order they were sent (it assigns watch
 * ids in that order when the client leaves watch_id 0), so pending creates are a FIFO queue.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeWatchResponse, loadProtoDefinitions } from '../proto/index.js';
import type { Decoded, Event, ResponseHeader, WatchResponse } from '../proto/index.js';
import { buf, EtcdCallError, type EtcdClient } from './etcd-client.js';

/** WatchEventsHandler receives the events of one watcher, in revision order. */
export type WatchEventsHandler = (watchId: number, events: readonly Event[], header: ResponseHeader) => void;

/** WatchStreamOptions configures a stream. */
export interface WatchStreamOptions {
  /** onEvents is called for every response that carries events. */
  readonly onEvents: WatchEventsHandler;
  /** onError is called once if the stream fails for any reason other than close(). */
  readonly onError?: (err: Error) => void;
  /**
   * onProgress is called for a progress response (no events): every change up to
   * header.revision that the watcher should see has been delivered.
   */
  readonly onProgress?: (watchId: number, header: ResponseHeader) => void;
  /**
   * onCanceled is called when the server ends a watcher it had confirmed, without a cancel()
   * from us: compactRevision > 0 means the watcher's next revision was compacted.
   */
  readonly onCanceled?: (watchId: number, why: { readonly compactRevision: number; readonly reason: string }) => void;
}

/** WatchCreateOptions narrows what a new watcher sees. */
export interface WatchCreateOptions {
  /** rangeEnd ends the watched range (exclusive); see prefixEnd. Default: the key alone. */
  readonly rangeEnd?: Uint8Array | string;
  /** startRevision replays history from this revision; 0 (default) means from now on. */
  readonly startRevision?: number;
  /** prevKv asks for the previous key-value with each event. */
  readonly prevKv?: boolean;
  /** progressNotify asks for the server's periodic progress responses while the watcher is idle. */
  readonly progressNotify?: boolean;
}

interface Pending<T> {
  readonly resolve: (v: T) => void;
  readonly reject: (e: Error) => void;
}

/** prefixEnd is the range end that makes a range cover every key starting with `prefix`. */
export function prefixEnd(prefix: Uint8Array | string): Buffer {
  const b = Buffer.from(buf(prefix));
  for (let i = b.length - 1; i >= 0; i--) {
    const byte = b[i]!;
    if (byte < 0xff) {
      b[i] = byte + 1;
      return b.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff: the range runs to the end of the keyspace (etcd's "\0" range end).
  return Buffer.from([0]);
}

/** WatchStream is one bidirectional Watch stream on one endpoint of an EtcdClient. */
export class WatchStream {
  readonly endpoint: string;
  readonly #call: grpc.ClientDuplexStream<unknown, Decoded<WatchResponse>>;
  readonly #o: WatchStreamOptions;
  readonly #creates: Pending<number>[] = [];
  readonly #cancels = new Map<number, Pending<void>>();
  #closed = false;
  #failed: Error | null = null;

  constructor(client: EtcdClient, endpointIndex: number, o: WatchStreamOptions) {
    const m = loadProtoDefinitions().etcd.Watch.Watch;
    this.endpoint = client.endpoints[endpointIndex] ?? `#${endpointIndex}`;
    this.#o = o;
    // NB: responses are read straight from their bytes (watch-response-wire.ts), not through
    // protobufjs's objects; that is most of what a busy watch client spends.
    this.#call = client.rawClient(endpointIndex).makeBidiStreamRequest(m.path, m.requestSerialize, decodeWatchResponse, new grpc.Metadata(), {});
    this.#call.on('data', (d: Decoded<WatchResponse>) => this.#onData(d));
    this.#call.on('error', (err: grpc.ServiceError) => this.#fail(new EtcdCallError(err.code, err.details, this.endpoint)));
    this.#call.on('end', () => this.#fail(new Error(`Watch stream to ${this.endpoint} ended`)));
  }

  /** create starts a watcher and resolves with its id once the server confirms it. */
  create(key: Uint8Array | string, o: WatchCreateOptions = {}): Promise<number> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error('Watch stream is closed'));
    return new Promise<number>((resolve, reject) => {
      this.#creates.push({ resolve, reject });
      this.#call.write({
        create_request: {
          key: buf(key),
          range_end: o.rangeEnd === undefined ? Buffer.alloc(0) : buf(o.rangeEnd),
          start_revision: o.startRevision ?? 0,
          prev_kv: o.prevKv ?? false,
          progress_notify: o.progressNotify ?? false,
        },
      });
    });
  }

  /** cancel stops one watcher and resolves once the server confirms. */
  cancel(watchId: number): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error('Watch stream is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#cancels.set(watchId, { resolve, reject });
      this.#call.write({ cancel_request: { watch_id: watchId } });
    });
  }

  /**
   * requestProgress asks the server for a progress response for every watcher on the stream
   * (etcd's WatchProgressRequest); answers arrive through onProgress. Ignored once closed.
   */
  requestProgress(): void {
    if (this.#failed !== null || this.#closed) return;
    this.#call.write({ progress_request: {} });
  }

  /** close ends the stream; pending creates and cancels are rejected. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectAll(new Error('Watch stream closed'));
    this.#call.cancel();
  }

  #onData(d: Decoded<WatchResponse>): void {
    if (!d.ok) {
      this.#fail(new Error(`Malformed WatchResponse from ${this.endpoint}: ${d.error}`));
      this.#call.cancel();
      return;
    }
    const r = d.value;
    if (r.created) {
      const p = this.#creates.shift();
      if (r.canceled) p?.reject(new Error(`Watch refused by ${this.endpoint}: ${r.cancel_reason || `compacted at ${r.compact_revision}`}`));
      else p?.resolve(r.watch_id);
    } else if (r.canceled) {
      const p = this.#cancels.get(r.watch_id);
      this.#cancels.delete(r.watch_id);
      if (p !== undefined) p.resolve();
      else this.#o.onCanceled?.(r.watch_id, { compactRevision: r.compact_revision, reason: r.cancel_reason });
    }
    if (r.events.length > 0) this.#o.onEvents(r.watch_id, r.events, r.header);
    else if (!r.created && !r.canceled) this.#o.onProgress?.(r.watch_id, r.header);
  }

  #fail(err: Error): void {
    if (this.#closed || this.#failed !== null) return;
    this.#failed = err;
    this.#rejectAll(err);
    this.#o.onError?.(err);
  }

  #rejectAll(err: Error): void {
    for (const p of this.#creates.splice(0)) p.reject(err);
    for (const p of this.#cancels.values()) p.reject(err);
    this.#cancels.clear();
  }
}
