/**
 * logs: pods/<name>/log — a pod's container log as plain text, streamed from an injected
 * source (the node agents hold the logs; the apiserver only relays them, as Kubernetes relays
 * the kubelet's). Without a source the subresource answers 404 saying so.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { err, ok, type Result } from '../../api/types.js';
import type { ApiError, RequestContext } from '../registry-api.js';
import { parseBool } from './query.js';
import { sendError } from './respond.js';
import { badRequest, notFound } from './status.js';

/** PodLogOptions are the log subresource's query parameters. */
export interface PodLogOptions {
  readonly container?: string;
  readonly follow?: boolean;
  readonly previous?: boolean;
  readonly timestamps?: boolean;
  readonly tailLines?: number;
  readonly sinceSeconds?: number;
  /** sinceTime is an RFC 3339 time, passed on as given (the node agent reads it). */
  readonly sinceTime?: string;
  readonly limitBytes?: number;
}

/**
 * PodLogs opens a pod's log: chunks of text until the log ends (or, with follow, until
 * ctx.signal aborts), or an ApiError (404 for no such pod or container, 403, ...). It must
 * authorize the caller for `get pods/log` itself.
 */
export type PodLogs = (ctx: RequestContext, namespace: string, name: string, opts: PodLogOptions) => Promise<Result<AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, ApiError>>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function positiveInt(q: URLSearchParams, name: string): Result<number | undefined, ApiError> {
  const v = q.get(name);
  if (v === null || v === '') return ok(undefined);
  if (!/^\d+$/.test(v)) return err(badRequest(`Query parameter ${name}="${v}" is not a non-negative integer; give a whole number`));
  return ok(Number(v));
}

/** podLogOptions reads the log subresource's query parameters. */
export function podLogOptions(q: URLSearchParams): Result<PodLogOptions, ApiError> {
  const o: Mutable<PodLogOptions> = {};
  const container = q.get('container');
  if (container !== null && container !== '') o.container = container;
  for (const name of ['follow', 'previous', 'timestamps'] as const) {
    const b = parseBool(q, name);
    if (!b.ok) return b;
    if (b.value !== undefined) o[name] = b.value;
  }
  for (const name of ['tailLines', 'sinceSeconds', 'limitBytes'] as const) {
    const n = positiveInt(q, name);
    if (!n.ok) return n;
    if (n.value !== undefined) o[name] = n.value;
  }
  const sinceTime = q.get('sinceTime');
  if (sinceTime !== null && sinceTime !== '') {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(sinceTime) || Number.isNaN(Date.parse(sinceTime))) {
      return err(badRequest(`Query parameter sinceTime="${sinceTime}" is not an RFC 3339 time; write e.g. 2026-01-02T15:04:05Z`));
    }
    if (o.sinceSeconds !== undefined) return err(badRequest('at most one of sinceTime or sinceSeconds may be specified'));
    o.sinceTime = sinceTime;
  }
  return ok(o);
}

/** servePodLogs streams the log as text/plain, stopping when the client leaves. */
export async function servePodLogs(
  res: ServerResponse,
  source: PodLogs | undefined,
  req: { readonly ctx: RequestContext; readonly namespace: string | undefined; readonly name: string; readonly query: URLSearchParams; readonly log: Logger },
): Promise<void> {
  if (source === undefined || req.namespace === undefined) {
    return sendError(res, notFound(`Logs of pod "${req.name}" are not served by this apiserver; read the node agent's log instead`));
  }
  const opts = podLogOptions(req.query);
  if (!opts.ok) return sendError(res, opts.error);
  const opened = await source(req.ctx, req.namespace, req.name, opts.value);
  if (!opened.ok) return sendError(res, opened.error);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.flushHeaders();
  try {
    for await (const chunk of opened.value) {
      if (res.destroyed || res.writableEnded) break;
      res.write(chunk);
    }
  } catch (e: unknown) {
    req.log.warn({ err: e, pod: `${req.namespace}/${req.name}` }, 'pod log stream failed');
  }
  if (!res.writableEnded) res.end();
}
