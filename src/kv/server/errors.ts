/**
 * errors: the one place where raftkube's expected failures become gRPC statuses, with etcd's
 * codes and texts (clients such as etcdctl and the etcd3 package match on the text).
 */
import { status as Code, Metadata, type ServiceError } from '@grpc/grpc-js';

/** EtcdErrorKind names every failure the etcd layer reports to clients. */
export type EtcdErrorKind =
  | 'empty-key' | 'request-too-large' | 'compacted' | 'future-rev' | 'too-many-ops' | 'duplicate-key'
  | 'lease-not-found' | 'lease-exists' | 'lease-ttl-too-large' | 'key-not-found' | 'no-leader' | 'timeout'
  | 'leader-changed' | 'stopped' | 'member-not-found' | 'member-exists' | 'peer-url-exists' | 'member-not-learner'
  | 'learner-not-ready' | 'too-many-learners' | 'not-leader' | 'bad-transferee' | 'invalid-argument'
  | 'conf-change-pending' | 'unimplemented' | 'auth-not-supported' | 'no-space' | 'internal';

const TABLE: Record<EtcdErrorKind, readonly [Code, string]> = {
  'empty-key': [Code.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
  'request-too-large': [Code.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  compacted: [Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
  'future-rev': [Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
  'too-many-ops': [Code.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'],
  'duplicate-key': [Code.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
  'lease-not-found': [Code.NOT_FOUND, 'etcdserver: requested lease not found'],
  'lease-exists': [Code.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
  'lease-ttl-too-large': [Code.OUT_OF_RANGE, 'etcdserver: too large lease TTL'],
  'key-not-found': [Code.INVALID_ARGUMENT, 'etcdserver: key not found'],
  'no-leader': [Code.UNAVAILABLE, 'etcdserver: no leader'],
  timeout: [Code.UNAVAILABLE, 'etcdserver: request timed out'],
  'leader-changed': [Code.UNAVAILABLE, 'etcdserver: leader changed'],
  stopped: [Code.UNAVAILABLE, 'etcdserver: server stopped'],
  'member-not-found': [Code.NOT_FOUND, 'etcdserver: member not found'],
  'member-exists': [Code.FAILED_PRECONDITION, 'etcdserver: member ID already exist'],
  'peer-url-exists': [Code.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'],
  'member-not-learner': [Code.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'],
  'learner-not-ready': [Code.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'],
  'too-many-learners': [Code.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'],
  'not-leader': [Code.FAILED_PRECONDITION, 'etcdserver: not leader'],
  'bad-transferee': [Code.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'],
  'invalid-argument': [Code.INVALID_ARGUMENT, 'etcdserver: invalid argument'],
  'conf-change-pending': [Code.FAILED_PRECONDITION, 'etcdserver: a membership change is already in progress; retry once it completes'],
  unimplemented: [Code.UNIMPLEMENTED, 'etcdserver: not implemented'],
  'auth-not-supported': [
    Code.UNIMPLEMENTED,
    'etcdserver: raftkube does not implement etcd authentication (users, roles, auth enable); authentication stays disabled. ' +
      'Secure the client port with TLS client certificates instead (--client-cert-auth)',
  ],
  'no-space': [Code.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'],
  internal: [Code.INTERNAL, 'etcdserver: internal error'],
};

/** EtcdError is an expected failure on its way to a client. */
export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  readonly code: Code;
  constructor(readonly kind: EtcdErrorKind, detail?: string) {
    const [code, text] = TABLE[kind];
    super(detail === undefined ? text : `${text}: ${detail}`);
    this.code = code;
  }
}

/** etcdError builds an EtcdError whose message is etcd's text (plus an optional detail). */
export function etcdError(kind: EtcdErrorKind, detail?: string): EtcdError {
  return new EtcdError(kind, detail);
}

/** invalid builds an INVALID_ARGUMENT error with our own explanation (a decode failure, say). */
export function invalid(message: string): EtcdError {
  const e = new EtcdError('invalid-argument', message);
  return e;
}

/** toServiceError maps anything thrown by a handler to a gRPC status for the client. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof EtcdError) return { code: err.code, details: err.message, metadata: new Metadata() };
  if (typeof err === 'object' && err !== null && 'code' in err && 'details' in err) {
    const e = err;
    if (typeof e.code === 'number' && typeof e.details === 'string') return { code: e.code, details: e.details, metadata: new Metadata() };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { code: Code.INTERNAL, details: `etcdserver: internal error: ${msg}`, metadata: new Metadata() };
}
