/**
 * deletes: delete and deletecollection with Kubernetes' semantics — preconditions, graceful
 * deletion of pods running on a node (deletionTimestamp and a grace period; the node agent
 * finishes the delete), finalizers (the object stays, marked, until the last one is removed),
 * the propagation policy recorded as the garbage collector's finalizers (orphan,
 * foregroundDeletion), and namespaces that turn Terminating until emptied.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type { ApiError, DeleteOptions, Deleted, KubeList, ListOptions, RequestContext } from '../registry-api.js';
import { authorize, fromPort, keyOf, revisionOf, type RegistryCore } from './core.js';
import { conflict, isLostRace, notFound, STALE_OBJECT } from './errors.js';
import { clone, isObject, rfc3339 } from './meta.js';
import { listObjects } from './reads.js';
import { releaseRemoved } from './services.js';

const MAX_RETRIES = 8;

function gracePeriodOf(res: ResourceInfo, obj: KubeObject, opts: DeleteOptions): number {
  if (res.group !== '' || res.plural !== 'pods') return 0;
  const spec = isObject(obj['spec']) ? obj['spec'] : {};
  const status = isObject(obj['status']) ? obj['status'] : {};
  // A pod no node runs (unscheduled, or finished) has nothing to stop: it goes at once.
  if (typeof spec['nodeName'] !== 'string' || spec['nodeName'] === '') return 0;
  if (status['phase'] === 'Succeeded' || status['phase'] === 'Failed') return 0;
  const asked = opts.gracePeriodSeconds ?? (typeof spec['terminationGracePeriodSeconds'] === 'number' ? spec['terminationGracePeriodSeconds'] : 30);
  return Math.max(0, asked);
}

function propagationFinalizer(opts: DeleteOptions): string | null {
  switch (opts.propagationPolicy) {
    case 'Orphan':
      return 'orphan';
    case 'Foreground':
      return 'foregroundDeletion';
    case 'Background':
    case undefined:
      return null;
    default: {
      const never: never = opts.propagationPolicy;
      return never;
    }
  }
}

function checkPreconditions(res: ResourceInfo, obj: KubeObject, opts: DeleteOptions): Result<void, ApiError> {
  const p = opts.preconditions;
  const name = obj.metadata.name ?? '';
  if (p?.uid !== undefined && p.uid !== obj.metadata.uid) {
    return err(conflict(res, name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${obj.metadata.uid ?? ''}`));
  }
  if (p?.resourceVersion !== undefined && p.resourceVersion !== obj.metadata.resourceVersion) {
    return err(conflict(res, name, `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in meta: ${obj.metadata.resourceVersion ?? ''}`));
  }
  return ok(undefined);
}

/** deleteObject deletes one object, gracefully where its kind and state call for it. */
export async function deleteObject(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<Result<Deleted, ApiError>> {
  const key = keyOf(res, namespace, name);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const got = await core.storage.store.get(key);
    if (!got.ok) return err(fromPort(res, name, got.error));
    const cur = got.value;
    if (cur === null) return err(notFound(res, name));
    const a = authorize(core, ctx, res, 'delete', { namespace, name, existing: cur });
    if (!a.ok) return a;
    const pre = checkPreconditions(res, cur, opts);
    if (!pre.ok) return pre;
    const r = await deleteOnce(core, res, key, cur, opts);
    if (r.ok || !isLostRace(r.error) || opts.preconditions?.resourceVersion !== undefined) return r;
  }
  return err(conflict(res, name, STALE_OBJECT));
}

async function deleteOnce(core: RegistryCore, res: ResourceInfo, key: string, cur: KubeObject, opts: DeleteOptions): Promise<Result<Deleted, ApiError>> {
  const name = cur.metadata.name ?? '';
  const next = clone(cur);
  const m = next.metadata;
  const now = core.clock.now();
  const extra = propagationFinalizer(opts);
  const finalizers = new Set(m.finalizers ?? []);
  if (extra !== null) finalizers.add(extra);
  const isNamespace = res.group === '' && res.plural === 'namespaces';
  const grace = gracePeriodOf(res, cur, opts);
  const namespaceFinalizers = isNamespace && isObject(next['spec']) && Array.isArray(next['spec']['finalizers']) ? next['spec']['finalizers'].length : 0;
  if (finalizers.size === 0 && grace === 0 && namespaceFinalizers === 0) {
    if (opts.dryRun === true) return ok({ object: cur, gone: true });
    const d = await core.storage.store.delete(key, revisionOf(cur));
    if (!d.ok) return err(fromPort(res, name, d.error));
    await releaseRemoved(core, res, cur);
    return ok({ object: d.value, gone: true });
  }
  // The object stays, marked for deletion, until its finalizers are removed or its node stops it.
  if (m.deletionTimestamp === undefined) {
    m.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
    m.deletionGracePeriodSeconds = grace;
  } else if (grace < (m.deletionGracePeriodSeconds ?? 0)) {
    // A shorter grace period (e.g. --grace-period=0 --force after a graceful delete) wins.
    m.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
    m.deletionGracePeriodSeconds = grace;
  }
  if (finalizers.size > 0) m.finalizers = [...finalizers];
  if (isNamespace) next['status'] = { ...(isObject(next['status']) ? next['status'] : {}), phase: 'Terminating' };
  if (opts.dryRun === true) return ok({ object: next, gone: false });
  const u = await core.storage.store.update(key, next, revisionOf(cur));
  if (!u.ok) return err(fromPort(res, name, u.error));
  return ok({ object: u.value, gone: false });
}

/** deleteCollection deletes every object a list selects, one by one; returns what it deleted. */
export async function deleteCollection(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, o: ListOptions, opts: DeleteOptions): Promise<Result<KubeList, ApiError>> {
  const a = authorize(core, ctx, res, 'deletecollection', { namespace: o.namespace });
  if (!a.ok) return a;
  const listed = await listObjects(core, ctx, res, { ...o, limit: 0 });
  if (!listed.ok) return listed;
  const deleted: KubeObject[] = [];
  for (const item of listed.value.items) {
    const r = await deleteObject(core, ctx, res, item.metadata.namespace, item.metadata.name ?? '', opts);
    if (r.ok) deleted.push(r.value.object);
    else if (r.error.reason !== 'NotFound') return r;
  }
  return ok({ ...listed.value, items: deleted });
}
