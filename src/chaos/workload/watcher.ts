/**
 * watcher: one watch over the workload's key prefix that follows the whole run, from a given
 * revision to the end. When its stream breaks (a member killed, paused or cut off) it resumes
 * on the next member from the revision after the last event it received, so a correct cluster
 * delivers every revision exactly once and in order across reconnects — which the watch check
 * verifies. Every event and every (re)connection is recorded, in the watch check's format
 * (`{"type": "put", "key", "value", "modRevision", "revision", "response"}` and
 * `{"type": "reconnect", "fromRevision"}`; the first reconnect is the start).
 */
import type { EtcdClient } from '../../kv/client/etcd-client.js';
import { prefixEnd, WatchStream } from '../../kv/client/watch-stream.js';
import type { Recorder } from '../runner/recorder.js';

/** WatcherOptions say what to follow. */
export interface WatcherOptions {
  readonly prefix: string;
  /** startRevision is the first revision to deliver (1 for a fresh cluster). */
  readonly startRevision: number;
}

/** WatcherStats is how the watcher is doing (for progress and the report). */
export interface WatcherStats {
  events: number;
  reconnects: number;
  /** nextRevision is the revision the watcher would resume from. */
  nextRevision: number;
  /** progressRevision is the latest revision the server said it has delivered everything up to. */
  progressRevision: number;
  /** compacted is set when the server could no longer serve the revision to resume from. */
  compacted: boolean;
}

/** Watcher follows the prefix until stopped. */
export class Watcher {
  readonly stats: WatcherStats;
  readonly #client: EtcdClient;
  readonly #rec: Recorder;
  readonly #o: WatcherOptions;
  #stream: WatchStream | null = null;
  #endpoint = 0;
  #stopped = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #responses = 0;

  constructor(client: EtcdClient, rec: Recorder, o: WatcherOptions) {
    this.#client = client;
    this.#rec = rec;
    this.#o = o;
    this.stats = { events: 0, reconnects: 0, nextRevision: o.startRevision, progressRevision: 0, compacted: false };
  }

  start(): void {
    this.#loop = this.#run();
  }

  /**
   * caughtUp asks the server for progress and tells whether the watcher has seen everything up
   * to `revision`.
   */
  caughtUp(revision: number): boolean {
    if (this.stats.nextRevision > revision || this.stats.progressRevision >= revision) return true;
    this.#stream?.requestProgress();
    return false;
  }

  /** reconnect drops the current stream and resumes on the next member (one that lags or is cut off). */
  reconnect(): void {
    this.#wake?.();
  }

  /** stop closes the stream. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stream?.close();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const prefix = Buffer.from(this.#o.prefix);
    while (!this.#stopped && !this.stats.compacted) {
      let wake: () => void = () => {};
      const ended = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.#wake = wake;
      const endpoint = this.#endpoint;
      this.#rec.watch.push({ type: 'reconnect', fromRevision: this.stats.nextRevision });
      const stream = new WatchStream(this.#client, endpoint, {
        onEvents: (_id, events, header) => {
          const response = this.#responses++;
          for (const e of events) {
            const kv = e.kv;
            if (kv === undefined) continue;
            // NB: record what arrived, as it arrived; the watch check judges order and gaps.
            const key = Buffer.from(kv.key).subarray(prefix.length).toString();
            const raw = Number(Buffer.from(kv.value).toString());
            const put = e.type === 'PUT';
            this.#rec.watch.push({ type: put ? 'put' : 'delete', key, value: put && Number.isSafeInteger(raw) ? raw : null, modRevision: kv.mod_revision, revision: header.revision, response });
            this.stats.events++;
            this.stats.nextRevision = Math.max(this.stats.nextRevision, kv.mod_revision + 1);
          }
        },
        onProgress: (_id, header) => {
          this.stats.progressRevision = Math.max(this.stats.progressRevision, header.revision);
        },
        onCanceled: (_id, why) => {
          if (why.compactRevision > 0) this.stats.compacted = true;
          wake();
        },
        onError: () => wake(),
      });
      this.#stream = stream;
      stream.create(prefix, { rangeEnd: prefixEnd(prefix), startRevision: this.stats.nextRevision, progressNotify: true }).catch(() => wake());
      await ended;
      stream.close();
      this.#stream = null;
      if (this.#stopped) return;
      this.stats.reconnects++;
      this.#endpoint = (this.#endpoint + 1) % this.#client.endpoints.length;
      // Back off a little before the next member (a retry pace, not synchronisation).
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
