/**
 * watch-service: etcdserverpb.Watch — one bidirectional stream multiplexing many watchers of
 * the member's watch hub. Events come from applied entries only, in revision order; large
 * responses are split into fragments when the watcher asked for it; a consumer that stops
 * reading is cancelled by the hub with a reason rather than slowing writes down.
 *
 * Responses are encoded by hand (watch-wire.ts, each event once for all its watchers). Where the
 * HTTP/2 stream under the call is at hand (raw-stream.ts), the responses produced in one turn —
 * one change reaching every watcher of the stream, say — leave in one write; otherwise each goes
 * through grpc-js as a message of its own.
 */
import * as grpc from '@grpc/grpc-js';
import { requestDecoders } from '../../proto/index.js';
import type { WatchHandlers } from '../../proto/index.js';
import { Batch, eventBytes, eventsBytes, type WatchHub, type Watcher, type WatchResponse, type WatchEvent } from '../../watch/index.js';
import type { KvServer } from '../kv-server.js';
import { toServiceError } from '../errors.js';
import { rawStreamOf, type RawStream } from './raw-stream.js';
import { WatchWire, type WireResponse } from './watch-wire.js';

/** MERGE_BYTES bounds the events merged into one response for a watcher that fell behind. */
const MERGE_BYTES = 256 * 1024;
const NO_EVENTS: readonly WatchEvent[] = [];

interface Active {
  readonly watcher: Watcher;
  readonly fragment: boolean;
}

/**
 * Sink is where one Watch stream's responses go: `send` queues one, `blocked` says the
 * transport asked to wait (the stream then calls `onDrain` when it may go on), `flush` pushes
 * out whatever is queued now.
 */
interface Sink {
  send(r: WireResponse): void;
  readonly blocked: boolean;
  flush(): void;
}

/**
 * RawSink batches the responses of one turn into one write on the HTTP/2 stream (gRPC-framed).
 * Each response is sized (and checked) as it is sent, and the turn's responses are written
 * straight into one buffer of their total size: no buffer per response, no copy to join them.
 *
 * It holds its watchers back while a write is still on its way to the socket: what they
 * produce meanwhile is merged into fewer, larger responses on the next turn (see `drain`), as
 * under grpc-js, whose stream paused the handler after 16 messages. An idle stream writes at once.
 */
class RawSink implements Sink {
  readonly #raw: RawStream;
  readonly #wire: WatchWire;
  readonly #onDrain: () => void;
  /** #pending are this turn's responses, each with the header field it was sized with. */
  readonly #pending = new Batch<WireResponse>();
  readonly #headers = new Batch<Uint8Array>();
  #bytes = 0;
  #scheduled = false;
  #blocked = false;
  /** #inFlight counts writes the stream has not yet handed to the socket. */
  #inFlight = 0;
  readonly #flushSoon = (): void => this.flush();

  constructor(raw: RawStream, wire: WatchWire, onDrain: () => void) {
    this.#raw = raw;
    this.#wire = wire;
    this.#onDrain = onDrain;
    raw.on('drain', () => {
      this.#blocked = false;
      if (this.#inFlight === 0) onDrain();
    });
  }

  get blocked(): boolean {
    return this.#blocked || this.#inFlight > 0;
  }

  send(r: WireResponse): void {
    // NB: the header is taken now, with the size: the term may move before the flush.
    const header = this.#wire.header(r.revision);
    this.#bytes += this.#wire.size(r, header, true);
    this.#pending.push(r);
    this.#headers.push(header);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // NB: the watchers of a change are told from one microtask (watcher.ts), queued before this
    // one; flushing in a microtask sends what they all produced together.
    queueMicrotask(this.#flushSoon);
  }

  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    const headers = this.#headers;
    if (pending.size === 0) return;
    const raw = this.#raw;
    const out = raw.destroyed || raw.writableEnded ? null : Buffer.allocUnsafe(this.#bytes);
    let pos = 0;
    if (out !== null) for (let i = 0; i < pending.size; i++) pos = this.#wire.write(out, pos, pending.at(i), headers.at(i), true);
    pending.clear();
    headers.clear();
    this.#bytes = 0;
    if (out === null) return;
    if (pos !== out.length) {
      // NB: flush runs from a microtask, where a throw would take the member down.
      raw.destroy(new Error(`Watch responses written to ${pos} bytes, sized ${out.length}; this is a bug`));
      return;
    }
    this.#inFlight++;
    const written = (): void => {
      this.#inFlight--;
      if (this.#inFlight === 0 && !this.#blocked) this.#onDrain();
    };
    if (!raw.write(out, written)) this.#blocked = true;
  }
}

/** CallSink writes each response through grpc-js (the definition's serializer passes bytes through). */
class CallSink implements Sink {
  readonly #call: grpc.ServerDuplexStream<unknown, Buffer>;
  readonly #wire: WatchWire;
  #blocked = false;

  constructor(call: grpc.ServerDuplexStream<unknown, Buffer>, wire: WatchWire, onDrain: () => void) {
    this.#call = call;
    this.#wire = wire;
    call.on('drain', () => {
      this.#blocked = false;
      onDrain();
    });
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  send(r: WireResponse): void {
    if (!this.#call.write(this.#wire.encode(r, false))) this.#blocked = true;
  }

  flush(): void {
    // Nothing is held back: every response went to grpc-js as it came.
  }
}

/**
 * sinkFor picks the stream's sink: the raw HTTP/2 stream when captured and the response headers
 * went out on it (sendMetadata sends them now, so raw writes follow them), else grpc-js.
 */
function sinkFor(call: grpc.ServerDuplexStream<unknown, Buffer>, wire: WatchWire, onDrain: () => void): Sink {
  const raw = rawStreamOf(call.metadata);
  if (raw !== undefined) {
    call.sendMetadata(new grpc.Metadata());
    if (raw.headersSent) return new RawSink(raw, wire, onDrain);
  }
  return new CallSink(call, wire, onDrain);
}

/** WatchMember is what the Watch service reads of its member (a KvServer is one). */
export type WatchMember = Pick<KvServer, 'header' | 'maxRequestBytes'> & {
  readonly driver: { status(): { readonly term: number } };
  readonly sm: { readonly store: { readonly currentRevision: number } };
};

/** watchService builds the Watch handler of a member; onStream hears streams open (1) and close (-1). */
export function watchService(s: WatchMember, hub: WatchHub, onStream: (delta: 1 | -1) => void = () => undefined): WatchHandlers {
  return {
    Watch: (call: grpc.ServerDuplexStream<unknown, Buffer>) => {
      onStream(1);
      const active = new Map<number, Active>();
      let nextId = 0;
      let closed = false;
      const h = s.header();
      const wire = new WatchWire(h.cluster_id, h.member_id, () => s.driver.status().term);
      const sink = sinkFor(call, wire, () => {
        for (const id of [...active.keys()]) drain(id);
      });
      const write = (r: WireResponse): void => {
        if (!closed) sink.send(r);
      };
      const sendEvents = (watchId: number, a: Active, revision: number, events: readonly WatchEvent[]): void => {
        const limit = s.maxRequestBytes;
        if (!a.fragment || eventsBytes(events) <= limit) {
          write({ revision, watchId, events });
          return;
        }
        // Fragments: each holds events up to the size limit; all but the last say fragment.
        let part: WatchEvent[] = [];
        let partSize = 0;
        for (let i = 0; i < events.length; i++) {
          const e = events[i]!;
          const sz = eventBytes(e);
          if (part.length > 0 && partSize + sz > limit) {
            write({ revision, watchId, fragment: true, events: part });
            part = [];
            partSize = 0;
          }
          part.push(e);
          partSize += sz;
        }
        write({ revision, watchId, events: part });
      };
      const send = (watchId: number, a: Active, r: WatchResponse): void => {
        switch (r.type) {
          case 'events':
            sendEvents(watchId, a, r.revision, r.events);
            return;
          case 'progress':
            write({ revision: r.revision, watchId });
            return;
          case 'canceled':
            active.delete(watchId);
            write({ revision: r.revision, watchId, canceled: true, compactRevision: r.compact_revision, cancelReason: r.cancel_reason });
            return;
        }
      };
      // NB: drains run from the hub's microtasks and the transport's events, where a throw would
      // take the member down; a response that cannot be encoded ends this stream instead.
      const drain = (watchId: number): void => {
        try {
          drainOnce(watchId);
        } catch (err: unknown) {
          fail(err);
        }
      };
      const drainOnce = (watchId: number): void => {
        const a = active.get(watchId);
        if (a === undefined || sink.blocked) return;
        // Responses queued while the stream was busy travel merged (whole revisions, in order,
        // up to MERGE_BYTES): a watcher that fell behind catches up in few large messages, as
        // etcd's do, instead of one message per revision.
        // NB: the usual drain finds one response, whose events array the hub shares among every
        // watcher of the change; it is sent as it is, and copied only when a second one joins it.
        // It runs once per watcher per change, so it allocates nothing of its own on that path.
        let events: readonly WatchEvent[] = NO_EVENTS;
        let merged: WatchEvent[] | null = null;
        let revision = 0;
        let size = 0;
        for (let r = a.watcher.take(); r !== undefined; r = a.watcher.take()) {
          const sz = r.type === 'events' ? eventsBytes(r.events) : 0;
          // What is held goes out first before anything that is not events, or that would
          // make it larger than MERGE_BYTES.
          if (events.length > 0 && (r.type !== 'events' || size + sz > MERGE_BYTES)) {
            sendEvents(watchId, a, revision, events);
            events = NO_EVENTS;
            merged = null;
            size = 0;
          }
          if (r.type !== 'events') {
            send(watchId, a, r);
            continue;
          }
          const got = r.events;
          if (events.length === 0) {
            events = got;
          } else {
            merged ??= [...events];
            for (const e of got) merged.push(e);
            events = merged;
          }
          revision = r.revision;
          size += sz;
        }
        if (events.length > 0) sendEvents(watchId, a, revision, events);
      };
      call.on('data', (raw: unknown) => {
        const d = requestDecoders.WatchRequest(raw);
        // etcd ignores a request with nothing set; a malformed one likewise must not end the stream.
        if (!d.ok) return;
        const req = d.value;
        try {
          switch (req.request_union) {
            case 'create_request': {
              const c = req.create_request;
              let watchId = c.watch_id;
              if (watchId === 0 || watchId < 0) {
                while (active.has(nextId)) nextId++;
                watchId = nextId++;
              } else if (active.has(watchId)) {
                write({ revision: s.sm.store.currentRevision, watchId, created: true, canceled: true, cancelReason: 'mvcc: duplicate watch ID provided' });
                return;
              }
              const watcher = hub.watch({
                key: c.key,
                range_end: c.range_end,
                start_revision: c.start_revision,
                filters: c.filters,
                prev_kv: c.prev_kv,
                progress_notify: c.progress_notify,
              });
              const a: Active = { watcher, fragment: c.fragment };
              active.set(watchId, a);
              write({ revision: watcher.createdRevision, watchId, created: true });
              watcher.onReadable(() => drain(watchId));
              drain(watchId);
              return;
            }
            case 'cancel_request': {
              const id = req.cancel_request.watch_id;
              const a = active.get(id);
              if (a === undefined) return;
              active.delete(id);
              a.watcher.cancel();
              write({ revision: s.sm.store.currentRevision, watchId: id, canceled: true });
              return;
            }
            case 'progress_request':
              for (const a of active.values()) hub.requestProgress(a.watcher);
              return;
          }
        } catch (err: unknown) {
          fail(err);
        }
      });
      const fail = (err: unknown): void => {
        if (closed) return;
        sink.flush();
        call.emit('error', toServiceError(err));
      };
      const end = (): void => {
        if (closed) return;
        closed = true;
        onStream(-1);
        for (const a of active.values()) a.watcher.cancel();
        active.clear();
      };
      call.on('end', () => {
        // NB: what this turn produced goes out before the status that ends the stream.
        sink.flush();
        end();
        call.end();
      });
      call.on('error', end);
      call.on('cancelled', end);
    },
  };
}
