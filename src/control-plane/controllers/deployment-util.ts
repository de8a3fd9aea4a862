/**
 * deployment-util: the pure arithmetic of the Deployment controller, as Kubernetes'
 * deployment/util — surge and unavailability from ints or percents, the pod-template hash,
 * revisions, and the conditions `kubectl rollout status` reads.
 */
import type { DeploymentCondition } from 'kubernetes-types/apps/v1.js';
type IntOrString = number | string;
import type { Deployment, ReplicaSet } from './objects.js';
import { canonicalJson } from './objects.js';

/** REVISION_ANNOTATION is the revision of a ReplicaSet (and of its Deployment). */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** REVISION_HISTORY_ANNOTATION lists the earlier revisions a ReplicaSet had. */
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
/** DESIRED_REPLICAS_ANNOTATION is the Deployment's replicas when the ReplicaSet was last scaled. */
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
/** MAX_REPLICAS_ANNOTATION is replicas + maxSurge when the ReplicaSet was last scaled. */
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** POD_TEMPLATE_HASH_LABEL tells the ReplicaSets (and pods) of one Deployment apart. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/**
 * resolveIntOrPercent resolves 3 or '25%' against a total, rounding a percent up or down
 * (Kubernetes: maxSurge rounds up, maxUnavailable down).
 */
export function resolveIntOrPercent(v: IntOrString | undefined, total: number, roundUp: boolean, fallback: string): number {
  const x = v ?? fallback;
  if (typeof x === 'number') return x;
  const m = /^(\d+)%$/.exec(x);
  if (m === null) return Number.parseInt(x, 10) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** surgeAndUnavailable resolves a Deployment's maxSurge and maxUnavailable (at least one of them positive). */
export function surgeAndUnavailable(d: Deployment): { readonly maxSurge: number; readonly maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: replicas };
  const ru = d.spec?.strategy?.rollingUpdate;
  const maxSurge = resolveIntOrPercent(ru?.maxSurge, replicas, true, '25%');
  let maxUnavailable = resolveIntOrPercent(ru?.maxUnavailable, replicas, false, '25%');
  // Both zero would never make progress: Kubernetes allows one unavailable pod then.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** fnv32a hashes a string (UTF-8) with 32-bit FNV-1a. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * podTemplateHash is the hash that names a Deployment's ReplicaSet: FNV-1a of the template
 * (canonical JSON) and the collision count, printed with Kubernetes' SafeEncodeString alphabet
 * (no vowels, so no words).
 */
export function podTemplateHash(template: unknown, collisionCount: number | undefined): string {
  const h = fnv32a(canonicalJson(dropNulls(template)) + (collisionCount === undefined ? '' : String(collisionCount)));
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length] ?? 'b').join('');
}

/**
 * dropNulls removes null members (recursively): Kubernetes decodes a null field as absent, and
 * kubectl sends some (a template's `creationTimestamp: null` in `rollout undo`).
 */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

/** withoutHash is a template without its pod-template-hash label and null fields, for comparison. */
function withoutHash(t: NonNullable<ReplicaSet['spec']>['template']): unknown {
  if (t === undefined) return {};
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return dropNulls({ ...t, metadata: { ...t.metadata, labels } });
}

/** sameTemplate says whether a ReplicaSet runs the Deployment's template (ignoring the hash label). */
export function sameTemplate(rs: ReplicaSet, d: Deployment): boolean {
  return canonicalJson(withoutHash(rs.spec?.template)) === canonicalJson(withoutHash(d.spec?.template));
}

/** revisionOf is an object's revision annotation as a number (0 when absent). */
export function revisionOf(obj: { readonly metadata: { readonly annotations?: Readonly<Record<string, string>> } }): number {
  const v = Number(obj.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isFinite(v) ? v : 0;
}

/** replicasOf is a ReplicaSet's spec.replicas (default 1). */
export function replicasOf(rs: ReplicaSet): number {
  return rs.spec?.replicas ?? 1;
}

/** sumReplicas sums spec.replicas over ReplicaSets. */
export function sumReplicas(rss: readonly ReplicaSet[]): number {
  return rss.reduce((n, rs) => n + replicasOf(rs), 0);
}

/** sumStatus sums one status field over ReplicaSets. */
export function sumStatus(rss: readonly ReplicaSet[], field: 'replicas' | 'readyReplicas' | 'availableReplicas'): number {
  return rss.reduce((n, rs) => n + (rs.status?.[field] ?? 0), 0);
}

/**
 * sumAvailableKept sums the available pods each ReplicaSet keeps: its status.availableReplicas,
 * but no more than its spec.replicas — a ReplicaSet just scaled down still reports the pods it
 * is about to delete as available, and counting them would let a rollout scale down further
 * than maxUnavailable allows.
 */
export function sumAvailableKept(rss: readonly ReplicaSet[]): number {
  return rss.reduce((n, rs) => n + Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs)), 0);
}

/**
 * sumPodsAtMost sums the pods each ReplicaSet may have right now: the larger of spec.replicas
 * and status.replicas — a ReplicaSet just scaled down still has the pods it is about to delete,
 * and growing the new one into that room at once would exceed maxSurge for a while.
 */
export function sumPodsAtMost(rss: readonly ReplicaSet[]): number {
  return rss.reduce((n, rs) => n + Math.max(replicasOf(rs), rs.status?.replicas ?? 0), 0);
}

/** condition finds a Deployment condition by type. */
export function condition(d: { readonly status?: Deployment['status'] }, type: string): DeploymentCondition | undefined {
  return (d.status?.conditions ?? []).find((c) => c.type === type);
}

/**
 * setCondition sets a condition as Kubernetes' SetDeploymentCondition: an identical status and
 * reason leaves it alone; the same status keeps its lastTransitionTime.
 */
export function setCondition(conditions: DeploymentCondition[], c: DeploymentCondition): DeploymentCondition[] {
  const cur = conditions.find((x) => x.type === c.type);
  if (cur !== undefined && cur.status === c.status && cur.reason === c.reason) return conditions;
  const next = cur !== undefined && cur.status === c.status && cur.lastTransitionTime !== undefined ? { ...c, lastTransitionTime: cur.lastTransitionTime } : c;
  return [...conditions.filter((x) => x.type !== c.type), next];
}
