/**
 * fencing: how a leader-elected writer's writes are made conditional on still holding its Lease,
 * atomically. Leader election leases live in kube-system; whenever one of them is written, the
 * same etcd transaction also writes its *term record* — a small side key whose value is the
 * holder identity and the lease's transition count — so the term record changes exactly when
 * leadership changes hands (or is released), and not on renewals. A fenced write adds a compare
 * `VALUE(term record) == the writer's term` to its own transaction: if another candidate took
 * the lease meanwhile, the write is refused by etcd itself, with no window between a check and
 * the write. Comparing the lease's mod revision instead would refuse every write that raced a
 * renewal.
 */
import type { KubeObject } from '../api/types.js';
import { FENCED_PREFIX, type WriteFence } from '../apiserver/registry-api.js';
import { parseKey } from './keys.js';

/** FENCED_NAMESPACE is the only namespace whose Leases can fence writes (where leader election leases live). */
export const FENCED_NAMESPACE = 'kube-system';

/** TERM_ROOT is the prefix of the term records, outside /registry/ so no watch cache sees them. */
export const TERM_ROOT = '/raftkube/lease-terms/';

/** LeaseFence makes a write conditional on the Lease `namespace/name` naming this holder in this term. */
export type LeaseFence = WriteFence;

/** termKey is the key of a kube-system Lease's term record. */
export function termKey(namespace: string, name: string): string {
  return `${TERM_ROOT}${namespace}/${name}`;
}

/** termValue is a term record's value: the holder and the transition count, unambiguously joined. */
export function termValue(holderIdentity: string, leaseTransitions: number): string {
  return JSON.stringify([holderIdentity, leaseTransitions]);
}

/** fenceTerm is the term record a fence expects to find. */
export function fenceTerm(f: LeaseFence): { readonly key: string; readonly value: string } {
  return { key: termKey(f.namespace, f.name), value: termValue(f.holderIdentity, f.leaseTransitions) };
}

/** termKeyOfObject is the term record kept alongside an object's key: only kube-system Leases have one. */
export function termKeyOfObject(key: string): string | null {
  const k = parseKey(key);
  if (k === null || k.group !== 'coordination.k8s.io' || k.resource !== 'leases' || k.namespace !== FENCED_NAMESPACE) return null;
  return termKey(k.namespace, k.name);
}

/** termOfLease is the term record's value for a Lease object (holder '' and 0 when unset). */
export function termOfLease(obj: KubeObject): string {
  const raw = obj['spec'];
  const spec = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const holder = typeof spec['holderIdentity'] === 'string' ? spec['holderIdentity'] : '';
  const transitions = typeof spec['leaseTransitions'] === 'number' ? spec['leaseTransitions'] : 0;
  return termValue(holder, transitions);
}

/** describeFence names a fence in messages: `the lease kube-system/kube-scheduler (holder m1_ab, term 3)`. */
export function describeFence(f: LeaseFence): string {
  return `the lease ${f.namespace}/${f.name} (holder ${f.holderIdentity}, term ${f.leaseTransitions})`;
}

/** fencedMessage is the refusal a deposed leader's write gets. */
export function fencedMessage(f: LeaseFence): string {
  return `${FENCED_PREFIX}${describeFence(f)}, which has since changed hands or been released; this client no longer leads and must stop writing (a current leader retries with its new term)`;
}
