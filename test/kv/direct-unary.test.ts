/**
 * direct-unary: calls on the direct routes reach their handler past grpc-js, with grpc-js's
 * answers for everything a unary call can get wrong; every other call, and a compressing client's,
 * still goes through grpc-js. A real grpc-js Server and client on loopback, plus a raw HTTP/2
 * client for what grpc-js's client would never send.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { directInjector, type DirectRoutes } from '../../src/kv/server/services/direct-unary.js';
import { etcdError } from '../../src/kv/server/errors.js';

const bytesThrough = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});
const DIRECT = '/test.Echo/Direct';
const OTHER = '/test.Echo/Other';
const SERVICE = { Direct: bytesThrough(DIRECT), Other: bytesThrough(OTHER) };
const MAX = 64;

/** framed is one gRPC message: flag, length, bytes. */
function framed(message: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

interface RawResult {
  readonly status: string | undefined;
  readonly message: string | undefined;
  readonly data: Buffer;
}

describe('directInjector', () => {
  const seen: string[] = [];
  // what the `sent` option heard: each answered call's path and x-note, as its trailers went out
  const sentCalls: string[] = [];
  let onSent: (() => void) | undefined;
  let pending: (() => void) | undefined;
  const answer = async (message: Buffer, headers: http2.IncomingHttpHeaders): Promise<Buffer> => {
    seen.push(`direct ${message.toString()}`);
    const text = message.toString();
    if (text === 'fail') throw etcdError('internal', 'naïve 100% ✓, "quoted"');
    if (text === 'not-found') throw etcdError('key-not-found');
    if (text === 'hang') await new Promise<void>((r) => (pending = r));
    return framed(Buffer.from(`echo ${text} ${String(headers['x-note'] ?? '')}`));
  };
  const routes: DirectRoutes = new Map([
    [
      DIRECT,
      (message: Buffer, headers: http2.IncomingHttpHeaders) => {
        // NB: not async, so that 'throw' throws synchronously, as a route's argument checks may.
        if (message.toString() === 'throw') throw etcdError('invalid-argument', 'thrown before any promise');
        return answer(message, headers);
      },
    ],
  ]);
  const server = new grpc.Server();
  server.addService(SERVICE, {
    Direct: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      seen.push(`grpc-js ${call.request.toString()}`);
      cb(null, Buffer.from(`grpc-js ${call.request.toString()}`));
    },
    Other: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      seen.push(`other ${call.request.toString()}`);
      cb(null, Buffer.from(`other ${call.request.toString()}`));
    },
  });
  const sent = (h: http2.IncomingHttpHeaders): void => {
    sentCalls.push(`${String(h[':path'])} ${String(h['x-note'] ?? '')}`);
    onSent?.();
  };
  const d = directInjector(server, grpc.ServerCredentials.createInsecure(), routes, { maxReceiveBytes: MAX, sent });
  const listener = net.createServer((sock) => d.injector.injectConnection(sock));
  let port = 0;
  let client: grpc.Client;

  const call = (method: 'Direct' | 'Other', body: string, o: { readonly deadlineMs?: number; readonly metadata?: grpc.Metadata } = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      const options: grpc.CallOptions = o.deadlineMs === undefined ? {} : { deadline: Date.now() + o.deadlineMs };
      client.makeUnaryRequest(SERVICE[method].path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), o.metadata ?? new grpc.Metadata(), options, (err, res) =>
        err !== null ? reject(err) : resolve((res as Buffer).toString()),
      );
    });

  /** raw sends one request with a raw HTTP/2 client and collects the status and the data. */
  const raw = (body: Buffer, headers: http2.OutgoingHttpHeaders = {}, cancelAfterMs?: number): Promise<RawResult> =>
    new Promise((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': DIRECT, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let status: string | undefined;
      let message: string | undefined;
      const data: Buffer[] = [];
      const take = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', (c: Buffer) => data.push(c));
      req.on('error', () => undefined);
      req.on('close', () => {
        session.close();
        resolve({ status, message, data: Buffer.concat(data) });
      });
      req.end(body);
      if (cancelAfterMs !== undefined) setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), cancelAfterMs);
    });

  beforeAll(async () => {
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as net.AddressInfo).port;
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    d.injector.destroy();
    await new Promise<void>((r) => listener.close(() => r()));
  });

  it('takes the routes past grpc-js, and passes every other method to grpc-js', async () => {
    expect(d.direct).toBe(true);
    seen.length = 0;
    const md = new grpc.Metadata();
    md.set('x-note', 'hello');
    await expect(call('Direct', 'a', { metadata: md })).resolves.toBe('echo a hello');
    await expect(call('Other', 'b')).resolves.toBe('other b');
    expect(seen).toEqual(['direct a', 'other b']);
  });

  it('tells `sent` of each answered call as its trailers go out, and of no failed call or grpc-js call', async () => {
    sentCalls.length = 0;
    await expect(call('Direct', 'fail')).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    await expect(call('Other', 'o')).resolves.toBe('other o');
    const md = new grpc.Metadata();
    md.set('x-note', 'last');
    const heard = new Promise<void>((r) => (onSent = r));
    await expect(call('Direct', 'ok', { metadata: md })).resolves.toBe('echo ok last');
    await heard;
    expect(sentCalls).toEqual([`${DIRECT} last`]);
  });

  it("answers a handler's error (rejected or thrown) with its status and message, Unicode and percent signs intact", async () => {
    await expect(call('Direct', 'fail')).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: 'etcdserver: internal error: naïve 100% ✓, "quoted"' });
    await expect(call('Direct', 'not-found')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: key not found' });
    await expect(call('Direct', 'throw', { deadlineMs: 5000 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: invalid argument: thrown before any promise' });
    await expect(call('Direct', 'after')).resolves.toBe('echo after ');
  });

  it('refuses a message over the limit, as grpc-js does', async () => {
    const big = 'x'.repeat(MAX + 1);
    await expect(call('Direct', big)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${MAX + 1} vs. ${MAX})` });
    const r = await raw(framed(Buffer.alloc(MAX * 40)));
    expect(r.status).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(r.message).toBe(`Received message larger than max (${MAX * 40} vs. ${MAX})`);
  });

  it('answers a malformed body with a status naming what is wrong', async () => {
    const cases: readonly [Buffer, grpc.status, RegExp][] = [
      [Buffer.alloc(0), grpc.status.UNIMPLEMENTED, /no request message/],
      [Buffer.from([0, 0, 0]), grpc.status.INTERNAL, /truncated request message/],
      [framed(Buffer.from('abc')).subarray(0, 7), grpc.status.INTERNAL, /truncated request message/],
      [Buffer.concat([framed(Buffer.from('a')), framed(Buffer.from('b'))]), grpc.status.UNIMPLEMENTED, /second request message/],
      [framed(Buffer.from('abc'), 1), grpc.status.INTERNAL, /compressed request message/],
    ];
    for (const [body, code, text] of cases) {
      const r = await raw(body);
      expect(r.status, body.toString('hex')).toBe(String(code));
      expect(r.message).toMatch(text);
      expect(r.data.length).toBe(0);
    }
  });

  it("ends a call at its grpc-timeout, and refuses a timeout it cannot read", async () => {
    const r = await raw(framed(Buffer.from('hang')), { 'grpc-timeout': '50m' });
    expect(r).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), message: 'Deadline exceeded' });
    pending?.();
    const bad = await raw(framed(Buffer.from('a')), { 'grpc-timeout': 'soon' });
    expect(bad).toMatchObject({ status: String(grpc.status.INTERNAL), message: 'Invalid grpc-timeout value "soon"' });
  });

  it('drops the answer of a call the client cancelled, and keeps serving', async () => {
    pending = undefined;
    const r = await raw(framed(Buffer.from('hang')), {}, 30);
    expect(r.status).toBeUndefined();
    // NB: read through a cast: the compiler does not see the handler assign it during the call.
    const release = pending as (() => void) | undefined;
    expect(release).toBeTypeOf('function');
    release?.();
    await expect(call('Direct', 'next')).resolves.toBe('echo next ');
  });

  it('leaves a compressing client, or another content type, to grpc-js', async () => {
    seen.length = 0;
    const r = await raw(framed(Buffer.from('gz')), { 'grpc-encoding': 'gzip' });
    expect(r.status).toBe('0');
    expect(seen).toEqual(['grpc-js gz']);
    const text = await raw(framed(Buffer.from('t')), { 'content-type': 'text/plain' });
    expect(text.status).not.toBe('0');
    expect(seen).toEqual(['grpc-js gz']);
  });
});
