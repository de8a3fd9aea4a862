/**
 * earlyUnaryStatus: a unary call's OK status leaves right after its message, not from the
 * message's write callback; grpc-js's own late OK is dropped; errors and streaming calls pass
 * through. Also over a real server and client: answers, errors and a stream still work.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { earlyUnaryStatus } from '../../src/kv/server/services/early-status.js';

type Event = { readonly kind: 'metadata' } | { readonly kind: 'message'; readonly message: unknown } | { readonly kind: 'status'; readonly code: grpc.status } | { readonly kind: 'written' };

/** fakeCall records what reaches the transport; message write callbacks run only when asked. */
function fakeCall(): { readonly call: grpc.ServerInterceptingCallInterface; readonly events: Event[]; flushWrites: () => void } {
  const events: Event[] = [];
  const pending: (() => void)[] = [];
  const call: grpc.ServerInterceptingCallInterface = {
    start: () => undefined,
    sendMetadata: () => void events.push({ kind: 'metadata' }),
    sendMessage: (message: unknown, callback: () => void) => {
      events.push({ kind: 'message', message });
      pending.push(() => {
        events.push({ kind: 'written' });
        callback();
      });
    },
    sendStatus: (s: { readonly code: grpc.status }) => void events.push({ kind: 'status', code: s.code }),
    startRead: () => undefined,
    getPeer: () => 'test',
    getDeadline: () => Infinity,
    getHost: () => 'test',
    getAuthContext: () => ({}),
    getConnectionInfo: () => ({ remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2 }),
  } as unknown as grpc.ServerInterceptingCallInterface;
  return { call, events, flushWrites: () => { for (const w of pending.splice(0)) w(); } };
}

function method(requestStream: boolean, responseStream: boolean): grpc.ServerMethodDefinition<unknown, unknown> {
  return { path: '/test.T/M', requestStream, responseStream, responseSerialize: () => Buffer.alloc(0), requestDeserialize: () => ({}) };
}

/** answerAsGrpcJs does what grpc-js's handleUnary does with a success: message, then OK from the write callback. */
function answerAsGrpcJs(c: grpc.ServerInterceptingCallInterface, message: unknown): void {
  c.sendMessage(message, () => c.sendStatus({ code: grpc.status.OK, details: 'OK', metadata: null }));
}

describe('earlyUnaryStatus', () => {
  it('sends a unary call\'s OK right after its message, before the write completes, and only once', () => {
    const f = fakeCall();
    const c = earlyUnaryStatus(method(false, false), f.call);
    answerAsGrpcJs(c, { v: 1 });
    expect(f.events).toEqual([{ kind: 'metadata' }, { kind: 'message', message: { v: 1 } }, { kind: 'status', code: grpc.status.OK }]);
    f.flushWrites();
    expect(f.events.filter((e) => e.kind === 'status')).toHaveLength(1);
    expect(f.events.at(-1)).toEqual({ kind: 'written' });
  });

  it('passes an error status through unchanged', () => {
    const f = fakeCall();
    earlyUnaryStatus(method(false, false), f.call).sendStatus({ code: grpc.status.FAILED_PRECONDITION, details: 'no', metadata: null });
    expect(f.events).toEqual([{ kind: 'status', code: grpc.status.FAILED_PRECONDITION }]);
  });

  it.each([[true, false], [false, true], [true, true]])('leaves a streaming call alone (request stream %s, response stream %s)', (rs, ws) => {
    const f = fakeCall();
    answerAsGrpcJs(earlyUnaryStatus(method(rs, ws), f.call), { v: 2 });
    expect(f.events.filter((e) => e.kind === 'status')).toHaveLength(0);
    f.flushWrites();
    expect(f.events.filter((e) => e.kind === 'status')).toEqual([{ kind: 'status', code: grpc.status.OK }]);
  });

  it('serves unary answers, unary errors and a server stream over a real connection', async () => {
    const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };
    const def = (responseStream: boolean) => ({ path: `/test.T/${responseStream ? 'S' : 'U'}`, requestStream: false, responseStream, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize });
    const service = { U: def(false), S: def(true) };
    const server = new grpc.Server({ interceptors: [earlyUnaryStatus] });
    server.addService(service, {
      U: (call: grpc.ServerUnaryCall<{ n: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (call.request.n < 0) cb({ code: grpc.status.INVALID_ARGUMENT, details: 'negative' });
        else cb(null, { twice: call.request.n * 2 });
      },
      S: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
        for (let i = 0; i < call.request.n; i++) call.write({ i });
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const Client = grpc.makeGenericClientConstructor(service, 'T');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
      U: (req: unknown, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void;
      S: (req: unknown) => grpc.ClientReadableStream<unknown>;
      close: () => void;
    };
    try {
      const unary = (n: number) => new Promise<{ e: grpc.ServiceError | null; r?: unknown }>((resolve) => client.U({ n }, (e, r) => resolve({ e, r })));
      const answers = await Promise.all([1, 2, 3].map(unary));
      expect(answers.map((a) => a.r)).toEqual([{ twice: 2 }, { twice: 4 }, { twice: 6 }]);
      const failed = await unary(-1);
      expect(failed.e?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(failed.e?.details).toBe('negative');
      const got: unknown[] = [];
      const stream = client.S({ n: 3 });
      stream.on('data', (d: unknown) => got.push(d));
      await new Promise<void>((resolve, reject) => { stream.on('end', resolve); stream.on('error', reject); });
      expect(got).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    }
  });
});
