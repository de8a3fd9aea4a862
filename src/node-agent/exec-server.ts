/**
 * exec-server: the node agent's side of `kubectl exec`, as the kubelet serves it to the
 * apiserver: a WebSocket upgrade of `GET /exec/<namespace>/<pod>/<container>?command=...`
 * carrying the cluster's kubelet-client token. The command runs as a child process with the
 * container's environment and working directory; its stdout and stderr go out on channels 1
 * and 2, stdin comes in on channel 0 (end of file: the v5 close message), and the outcome is
 * sent on channel 3 as a Status before the socket closes. There is no pseudo-terminal: with
 * tty the command runs on pipes all the same. A client that goes away kills the command.
 */
import { spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CHANNEL, chooseProtocol, exitStatus, failureStatus, parseExecOptions, type ExecOptions } from '../control-plane/api/remote-command.js';
import type { Result } from '../control-plane/api/types.js';
import type { ExecContext } from './process-runtime.js';

/** ExecResolver finds where a command for a running container starts. */
export type ExecResolver = (namespace: string, pod: string, container: string) => Result<ExecContext, string>;

/** ExecServerOptions configure attachExec. */
export interface ExecServerOptions {
  readonly token: string;
  readonly resolve: ExecResolver;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** refuse answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuse(socket: Duplex, code: number, reason: string, body: string): void {
  const text = `${body}\n`;
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([Buffer.from([channel]), body]);
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** attachExec serves exec upgrades on an HTTP server (the agent's log endpoint). */
export function attachExec(server: Server, o: ExecServerOptions): void {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => chooseProtocol(offered) ?? false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const auth = req.headers.authorization ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!timingSafeEqual(digest(presented), digest(o.token))) return refuse(socket, 401, 'Unauthorized', 'Unauthorized: present the cluster\'s kubelet-client token');
    const url = new URL(req.url ?? '/', 'http://node');
    const m = /^\/exec\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m === null) return refuse(socket, 404, 'Not Found', 'Not found: upgrade GET /exec/<namespace>/<pod>/<container>');
    const [namespace, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
    const opts = parseExecOptions(url.searchParams);
    if (!opts.ok) return refuse(socket, 400, 'Bad Request', opts.error);
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (chooseProtocol(offered) === null) return refuse(socket, 400, 'Bad Request', 'exec speaks the v5.channel.k8s.io and v4.channel.k8s.io WebSocket subprotocols only');
    const where = o.resolve(namespace, pod, container);
    if (!where.ok) return refuse(socket, 404, 'Not Found', where.error);
    wss.handleUpgrade(req, socket, head, (ws) => run(ws, opts.value, where.value));
  });
}

function run(ws: WebSocket, o: ExecOptions, where: ExecContext): void {
  const [file, ...args] = o.command;
  const child = spawn(file ?? '', args, { cwd: where.cwd, env: { ...where.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let finished = false;
  const finish = (status: Record<string, unknown>): void => {
    if (finished) return;
    finished = true;
    if (ws.readyState === ws.OPEN) {
      ws.send(frame(CHANNEL.error, JSON.stringify(status)));
      ws.close(1000);
    }
  };
  child.stdin.on('error', () => undefined);
  if (!o.stdin) child.stdin.end();
  child.stdout.on('data', (d: Buffer) => {
    if (o.stdout && ws.readyState === ws.OPEN) ws.send(frame(CHANNEL.stdout, d));
  });
  child.stderr.on('data', (d: Buffer) => {
    if (o.stderr && ws.readyState === ws.OPEN) ws.send(frame(CHANNEL.stderr, d));
  });
  child.on('error', (e) => finish(failureStatus(`failed to run ${JSON.stringify(file)} in the container: ${e.message}`)));
  // 'close' comes after stdout and stderr have ended, so every byte is sent before the Status.
  child.on('close', (code, signal) => finish(exitStatus(code, signal, o.command)));
  ws.on('message', (data: RawData) => {
    const b = asBuffer(data);
    if (b.length === 0) return;
    if (b[0] === CHANNEL.stdin && o.stdin && b.length > 1) child.stdin.write(b.subarray(1));
    else if (b[0] === CHANNEL.close && b[1] === CHANNEL.stdin) child.stdin.end();
  });
  ws.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  ws.on('error', () => undefined);
}
