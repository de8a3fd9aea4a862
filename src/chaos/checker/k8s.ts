/**
 * k8s: the checks of the chaos suite's Kubernetes workload. All pure, over what was recorded:
 *
 * - **Deployments converge**: after healing, every Deployment's desired replicas is a value the
 *   history allows (its last acknowledged scale, or any scale whose outcome was unknown, which
 *   may take effect late), and that many pods exist and are available.
 * - **No object lost**: every acknowledged create is still there unless a delete of it was
 *   attempted and may have happened; every acknowledged delete stays deleted.
 * - **No pod bound twice**: in the store's full history of pods, a pod (by uid) that was bound
 *   to a node is never seen bound to another.
 * - **One leader per term**: in the full history of the leader-election term records (the side
 *   keys that fence every scheduler and controller-manager write, see
 *   src/control-plane/storage/fencing.ts), a lease's transition count never names two holders
 *   and never goes back. Since a fenced write commits only while the term record still names
 *   its writer's term, one holder per term means no two leaders acted in the same term.
 */
import type { K8sOp } from '../workload/k8s.js';
import type { Observed } from '../workload/k8s.js';

/** StoreEvent is one change of a key in the store's history (value as text). */
export interface StoreEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

/** K8sCheck is one check's outcome with the evidence for people. */
export interface K8sCheck {
  readonly ok: boolean;
  readonly summary: string;
  readonly problems: readonly string[];
}

function outcome(okSummary: string, problems: readonly string[], what: string): K8sCheck {
  return problems.length === 0
    ? { ok: true, summary: okSummary, problems }
    : { ok: false, summary: `${problems.length} ${what}: ${problems[0]}${problems.length > 1 ? ' …' : ''}`, problems };
}

/** completions pairs each invoke with its outcome (by process), in invocation order. */
function completions(ops: readonly K8sOp[]): { readonly invoke: K8sOp; readonly end: K8sOp | null }[] {
  const open = new Map<number, number>();
  const out: { invoke: K8sOp; end: K8sOp | null }[] = [];
  for (const op of ops) {
    if (op.type === 'invoke') {
      open.set(op.process, out.length);
      out.push({ invoke: op, end: null });
    } else {
      const i = open.get(op.process);
      if (i !== undefined) {
        out[i]!.end = op;
        open.delete(op.process);
      }
    }
  }
  return out;
}

/**
 * allowedReplicas is, per Deployment, every replica count it may end with: the last
 * acknowledged scale (or, if none, the count it was created with) and every scale or create
 * whose outcome is unknown. Scales of one Deployment come from one worker, one at a time, so
 * "last acknowledged" is the last in invocation order.
 */
export function allowedReplicas(ops: readonly K8sOp[]): Map<string, Set<number>> {
  const lastOk = new Map<string, number>();
  const maybe = new Map<string, Set<number>>();
  for (const c of completions(ops)) {
    const f = c.invoke.f;
    if ((f !== 'scale' && f !== 'create-deployment') || c.invoke.value === null) continue;
    const name = c.invoke.key;
    const type = c.end?.type ?? 'info';
    if (type === 'ok') {
      if (f === 'scale' || !lastOk.has(name)) lastOk.set(name, c.invoke.value);
    } else if (type === 'info') {
      if (!maybe.has(name)) maybe.set(name, new Set());
      maybe.get(name)!.add(c.invoke.value);
    }
  }
  const out = new Map<string, Set<number>>();
  for (const name of new Set([...lastOk.keys(), ...maybe.keys()])) {
    const s = new Set(maybe.get(name) ?? []);
    const last = lastOk.get(name);
    if (last !== undefined) s.add(last);
    out.set(name, s);
  }
  return out;
}

/** checkDeployments judges the observed Deployments against the history. */
export function checkDeployments(ops: readonly K8sOp[], observed: Observed): K8sCheck {
  const allowed = allowedReplicas(ops);
  const problems: string[] = [];
  for (const [name, values] of allowed) {
    const d = observed.deployments.get(name);
    const list = [...values].sort((a, b) => a - b).join(' or ');
    if (d === undefined) {
      problems.push(`Deployment ${name} is missing`);
      continue;
    }
    if (!values.has(d.specReplicas)) problems.push(`Deployment ${name} wants ${d.specReplicas} replicas; the history allows only ${list}`);
    else if (d.availableReplicas !== d.specReplicas || d.updatedReplicas !== d.specReplicas || d.pods !== d.specReplicas) {
      problems.push(`Deployment ${name} has not converged: wants ${d.specReplicas}, ${d.availableReplicas} available, ${d.updatedReplicas} updated, ${d.pods} pods`);
    }
  }
  return outcome(`${allowed.size} Deployments converged to replica counts the history allows`, problems, 'Deployments wrong');
}

/** checkObjectsKept finds acknowledged creates that vanished and acknowledged deletes that came back. */
export function checkObjectsKept(ops: readonly K8sOp[], observed: Observed): K8sCheck {
  const created = new Set<string>();
  const maybeDeleted = new Set<string>();
  const deleted = new Set<string>();
  const deployments = new Set<string>();
  for (const c of completions(ops)) {
    const type = c.end?.type ?? 'info';
    const name = c.invoke.key;
    if (c.invoke.f === 'create-configmap' && type === 'ok') created.add(name);
    if (c.invoke.f === 'delete-configmap' && type !== 'fail') maybeDeleted.add(name);
    if (c.invoke.f === 'delete-configmap' && type === 'ok') deleted.add(name);
    if (c.invoke.f === 'create-deployment' && type === 'ok') deployments.add(name);
  }
  const problems: string[] = [];
  for (const name of created) if (!maybeDeleted.has(name) && !observed.configMaps.has(name)) problems.push(`ConfigMap ${name} was created (acknowledged) and never deleted, but is gone`);
  for (const name of deleted) if (observed.configMaps.has(name)) problems.push(`ConfigMap ${name} was deleted (acknowledged), but is there`);
  for (const name of deployments) if (!observed.deployments.has(name)) problems.push(`Deployment ${name} was created (acknowledged), but is gone`);
  const kept = [...created].filter((n) => !maybeDeleted.has(n)).length;
  return outcome(`${kept} acknowledged ConfigMaps and ${deployments.size} Deployments all there, ${deleted.size} acknowledged deletes all stayed deleted`, problems, 'objects lost or resurrected');
}

interface PodFields {
  readonly uid: string;
  readonly nodeName: string;
}

function podFields(value: string): PodFields | null {
  try {
    const o = JSON.parse(value) as { metadata?: { uid?: unknown }; spec?: { nodeName?: unknown } };
    const uid = o.metadata?.uid;
    if (typeof uid !== 'string') return null;
    return { uid, nodeName: typeof o.spec?.nodeName === 'string' ? o.spec.nodeName : '' };
  } catch {
    return null;
  }
}

/** checkPodBindings finds pods seen bound to one node and later to another (or unbound again). */
export function checkPodBindings(events: readonly StoreEvent[]): K8sCheck {
  const boundTo = new Map<string, { node: string; key: string; rev: number }>();
  const problems: string[] = [];
  let unreadable = 0;
  for (const e of events) {
    if (e.type !== 'put') continue;
    const p = podFields(e.value);
    if (p === null) {
      unreadable++;
      continue;
    }
    const before = boundTo.get(p.uid);
    if (before === undefined) {
      if (p.nodeName !== '') boundTo.set(p.uid, { node: p.nodeName, key: e.key, rev: e.modRevision });
    } else if (p.nodeName !== before.node) {
      problems.push(`pod ${e.key} (uid ${p.uid}) bound to ${before.node} at revision ${before.rev}, then ${p.nodeName === '' ? 'unbound' : `to ${p.nodeName}`} at revision ${e.modRevision}`);
    }
  }
  if (unreadable > 0) problems.push(`${unreadable} stored pods could not be read (no uid or not JSON)`);
  return outcome(`${boundTo.size} pods bound, none to two nodes`, problems, 'pods bound twice');
}

/** checkLeaseTerms finds a lease term that names two holders, or a term count that went back. */
export function checkLeaseTerms(events: readonly StoreEvent[]): K8sCheck {
  const holders = new Map<string, Map<number, string>>();
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const e of events) {
    if (e.type !== 'put') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(e.value);
    } catch {
      parsed = null;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || !Number.isSafeInteger(parsed[1])) {
      problems.push(`term record ${e.key} at revision ${e.modRevision} is not [holder, transitions]: ${e.value.slice(0, 80)}`);
      continue;
    }
    const holder = parsed[0];
    const term = parsed[1] as number;
    const prev = last.get(e.key);
    if (prev !== undefined && term < prev) problems.push(`${e.key} went back from term ${prev} to ${term} at revision ${e.modRevision}`);
    last.set(e.key, term);
    // A released lease keeps its term with no holder; only a named holder acts.
    if (holder === '') continue;
    if (!holders.has(e.key)) holders.set(e.key, new Map());
    const terms = holders.get(e.key)!;
    const other = terms.get(term);
    if (other !== undefined && other !== holder) problems.push(`${e.key}: term ${term} held by ${other} and by ${holder} (revision ${e.modRevision})`);
    else terms.set(term, holder);
  }
  const described = [...holders].map(([key, terms]) => `${key.split('/').pop()} ${terms.size}`).join(', ');
  return outcome(`one holder per term (${described.length === 0 ? 'no lease taken' : `terms seen: ${described}`})`, problems, 'terms with two leaders');
}
