/**
 * early-status: a server interceptor that ends a successful unary call in the same event-loop
 * turn as its response. grpc-js sends a unary call's OK status only from the write callback of the
 * response message, which on a busy member comes a loop turn or more later, and the client ends
 * the call only when that status arrives: every put and get waited for it. Here the status goes
 * out right after the message, so both leave in one write.
 *
 * This holds because no unary handler of ours attaches trailing metadata to a success (the
 * `unary` wrapper answers `callback(null, res)`): the status is always OK without metadata, and
 * the OK grpc-js sends later is dropped. An error status, which comes without a message, passes
 * through unchanged, and streaming calls are left alone.
 */
import { ServerInterceptingCall, status, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';

const OK: Parameters<ServerInterceptingCallInterface['sendStatus']>[0] = { code: status.OK, details: 'OK', metadata: null };

/** earlyUnaryStatus is the interceptor; give it to `new grpc.Server({ interceptors: [...] })`. */
export const earlyUnaryStatus: ServerInterceptor = (method, call: ServerInterceptingCallInterface) => {
  if (method.requestStream || method.responseStream) return new ServerInterceptingCall(call);
  let ended = false;
  return new ServerInterceptingCall(call, {
    sendMessage: (message, next) => {
      next(message);
      ended = true;
      call.sendStatus(OK);
    },
    sendStatus: (s, next) => {
      if (!ended) next(s);
    },
  });
};
