/**
 * log-server: the node agent's log endpoint, as the kubelet serves containers' logs to the
 * apiserver (which proxies `kubectl logs`): `GET /containerLogs/<namespace>/<pod>/<container>`
 * with `uid`, `follow`, `previous`, `tailLines`, `limitBytes`, `sinceSeconds`, `sinceTime` and
 * `timestamps` (line times from log-index.ts, to within one index scan), read from the files the process
 * runtime writes (`<dataDir>/pods/<ns>_<name>_<uid>/<container>/<restart>.log`). It listens on
 * loopback and answers only requests carrying the cluster's kubelet-client bearer token. The same
 * endpoint takes `kubectl exec`'s WebSocket upgrades (exec-server.ts).
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { timingSafeEqual, createHash } from 'node:crypto';
import { err } from '../control-plane/api/types.js';
import { attachExec, type ExecResolver } from './exec-server.js';
import { LogIndexer, readIndex, timeOfByte, type IndexEntry } from './log-index.js';

/** LogServerOptions configure the endpoint. */
export interface LogServerOptions {
  readonly dataDir: string;
  /** token is the bearer token the apiservers present (the cluster's kubelet-client token). */
  readonly token: string;
  readonly host?: string;
  readonly port?: number;
  /** followPollMs is how often a followed log is checked for growth (default 200 ms). */
  readonly followPollMs?: number;
  /** indexEveryMs is how often the logs' time indexes are brought up to date (default 500 ms; 0: never). */
  readonly indexEveryMs?: number;
  /** now is the wall clock in ms (tests give their own). */
  readonly now?: () => number;
  /** exec finds running containers for `kubectl exec` (WebSocket upgrades of /exec/...); without it exec is refused. */
  readonly exec?: ExecResolver;
}

/** ServeOptions are LogServerOptions plus the running indexer. */
interface ServeOptions extends LogServerOptions {
  readonly indexer?: LogIndexer;
}

/** LogServer is a started endpoint. */
export interface LogServer {
  readonly port: number;
  close(): Promise<void>;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function fail(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}

/** runsOf lists a container's log files as restart numbers, oldest first. */
function runsOf(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** podDir finds a pod's directory: by uid when given, else the most recent of that name. */
function podDir(dataDir: string, namespace: string, name: string, uid: string | null): string | null {
  const root = join(dataDir, 'pods');
  if (!existsSync(root)) return null;
  const prefix = `${namespace}_${name}_`;
  const dirs = readdirSync(root).filter((d) => d.startsWith(prefix) && (uid === null || d === `${prefix}${uid}`));
  if (dirs.length === 0) return null;
  dirs.sort((a, b) => statSync(join(root, b)).mtimeMs - statSync(join(root, a)).mtimeMs);
  return join(root, dirs[0]!);
}

function readRange(path: string, from: number, to: number): Buffer {
  if (to <= from) return Buffer.alloc(0);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, from + off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** tailStart is the byte offset where the last `lines` lines of a file begin. */
function tailStart(path: string, size: number, lines: number): number {
  if (lines <= 0) return size;
  const all = readRange(path, 0, size);
  let seen = 0;
  // A final newline ends the last line; it does not start another.
  for (let i = all.length - (all[all.length - 1] === 0x0a ? 2 : 1); i >= 0; i--) {
    if (all[i] === 0x0a && ++seen === lines) return i + 1;
  }
  return 0;
}

function serve(o: ServeOptions, req: IncomingMessage, res: ServerResponse): void {
  const auth = req.headers.authorization ?? '';
  const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  if (!timingSafeEqual(digest(presented), digest(o.token))) return fail(res, 401, 'Unauthorized: present the cluster\'s kubelet-client token');
  const url = new URL(req.url ?? '/', 'http://node');
  const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (req.method !== 'GET' || m === null) return fail(res, 404, 'Not found: GET /containerLogs/<namespace>/<pod>/<container>');
  const [namespace, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
  const dir = podDir(o.dataDir, namespace, pod, url.searchParams.get('uid'));
  if (dir === null) return fail(res, 404, `No logs on this node for pod ${namespace}/${pod}`);
  const runs = runsOf(join(dir, container));
  const previous = /^(1|true)$/i.test(url.searchParams.get('previous') ?? '');
  const run = previous ? runs[runs.length - 2] : runs[runs.length - 1];
  if (run === undefined) {
    return fail(res, 400, previous ? `previous terminated container "${container}" in pod "${pod}" not found` : `container "${container}" in pod "${pod}" has no logs yet`);
  }
  const path = join(dir, container, `${run}.log`);
  const q = logQuery(url.searchParams, o.now?.() ?? Date.now());
  if (!q.ok) return fail(res, 400, q.error);
  const { tail, limit, sinceMs, timestamps } = q.value;
  const follow = !previous && /^(1|true)$/i.test(url.searchParams.get('follow') ?? '');
  o.indexer?.scanFile(path);
  let size = statSync(path).size;
  let sent = 0;
  // atLineStart: whether the next byte sent begins a line (where --timestamps puts a time).
  let atLineStart = true;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
  const send = (chunk: Buffer): boolean => {
    if (limit > 0 && sent + chunk.length > limit) chunk = chunk.subarray(0, limit - sent);
    if (chunk.length > 0) res.write(chunk);
    sent += chunk.length;
    return limit > 0 && sent >= limit;
  };
  const stamp = (chunk: Buffer, timeMs: number): Buffer => {
    if (!timestamps || chunk.length === 0) return chunk;
    const prefix = `${new Date(timeMs).toISOString()} `;
    let out = '';
    for (const ch of chunk.toString('utf8').split(/(?<=\n)/)) {
      out += (atLineStart ? prefix : '') + ch;
      atLineStart = ch.endsWith('\n');
    }
    return Buffer.from(out, 'utf8');
  };
  let done: boolean;
  if (sinceMs === undefined && !timestamps) {
    const pos = Number.isInteger(tail) && tail >= 0 ? tailStart(path, size, tail) : 0;
    done = send(readRange(path, pos, size));
  } else {
    done = send(Buffer.from(timedLines(readRange(path, 0, size), readIndex(path), o.now?.() ?? Date.now(), { tail, sinceMs, timestamps }), 'utf8'));
    atLineStart = size === 0 || readRange(path, size - 1, size)[0] === 0x0a;
  }
  let pos = size;
  if (done || !follow) {
    res.end();
    return;
  }
  // Follow: send what the file gains until the client leaves or a newer run starts.
  const timer = setInterval(() => {
    const now = existsSync(path) ? statSync(path).size : size;
    if (now > size) {
      size = now;
      const chunk = readRange(path, pos, size);
      pos = size;
      if (send(stamp(chunk, o.now?.() ?? Date.now()))) {
        clearInterval(timer);
        res.end();
        return;
      }
    }
    const latest = runsOf(join(dir, container)).at(-1);
    if (latest !== undefined && latest !== run) {
      clearInterval(timer);
      res.end();
    }
  }, o.followPollMs ?? 200);
  res.on('close', () => clearInterval(timer));
}

/** LogQuery is the part of a log request that shapes what is sent. */
interface LogQuery {
  /** tail: the last lines to send (-1: all). */
  readonly tail: number;
  /** limit: at most this many bytes (0: no limit). */
  readonly limit: number;
  /** sinceMs: only lines written at or after this time. */
  readonly sinceMs: number | undefined;
  readonly timestamps: boolean;
}

/** logQuery reads tailLines, limitBytes, sinceSeconds, sinceTime and timestamps, refusing nonsense. */
export function logQuery(q: URLSearchParams, nowMs: number): { ok: true; value: LogQuery } | { ok: false; error: string } {
  const whole = (name: string): number | undefined | null => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    return /^\d+$/.test(v) ? Number(v) : null;
  };
  const tail = whole('tailLines');
  const limit = whole('limitBytes');
  const sinceSeconds = whole('sinceSeconds');
  for (const [name, v] of [['tailLines', tail], ['limitBytes', limit], ['sinceSeconds', sinceSeconds]] as const) {
    if (v === null) return { ok: false, error: `${name} must be a non-negative whole number` };
  }
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime !== null && sinceTime !== '') return { ok: false, error: 'at most one of sinceTime or sinceSeconds may be specified' };
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined && sinceSeconds !== null) sinceMs = nowMs - sinceSeconds * 1000;
  if (sinceTime !== null && sinceTime !== '') {
    const t = Date.parse(sinceTime);
    if (!/^\d{4}-\d\d-\d\dT/.test(sinceTime) || Number.isNaN(t)) return { ok: false, error: `sinceTime ${JSON.stringify(sinceTime)} is not an RFC 3339 time such as 2026-01-02T15:04:05Z` };
    sinceMs = t;
  }
  return { ok: true, value: { tail: tail ?? -1, limit: limit ?? 0, sinceMs, timestamps: /^(1|true)$/i.test(q.get('timestamps') ?? '') } };
}

/**
 * timedLines is a log's text with each line's time taken from the index: lines written before
 * sinceMs dropped, then the last `tail` kept, each prefixed with its time when asked.
 */
export function timedLines(text: Buffer, index: readonly IndexEntry[], nowMs: number, o: { readonly tail: number; readonly sinceMs: number | undefined; readonly timestamps: boolean }): string {
  const lines: { readonly text: string; readonly timeMs: number }[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf(0x0a, start);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push({ text: text.subarray(start, end).toString('utf8'), timeMs: timeOfByte(index, end, nowMs) });
    start = end;
  }
  let kept = o.sinceMs === undefined ? lines : lines.filter((l) => l.timeMs >= o.sinceMs!);
  if (Number.isInteger(o.tail) && o.tail >= 0) kept = o.tail === 0 ? [] : kept.slice(-o.tail);
  return kept.map((l) => (o.timestamps ? `${new Date(l.timeMs).toISOString()} ${l.text}` : l.text)).join('');
}

/** startLogServer listens on loopback (port 0: any free port) and serves containers' logs. */
export function startLogServer(given: LogServerOptions): Promise<LogServer> {
  const indexer = new LogIndexer(given.dataDir, given.now);
  const o: ServeOptions = { ...given, indexer };
  const every = given.indexEveryMs ?? 500;
  const indexTimer = every > 0 ? setInterval(() => indexer.scan(), every) : null;
  indexTimer?.unref();
  const server: Server = createServer((req, res) => {
    try {
      serve(o, req, res);
    } catch (e: unknown) {
      if (!res.headersSent) fail(res, 500, `Cannot read the log: ${e instanceof Error ? e.message : String(e)}`);
      else res.destroy();
    }
  });
  attachExec(server, { token: given.token, resolve: given.exec ?? (() => err('this node agent runs no commands in containers (kubectl exec)')) });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => {
      if (indexTimer !== null) clearInterval(indexTimer);
      reject(e);
    });
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            if (indexTimer !== null) clearInterval(indexTimer);
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
