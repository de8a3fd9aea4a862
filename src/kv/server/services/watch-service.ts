/**
 * watch-service: etcdserverpb.Watch — one bidirectional stream multiplexing many watchers of
 * the member's watch hub. Events come from applied entries only, in revision order; large
 * responses are split into fragments when the watcher asked for it; a consumer that stops
 * reading is cancelled by the hub with a reason rather than slowing writes down.
 */
import type * as grpc from '@grpc/grpc-js';
import { requestDecoders } from '../../proto/index.js';
import type { WatchHandlers, WatchResponse as PbWatchResponse, Event as PbEvent } from '../../proto/index.js';
import type { WatchHub, Watcher, WatchResponse, WatchEvent } from '../../watch/index.js';
import type { KvServer } from '../kv-server.js';
import { kvOut } from '../convert.js';
import { toServiceError } from '../errors.js';

/** MERGE_BYTES bounds the events merged into one response for a watcher that fell behind. */
const MERGE_BYTES = 256 * 1024;

interface Active {
  readonly watcher: Watcher;
  readonly fragment: boolean;
}

// NB: the hub hands every watcher of a change the same event object, so its wire form is
// built once for all of them (fan-out to many watchers is the hot path).
const wireEvents = new WeakMap<WatchEvent, PbEvent>();

function eventOut(e: WatchEvent): PbEvent {
  let out = wireEvents.get(e);
  if (out === undefined) {
    out = e.prev_kv === undefined ? { type: e.type, kv: kvOut(e.kv) } : { type: e.type, kv: kvOut(e.kv), prev_kv: kvOut(e.prev_kv) };
    wireEvents.set(e, out);
  }
  return out;
}

function eventSize(e: WatchEvent): number {
  return 64 + e.kv.key.length + e.kv.value.length + (e.prev_kv === undefined ? 0 : e.prev_kv.key.length + e.prev_kv.value.length);
}

/** watchService builds the Watch handler of a member; onStream hears streams open (1) and close (-1). */
export function watchService(s: KvServer, hub: WatchHub, onStream: (delta: 1 | -1) => void = () => undefined): WatchHandlers {
  return {
    Watch: (call: grpc.ServerDuplexStream<unknown, PbWatchResponse>) => {
      onStream(1);
      const active = new Map<number, Active>();
      let nextId = 0;
      let closed = false;
      let blocked = false;
      let header = s.header();
      const headerAt = (revision: number): PbWatchResponse['header'] => {
        if (header.revision !== revision || header.raft_term !== s.driver.status().term) header = s.header(revision);
        return header;
      };
      const base = (watchId: number, revision: number): PbWatchResponse => ({
        header: headerAt(revision),
        watch_id: watchId,
        created: false,
        canceled: false,
        compact_revision: 0,
        cancel_reason: '',
        fragment: false,
        events: [],
      });
      const write = (r: PbWatchResponse): void => {
        if (closed) return;
        if (!call.write(r)) blocked = true;
      };
      const send = (watchId: number, a: Active, r: WatchResponse): void => {
        switch (r.type) {
          case 'events': {
            const events = r.events;
            const limit = s.maxRequestBytes;
            let size = 0;
            for (const e of events) size += eventSize(e);
            if (!a.fragment || size <= limit) {
              write({ ...base(watchId, r.revision), events: events.map(eventOut) });
              return;
            }
            // Fragments: each holds events up to the size limit; all but the last say fragment.
            let part: PbEvent[] = [];
            let partSize = 0;
            for (let i = 0; i < events.length; i++) {
              const e = events[i]!;
              const sz = eventSize(e);
              if (part.length > 0 && partSize + sz > limit) {
                write({ ...base(watchId, r.revision), fragment: true, events: part });
                part = [];
                partSize = 0;
              }
              part.push(eventOut(e));
              partSize += sz;
            }
            write({ ...base(watchId, r.revision), events: part });
            return;
          }
          case 'progress':
            write(base(watchId, r.revision));
            return;
          case 'canceled':
            active.delete(watchId);
            write({ ...base(watchId, r.revision), canceled: true, compact_revision: r.compact_revision, cancel_reason: r.cancel_reason });
            return;
        }
      };
      const drain = (watchId: number): void => {
        const a = active.get(watchId);
        if (a === undefined || blocked) return;
        // Responses queued while the stream was busy travel merged (whole revisions, in order,
        // up to MERGE_BYTES): a watcher that fell behind catches up in few large messages, as
        // etcd's do, instead of one message per revision.
        let events: WatchEvent[] = [];
        let revision = 0;
        let size = 0;
        const flush = (): void => {
          if (events.length === 0) return;
          send(watchId, a, { type: 'events', revision, events });
          events = [];
          size = 0;
        };
        for (const r of a.watcher.poll()) {
          if (r.type !== 'events') {
            flush();
            send(watchId, a, r);
            continue;
          }
          let sz = 0;
          for (const e of r.events) sz += eventSize(e);
          if (events.length > 0 && size + sz > MERGE_BYTES) flush();
          for (const e of r.events) events.push(e);
          revision = r.revision;
          size += sz;
        }
        flush();
      };
      call.on('drain', () => {
        blocked = false;
        for (const id of [...active.keys()]) drain(id);
      });
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
                write({ ...base(watchId, s.sm.store.currentRevision), created: true, canceled: true, cancel_reason: 'mvcc: duplicate watch ID provided' });
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
              write({ ...base(watchId, watcher.createdRevision), created: true });
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
              write({ ...base(id, s.sm.store.currentRevision), canceled: true });
              return;
            }
            case 'progress_request':
              for (const a of active.values()) hub.requestProgress(a.watcher);
              return;
          }
        } catch (err: unknown) {
          call.emit('error', toServiceError(err));
        }
      });
      const end = (): void => {
        if (closed) return;
        closed = true;
        onStream(-1);
        for (const a of active.values()) a.watcher.cancel();
        active.clear();
      };
      call.on('end', () => {
        end();
        call.end();
      });
      call.on('error', end);
      call.on('cancelled', end);
    },
  };
}
