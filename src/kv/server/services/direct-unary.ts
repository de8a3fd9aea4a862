/**
 * direct-unary: serves the hot unary calls (KV Put, Range and Txn) straight on their HTTP/2 streams,
 * beside grpc-js rather than through it.
 *
 * Through grpc-js a unary call is a chain of call objects, listeners, interceptors, a metadata
 * copy and a status: on these machines about 40 µs of a member's CPU per call on top of Node's
 * own HTTP/2 (an echo server measured both ways, 97 against 57 µs of user time per call), which
 * is a tenth of what the three members spend on a put. Here a call is its request's DATA, one
 * handler that turns the request's bytes into the response's bytes, and a response of headers,
 * one DATA frame and the status trailers, as grpc-js would send them.
 *
 * Only calls that need nothing more come this way: a path in the routes, a gRPC content type and
 * no message compression. Anything else (every other method, a compressing client, a malformed
 * content type) goes to grpc-js's own stream handler unchanged, so its answers stay grpc-js's.
 *
 * How the streams are reached: grpc-js makes an HTTP/2 server for each connection injector and
 * listens for its 'stream' events; the server object is kept in the grpc-js Server's private
 * `http2Servers` map. After creating the injector, that map's new entry is checked to be an
 * event emitter with exactly one 'stream' listener, which is then wrapped. If a grpc-js version
 * changes any of that, `directInjector` says so (`direct: false`) and every call goes through
 * grpc-js as before; test/kv/direct-unary.test.ts, which asserts that the direct path is taken,
 * then fails.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status as Code, type Server, type ServerCredentials } from '@grpc/grpc-js';
import { toServiceError } from '../errors.js';
import { GRPC_FRAME_BYTES } from './header-wire.js';

/**
 * DirectHandler answers one call: from the request message's bytes (and the request headers, for
 * metadata such as the trace token) to the response message behind its gRPC prefix. A thrown
 * error becomes the call's status as grpc-js's handlers' errors do (errors.ts).
 */
export type DirectHandler = (message: Buffer, headers: IncomingHttpHeaders) => Promise<Buffer>;

/** DirectRoutes maps a method path ("/etcdserverpb.KV/Put") to its handler. */
export type DirectRoutes = ReadonlyMap<string, DirectHandler>;

/**
 * DirectOptions: `maxReceiveBytes` is the largest request message accepted (grpc-js's
 * grpc.max_receive_message_length of the same server); `sent`, if given, hears of every call
 * answered with a response when its trailers, the call's last frame, are handed to HTTP/2: the
 * last point of a reply the member can see, for tracing. HTTP/2 writes them to the connection on
 * its next event-loop turn, after whatever I/O that turn finds first.
 */
export interface DirectOptions {
  readonly maxReceiveBytes: number;
  readonly sent?: (headers: IncomingHttpHeaders) => void;
}

/** ConnectionInjector is what grpc-js's `createConnectionInjector` returns. */
export type ConnectionInjector = ReturnType<Server['createConnectionInjector']>;

/** DirectInjector is a connection injector and whether its calls on `routes` bypass grpc-js. */
export interface DirectInjector {
  readonly injector: ConnectionInjector;
  readonly direct: boolean;
}

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

const EMPTY = Buffer.alloc(0);
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** directInjector creates `server`'s connection injector and routes the calls named in `routes` past grpc-js. */
export function directInjector(server: Server, credentials: ServerCredentials, routes: DirectRoutes, o: DirectOptions): DirectInjector {
  const found: unknown = (server as unknown as { readonly http2Servers?: unknown }).http2Servers;
  const servers = found instanceof Map ? (found as Map<unknown, unknown>) : null;
  const before = servers === null ? null : new Set<unknown>(servers.keys());
  const injector = server.createConnectionInjector(credentials);
  if (servers === null || before === null) return { injector, direct: false };
  const added: unknown[] = [...servers.keys()].filter((k) => !before.has(k));
  const h2 = added[0];
  if (added.length !== 1 || !(h2 instanceof EventEmitter) || h2.listenerCount('stream') !== 1) return { injector, direct: false };
  const grpcListener = h2.listeners('stream')[0] as StreamListener;
  h2.removeListener('stream', grpcListener);
  h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    const handler = directHandler(routes, headers);
    if (handler === undefined) grpcListener.call(h2, stream, headers, flags, rawHeaders);
    else serve(stream, headers, handler, o);
  });
  return { injector, direct: true };
}

/** directHandler is the route's handler for a call that needs nothing grpc-js adds, else undefined. */
function directHandler(routes: DirectRoutes, headers: IncomingHttpHeaders): DirectHandler | undefined {
  const path = headers[':path'];
  if (path === undefined) return undefined;
  const handler = routes.get(path);
  if (handler === undefined) return undefined;
  const type = headers['content-type'];
  if (type === undefined || !type.startsWith('application/grpc')) return undefined;
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return undefined;
  return handler;
}

/** Failure is a status to end a call with. */
interface Failure {
  readonly code: Code;
  readonly details: string;
}

/** serve runs one call: read its message, run the handler, write the response or the status. */
function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, handler: DirectHandler, o: DirectOptions): void {
  const maxReceiveBytes = o.maxReceiveBytes;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  // finish marks the call answered; false if it already was or the client has gone.
  const finish = (): boolean => {
    if (done) return false;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    return !stream.destroyed && !stream.closed;
  };
  const fail = (f: Failure): void => {
    if (finish()) respondStatus(stream, f);
  };
  // NB: a write racing the client's reset raises 'error'; 'close' follows, and nothing is owed.
  stream.on('error', () => undefined);
  stream.once('close', () => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
  });
  const timeout = headers['grpc-timeout'];
  if (timeout !== undefined) {
    const m = typeof timeout === 'string' ? TIMEOUT.exec(timeout) : null;
    if (m === null) return fail({ code: Code.INTERNAL, details: `Invalid grpc-timeout value "${String(timeout)}"` });
    const ms = Number(m[1]) * (TIMEOUT_UNIT_MS[m[2] as string] as number);
    timer = setTimeout(() => fail({ code: Code.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }), Math.ceil(ms));
  }
  let first: Buffer | undefined;
  let parts: Buffer[] | undefined;
  let received = 0;
  stream.on('data', (chunk: Buffer) => {
    if (done) return;
    received += chunk.length;
    if (received > maxReceiveBytes + GRPC_FRAME_BYTES) return fail(tooLarge(declaredLength(first ?? chunk) ?? received, maxReceiveBytes));
    if (first === undefined) first = chunk;
    else (parts ??= [first]).push(chunk);
  });
  stream.on('end', () => {
    if (done) return;
    const body = parts !== undefined ? Buffer.concat(parts) : (first ?? EMPTY);
    const message = unaryMessage(body, maxReceiveBytes, headers[':path'] ?? '');
    if (!Buffer.isBuffer(message)) return fail(message);
    const failWith = (err: unknown): void => {
      const s = toServiceError(err);
      fail({ code: s.code ?? Code.INTERNAL, details: s.details ?? 'internal error' });
    };
    // NB: a handler that throws instead of rejecting still answers with a status, never a crash.
    let answer: Promise<Buffer>;
    try {
      answer = handler(message, headers);
    } catch (err: unknown) {
      return failWith(err);
    }
    answer.then((response) => {
      if (finish()) respondOk(stream, response, headers, o);
    }, failWith);
  });
}

function declaredLength(body: Buffer): number | undefined {
  return body.length >= GRPC_FRAME_BYTES ? body.readUInt32BE(1) : undefined;
}

function tooLarge(length: number, max: number): Failure {
  return { code: Code.RESOURCE_EXHAUSTED, details: `Received message larger than max (${length} vs. ${max})` };
}

/** unaryMessage takes the one message out of a unary call's request body (grpc-js's texts). */
function unaryMessage(body: Buffer, maxReceiveBytes: number, path: string): Buffer | Failure {
  if (body.length === 0) return { code: Code.UNIMPLEMENTED, details: `Received no request message for unary call ${path}` };
  if (body.length < GRPC_FRAME_BYTES) return { code: Code.INTERNAL, details: `Received a truncated request message for ${path}` };
  if (body[0] !== 0) return { code: Code.INTERNAL, details: `Received a compressed request message for ${path} without a grpc-encoding` };
  const length = body.readUInt32BE(1);
  if (length > maxReceiveBytes) return tooLarge(length, maxReceiveBytes);
  const end = GRPC_FRAME_BYTES + length;
  if (body.length < end) return { code: Code.INTERNAL, details: `Received a truncated request message for ${path}` };
  if (body.length > end) return { code: Code.UNIMPLEMENTED, details: `Received a second request message for unary call ${path}` };
  return body.subarray(GRPC_FRAME_BYTES);
}

/**
 * respondOk sends the response message and an OK status, as grpc-js does for a unary call, and
 * tells `o.sent` once the trailers are handed over.
 */
function respondOk(stream: ServerHttp2Stream, framed: Buffer, headers: IncomingHttpHeaders, o: DirectOptions): void {
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': 'identity,deflate,gzip', 'grpc-encoding': 'identity' },
    { waitForTrailers: true },
  );
  // NB: Node's HTTP/2 writes the headers and DATA in one write, asks for the trailers once that
  // write has completed (a loop turn later), and writes them on the turn after that (strace of a
  // bare node:http2 server: writev, then 'wantTrailers' and the JS immediates of that turn, then
  // the trailers' write); no API sends them sooner.
  stream.once('wantTrailers', () => {
    stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' });
    o.sent?.(headers);
  });
  stream.end(framed);
}

/** respondStatus ends a call that has no response with its status alone (a trailers-only response). */
function respondStatus(stream: ServerHttp2Stream, f: Failure): void {
  if (stream.headersSent) {
    stream.close();
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': String(f.code), 'grpc-message': encodeURI(f.details) }, { endStream: true });
}
