/**
 * auth: who a request comes from and what it may do — the cluster PKI (pki), static bearer
 * tokens (tokens), impersonation (impersonation), RBAC (rbac) with its built-in policy
 * (bootstrap) and its guard against escalation (escalation), the node restriction
 * (node-restriction), and the self-subject reviews behind `kubectl auth can-i` (reviews,
 * review-protobuf).
 */
export * from './bootstrap.js';
export * from './escalation.js';
export * from './impersonation.js';
export * from './node-restriction.js';
export * from './pki.js';
export * from './rbac.js';
export * from './review-protobuf.js';
export * from './reviews.js';
export * from './tokens.js';
