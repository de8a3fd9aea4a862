/**
 * log-server: the node agent's log endpoint, as the kubelet serves containers' logs to the
 * apiserver (which proxies `kubectl logs`): `GET /containerLogs/<namespace>/<pod>/<container>`
 * with `uid`, `follow`, `previous`, `tailLines` and `limitBytes`, read from the files the process
 * runtime writes (`<dataDir>/pods/<ns>_<name>_<uid>/<container>/<restart>.log`). It listens on
 * loopback and answers only requests carrying the cluster's kubelet-client bearer token.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { timingSafeEqual, createHash } from 'node:crypto';

/** LogServerOptions configure the endpoint. */
export interface LogServerOptions {
  readonly dataDir: string;
  /** token is the bearer token the apiservers present (the cluster's kubelet-client token). */
  readonly token: string;
  readonly host?: string;
  readonly port?: number;
  /** followPollMs is how often a followed log is checked for growth (default 200 ms). */
  readonly followPollMs?: number;
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

function serve(o: LogServerOptions, req: IncomingMessage, res: ServerResponse): void {
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
  const tail = Number(url.searchParams.get('tailLines') ?? '-1');
  const limit = Number(url.searchParams.get('limitBytes') ?? '0');
  const follow = !previous && /^(1|true)$/i.test(url.searchParams.get('follow') ?? '');
  let size = statSync(path).size;
  let pos = Number.isInteger(tail) && tail >= 0 ? tailStart(path, size, tail) : 0;
  let sent = 0;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
  const push = (to: number): boolean => {
    let chunk = readRange(path, pos, to);
    pos = to;
    if (limit > 0 && sent + chunk.length > limit) chunk = chunk.subarray(0, limit - sent);
    if (chunk.length > 0) res.write(chunk);
    sent += chunk.length;
    return limit > 0 && sent >= limit;
  };
  if (push(size) || !follow) {
    res.end();
    return;
  }
  // Follow: send what the file gains until the client leaves or a newer run starts.
  const timer = setInterval(() => {
    const now = existsSync(path) ? statSync(path).size : size;
    if (now > size) {
      size = now;
      if (push(size)) {
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

/** startLogServer listens on loopback (port 0: any free port) and serves containers' logs. */
export function startLogServer(o: LogServerOptions): Promise<LogServer> {
  const server: Server = createServer((req, res) => {
    try {
      serve(o, req, res);
    } catch (e: unknown) {
      if (!res.headersSent) fail(res, 500, `Cannot read the log: ${e instanceof Error ? e.message : String(e)}`);
      else res.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
