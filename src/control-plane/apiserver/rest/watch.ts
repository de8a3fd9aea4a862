/**
 * watch: serving a watch as a chunked stream of newline-delimited JSON events, one write (and
 * so one flush) per event. Each event's object is the object itself, or a one-row Table when
 * the client asked for Tables (`kubectl get -w`). The stream ends at the timeout, when the
 * client goes away, when the registry ends the watch (an ERROR event carries its Status), or
 * when the server closes.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KubeObject, ResourceInfo } from '../../api/types.js';
import type { ApiError, Disposable, Registry, RequestContext, WatchEvent, WatchOptions } from '../registry-api.js';
import type { IncludeObject } from './negotiate.js';
import { sendError } from './respond.js';
import { wireStatus } from './status.js';
import { partialObject, table } from './tables.js';

/** WatchRequest is everything a watch needs from the request. */
export interface WatchRequest {
  readonly registry: Registry;
  readonly ctx: RequestContext;
  readonly resource: ResourceInfo;
  readonly opts: WatchOptions;
  /** asTable renders each event's object as a Table of that apiVersion, when set. */
  readonly asTable: { readonly apiVersion: string; readonly includeObject: IncludeObject } | undefined;
  /** asPartial renders each event's object as PartialObjectMetadata of that apiVersion, when set. */
  readonly asPartial: string | undefined;
  /** timeoutMs ends the stream after this long. */
  readonly timeoutMs: number;
  /** maxBufferedBytes ends the stream when this much output waits for a slow client. */
  readonly maxBufferedBytes: number;
  readonly now: () => number;
  readonly log: Logger;
}

/** WatchStreams tracks open watch streams so a closing server can end them. */
export class WatchStreams {
  readonly #open = new Set<() => void>();

  /** add registers a stream's end function; the returned function unregisters it. */
  add(end: () => void): () => void {
    this.#open.add(end);
    return () => this.#open.delete(end);
  }

  /** endAll ends every open stream. */
  endAll(): void {
    for (const end of [...this.#open]) end();
  }

  /** size is the number of open streams. */
  get size(): number {
    return this.#open.size;
  }
}

function render(ev: WatchEvent, w: WatchRequest): unknown {
  if (ev.type === 'ERROR') return { type: 'ERROR', object: wireStatus({ code: ev.object.code, reason: ev.object.reason ?? 'InternalError', message: ev.object.message ?? '', ...(ev.object.details !== undefined ? { details: ev.object.details } : {}) }) };
  if (w.asPartial !== undefined) return { type: ev.type, object: partialObject(ev.object, w.asPartial) };
  if (w.asTable === undefined) return ev;
  const opts = { apiVersion: w.asTable.apiVersion, includeObject: w.asTable.includeObject, now: w.now() };
  const rv = ev.object.metadata.resourceVersion;
  const objects: KubeObject[] = ev.type === 'BOOKMARK' ? [] : [ev.object];
  return { type: ev.type, object: table(w.resource, objects, { ...opts, ...(rv !== undefined ? { resourceVersion: rv } : {}) }) };
}

/**
 * serveWatch starts the registry's watch and streams its events. A registry refusal before any
 * event (403, 404, 400) is answered as a plain error response; after the stream has begun,
 * errors travel as ERROR events. It resolves when the stream has ended.
 */
export async function serveWatch(res: ServerResponse, w: WatchRequest, streams: WatchStreams, abort: AbortController): Promise<void> {
  let started = false;
  let ended = false;
  let disposable: Disposable | undefined;
  const handles: { timer?: NodeJS.Timeout; unregister?: () => void } = {};
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { resolveDone = resolve; });

  const start = (): void => {
    if (started) return;
    started = true;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache, private');
    res.socket?.setNoDelay(true);
    res.flushHeaders();
  };
  const end = (why: ApiError | null): void => {
    if (ended) return;
    ended = true;
    if (handles.timer !== undefined) clearTimeout(handles.timer);
    handles.unregister?.();
    disposable?.dispose();
    abort.abort();
    if (!res.writableEnded && !res.destroyed) {
      if (!started && why !== null) sendError(res, why);
      else {
        start();
        if (why !== null) res.write(`${JSON.stringify({ type: 'ERROR', object: wireStatus(why) })}\n`);
        res.end();
      }
    }
    resolveDone();
  };
  const sink = {
    event: (ev: WatchEvent): void => {
      if (ended) return;
      try {
        start();
        res.write(`${JSON.stringify(render(ev, w))}\n`);
        if (res.writableLength > w.maxBufferedBytes) {
          // A client that does not read falls behind without bound; end its stream so it
          // watches again from the last resourceVersion it saw, as Kubernetes does.
          w.log.warn({ resource: w.resource.plural, buffered: res.writableLength }, 'watch client too slow; ending its stream');
          end(null);
        }
      } catch (e: unknown) {
        w.log.error({ err: e, resource: w.resource.plural }, 'watch event could not be written');
        end(null);
      }
    },
    closed: (why: ApiError | null): void => end(why),
  };

  res.on('close', () => end(null));
  handles.unregister = streams.add(() => end(null));
  handles.timer = setTimeout(() => end(null), w.timeoutMs);
  let r: Awaited<ReturnType<Registry['watch']>>;
  try {
    r = await w.registry.watch(w.ctx, w.resource, w.opts, sink);
  } catch (e: unknown) {
    // The caller answers 500; the timer and the registration must not outlive the request.
    if (handles.timer !== undefined) clearTimeout(handles.timer);
    handles.unregister?.();
    ended = true;
    throw e;
  }
  if (!r.ok) {
    end(r.error);
    return done;
  }
  if (ended) r.value.dispose();
  else {
    disposable = r.value;
    start();
  }
  return done;
}
