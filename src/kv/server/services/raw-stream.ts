/**
 * raw-stream: hands the Watch handler the HTTP/2 stream under its gRPC call, so it can write many
 * responses in one DATA write.
 *
 * Through grpc-js every response is its own trip through the call's interceptors, serializer and
 * an HTTP/2 write: about 9 µs of a member's CPU each (measured on these machines), and a change
 * watched 100 times costs 100 of them. Written by us, the responses one change produces for the
 * watchers of a stream leave in one write, already encoded (watch-wire.ts). Everything else about
 * the call stays grpc-js's: reading requests, response headers, the status at the end,
 * cancellation.
 *
 * How the stream is found: grpc-js gives the first server interceptor of a call its innermost
 * call object, which keeps the HTTP/2 stream in its `stream` field. That field is not public API,
 * so it is checked to look like a server stream before use; if a grpc-js version ever moves it,
 * `rawStreamOf` answers undefined, the Watch handler writes through grpc-js as before, and
 * test/kv/watch-service.test.ts, which asserts that the raw path is taken, fails. The stream
 * reaches the handler through a WeakMap keyed by the call's request metadata object, which grpc-js
 * hands on unchanged (nothing a client sends can name a stream).
 */
import type { ServerHttp2Stream } from 'node:http2';
import { ServerInterceptingCall, type Metadata, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';

/** RawStream is what the Watch handler uses of the HTTP/2 stream under its call. */
export type RawStream = Pick<ServerHttp2Stream, 'write' | 'on' | 'destroy' | 'destroyed' | 'writableEnded' | 'headersSent'>;

/** RAW_STREAM_METHODS are the methods whose handlers may write to the HTTP/2 stream themselves. */
const RAW_STREAM_METHODS: ReadonlySet<string> = new Set(['/etcdserverpb.Watch/Watch']);

const streams = new WeakMap<Metadata, RawStream>();

function looksLikeServerStream(v: unknown): v is ServerHttp2Stream {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Partial<Record<'write' | 'respond' | 'on' | 'end', unknown>>;
  return typeof s.write === 'function' && typeof s.respond === 'function' && typeof s.on === 'function' && typeof s.end === 'function';
}

/**
 * capture wraps a Watch call so that its request metadata names its HTTP/2 stream; any other
 * call, or one whose stream is not where it is looked for, comes back as it is.
 */
function capture(path: string, call: ServerInterceptingCallInterface): ServerInterceptingCallInterface {
  if (!RAW_STREAM_METHODS.has(path)) return call;
  const stream: unknown = (call as unknown as { readonly stream?: unknown }).stream;
  if (!looksLikeServerStream(stream)) return call;
  // NB: grpc-js listens for one 'error' on the stream; a write racing the client's reset can
  // raise another, which must not go unheard (the call's own cancellation handles the rest).
  stream.on('error', () => undefined);
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata, nextMetadata) => {
          streams.set(metadata, stream);
          nextMetadata(metadata);
        },
      }),
  });
}

/**
 * withRawStreams makes the server's one interceptor: it captures the stream of a Watch call (it
 * must see the call grpc-js made, so nothing may come before it) and hands every call on to
 * `next`. One interceptor rather than two keeps a unary call, the hot path, wrapped once.
 */
export function withRawStreams(next: ServerInterceptor): ServerInterceptor {
  return (method, call) => next(method, capture(method.path, call));
}

/** rawStreamOf is the HTTP/2 stream of the call whose request metadata is `metadata`, if captured. */
export function rawStreamOf(metadata: Metadata): RawStream | undefined {
  return streams.get(metadata);
}
