/**
 * auth-service: etcdserverpb.Auth. raftkube does not implement etcd's authentication (users,
 * roles, permissions, tokens), so it answers as an etcd member with auth off would about the
 * state — AuthStatus says disabled, AuthDisable has nothing to do — and refuses everything
 * that would need users or roles with UNIMPLEMENTED and a message that says what to use
 * instead. Nothing here touches the store: a refused call leaves the member serving as before.
 */
import type { handleUnaryCall } from '@grpc/grpc-js';
import { AUTH_METHODS, type AuthHandlers } from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import { etcdError } from '../errors.js';
import { unary } from './common.js';

type AuthMethod = (typeof AUTH_METHODS)[number];
type AuthAnswer = Readonly<Record<string, unknown>>;

/** refuse answers a method that needs users or roles. */
function refuse(): handleUnaryCall<unknown, AuthAnswer> {
  return unary<AuthAnswer>(() => Promise.reject(etcdError('auth-not-supported')));
}

/** authService builds the Auth handlers of a member. */
export function authService(s: KvServer): AuthHandlers {
  const handlers = Object.fromEntries(AUTH_METHODS.map((m) => [m, refuse()])) as Record<AuthMethod, handleUnaryCall<unknown, AuthAnswer>>;
  // AuthStatusResponse: header = 1, enabled = 2, authRevision = 3 (etcd's rpc.proto).
  handlers.AuthStatus = unary<AuthAnswer>(() => Promise.resolve({ header: s.header(), enabled: false, authRevision: 0 }));
  // Auth is off and cannot be turned on, so disabling it is done already (as etcd with auth off).
  handlers.AuthDisable = unary<AuthAnswer>(() => Promise.resolve({ header: s.header() }));
  return handlers;
}
