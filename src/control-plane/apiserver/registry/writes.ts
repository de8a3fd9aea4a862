/**
 * writes: create, update and patch, on the main resource and on the status and scale
 * subresources. Every write ends in one compare-and-swap transaction on the etcd layer (create
 * if absent, or replace at the revision that was read); an update without a resourceVersion,
 * and every patch, retries on a lost race with the newest state, as Kubernetes does.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { apiVersionOf, err, ok } from '../../api/types.js';
import type { ApiError, PatchType, RequestContext, WriteOptions, Written } from '../registry-api.js';
import { authorize, fromPort, keyOf, requireLiveNamespace, revisionOf, type RegistryCore } from './core.js';
import { badRequest, conflict, invalid, isLostRace, notFound, STALE_OBJECT } from './errors.js';
import { carrySystemFields, clone, deepEqual, isObject, nameSuffix, newUid, rfc3339 } from './meta.js';
import { prepareBody } from './prepare.js';
import { replicasFromScale, scaleOf } from './scale.js';
import { allocateClusterIP, carryClusterIP, releaseRemoved } from './services.js';
import { prepareForCreate, prepareForUpdate } from './strategy.js';

const MAX_RETRIES = 8;

// Kinds whose update creates the object when it does not exist (AllowCreateOnUpdate).
const CREATE_ON_UPDATE = new Set(['endpoints', 'leases', 'events', 'endpointslices']);

/** createObject creates an object from a request body. */
export async function createObject(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions, keepManagedFields = false): Promise<Result<Written, ApiError>> {
  const p = prepareBody(core, res, namespace, body, opts, keepManagedFields);
  if (!p.ok) return p;
  const obj = p.value.obj;
  const m = obj.metadata;
  if ((m.name === undefined || m.name === '') && m.generateName !== undefined && m.generateName !== '') m.name = `${m.generateName}${nameSuffix()}`;
  if (m.name === undefined || m.name === '') return err(invalid(res, '', [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]));
  const a = authorize(core, ctx, res, 'create', { namespace: m.namespace, name: m.name, incoming: obj });
  if (!a.ok) return a;
  const live = await requireLiveNamespace(core, res, m.namespace);
  if (!live.ok) return live;
  m.uid = newUid();
  m.creationTimestamp = rfc3339(core.clock.now());
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  prepareForCreate(res, obj);
  const problems = core.schema.validate(res, obj);
  if (problems.length > 0) return err(invalid(res, m.name, problems));
  if (opts.dryRun === true) return ok({ object: obj, warnings: p.value.warnings, created: true });
  let allocated: string | null = null;
  if (res.group === '' && res.plural === 'services') {
    const ip = await allocateClusterIP(core, res, obj);
    if (!ip.ok) return ip;
    allocated = ip.value;
  }
  const r = await core.storage.store.create(keyOf(res, m.namespace, m.name), obj);
  if (!r.ok) {
    // Best effort: an allocation left behind (the store unavailable) is freed by the repair.
    if (allocated !== null) await core.serviceIPs.release(allocated, m.uid);
    return err(fromPort(res, m.name, r.error));
  }
  if (res.group === '' && res.plural === 'namespaces') await ensureDefaultServiceAccount(core, m.name);
  return ok({ object: r.value, warnings: p.value.warnings, created: true });
}

/** ensureDefaultServiceAccount creates the `default` ServiceAccount of a namespace. */
export async function ensureDefaultServiceAccount(core: RegistryCore, namespace: string): Promise<void> {
  const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace, uid: newUid(), creationTimestamp: rfc3339(core.clock.now()) } };
  // An existing one is fine; anything else is retried by the next start-up's bootstrap.
  await core.storage.store.create(keyOf(core.serviceAccounts, namespace, 'default'), sa);
}

/**
 * commitUpdate writes `next` over `current` at current's revision: system metadata carried,
 * the kind's strategy applied, validated, and a no-op left unwritten.
 */
async function commitUpdate(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, next: KubeObject, current: KubeObject, opts: WriteOptions, subresource: 'status' | 'scale' | undefined, warnings: readonly string[], verb: 'update' | 'patch' = 'update'): Promise<Result<Written, ApiError>> {
  const name = current.metadata.name ?? '';
  const a = authorize(core, ctx, res, verb, { namespace: current.metadata.namespace, name, subresource, existing: current, incoming: next });
  if (!a.ok) return a;
  carrySystemFields(next, current);
  if (next.metadata.managedFields === undefined && current.metadata.managedFields !== undefined) next.metadata.managedFields = current.metadata.managedFields;
  prepareForUpdate(res, next, current, subresource === 'scale' ? undefined : subresource);
  if (res.group === '' && res.plural === 'services') carryClusterIP(next, current);
  const problems = core.schema.validate(res, next, current);
  if (problems.length > 0) return err(invalid(res, name, problems));
  const rv = revisionOf(current);
  next.metadata.resourceVersion = current.metadata.resourceVersion ?? '';
  if (deepEqual(next, current)) return ok({ object: current, warnings, created: false });
  if (opts.dryRun === true) return ok({ object: next, warnings, created: false });
  const key = keyOf(res, current.metadata.namespace, name);
  const finalizers = next.metadata.finalizers ?? [];
  if (next.metadata.deletionTimestamp !== undefined && finalizers.length === 0 && !awaitsGrace(res, next) && !namespaceHeld(res, next)) {
    // The last finalizer is gone from an object being deleted: the delete completes now.
    const d = await core.storage.store.delete(key, rv);
    if (!d.ok) return err(fromPort(res, name, d.error));
    await releaseRemoved(core, res, current);
    return ok({ object: d.value, warnings, created: false });
  }
  delete next.metadata.resourceVersion;
  const r = await core.storage.store.update(key, next, rv);
  if (!r.ok) return err(fromPort(res, name, r.error));
  return ok({ object: r.value, warnings, created: false });
}

/** namespaceHeld tells whether a namespace still waits for its content to go (spec.finalizers). */
function namespaceHeld(res: ResourceInfo, obj: KubeObject): boolean {
  const spec = obj['spec'];
  return res.group === '' && res.plural === 'namespaces' && isObject(spec) && Array.isArray(spec['finalizers']) && spec['finalizers'].length > 0;
}

/** awaitsGrace tells whether a pod being deleted still waits for its node to stop it. */
export function awaitsGrace(res: ResourceInfo, obj: KubeObject): boolean {
  return res.group === '' && res.plural === 'pods' && (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0;
}

async function readCurrent(core: RegistryCore, res: ResourceInfo, namespace: string | undefined, name: string): Promise<Result<KubeObject | null, ApiError>> {
  const r = await core.storage.store.get(keyOf(res, namespace, name));
  return r.ok ? r : err(fromPort(res, name, r.error));
}

/** updateObject replaces an object (or its status, or its scale) with a request body. */
export async function updateObject(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
  if (subresource === 'scale') {
    const s = replicasFromScale(body);
    if (!s.ok) return s;
    return scaleTo(core, ctx, res, namespace, name, s.value.replicas, s.value.resourceVersion, opts);
  }
  const p = prepareBody(core, res, namespace, body, opts);
  if (!p.ok) return p;
  const next = p.value.obj;
  if (next.metadata.name !== undefined && next.metadata.name !== name) {
    return err(badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`));
  }
  next.metadata.name = name;
  const wanted = next.metadata.resourceVersion;
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const cur = await readCurrent(core, res, namespace, name);
    if (!cur.ok) return cur;
    if (cur.value === null) {
      if (CREATE_ON_UPDATE.has(res.plural) && subresource === undefined) return createObject(core, ctx, res, namespace, body, opts);
      return err(notFound(res, name));
    }
    if (wanted !== undefined && wanted !== '' && wanted !== cur.value.metadata.resourceVersion) return err(conflict(res, name, STALE_OBJECT));
    const r = await commitUpdate(core, ctx, res, clone(next), cur.value, opts, subresource, p.value.warnings);
    if (r.ok || !isLostRace(r.error) || (wanted !== undefined && wanted !== '')) return r;
  }
  return err(conflict(res, name, STALE_OBJECT));
}

async function scaleTo(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, replicas: number, wantedRv: string | undefined, opts: WriteOptions, verb: 'update' | 'patch' = 'update'): Promise<Result<Written, ApiError>> {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const cur = await readCurrent(core, res, namespace, name);
    if (!cur.ok) return cur;
    if (cur.value === null) return err(notFound(res, name));
    if (wantedRv !== undefined && wantedRv !== cur.value.metadata.resourceVersion) return err(conflict(res, name, STALE_OBJECT));
    const next = clone(cur.value);
    next['spec'] = { ...(isObject(next['spec']) ? next['spec'] : {}), replicas };
    const r = await commitUpdate(core, ctx, res, next, cur.value, opts, 'scale', [], verb);
    if (r.ok) return ok({ ...r.value, object: scaleOf(res, r.value.object) });
    if (!isLostRace(r.error) || wantedRv !== undefined) return r;
  }
  return err(conflict(res, name, STALE_OBJECT));
}

/** patchObject applies a JSON, merge or strategic merge patch to an object or subresource. */
export async function patchObject(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
  if (type === 'apply') return applyObject(core, ctx, res, namespace, name, patch, opts, subresource);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const cur = await readCurrent(core, res, namespace, name);
    if (!cur.ok) return cur;
    if (cur.value === null) return err(notFound(res, name));
    const a = authorize(core, ctx, res, 'patch', { namespace, name, subresource, existing: cur.value });
    if (!a.ok) return a;
    if (subresource === 'scale') {
      const patched = core.schema.applyPatch(type, scaleOf(res, cur.value), patch, 'io.k8s.api.autoscaling.v1.Scale');
      if (!patched.ok) return err(patchFailure(res, name, patched.error));
      const s = replicasFromScale(patched.value);
      if (!s.ok) return s;
      return scaleTo(core, ctx, res, namespace, name, s.value.replicas, undefined, opts, 'patch');
    }
    const patched = core.schema.applyPatch(type, cur.value, patch, core.schema.typeNameOf(res));
    if (!patched.ok) return err(patchFailure(res, name, patched.error));
    const p = prepareBody(core, res, namespace, patched.value, opts);
    if (!p.ok) return p;
    const next = p.value.obj;
    if (next.metadata.name !== name) return err(badRequest(`A patch may not change metadata.name (from ${name} to ${String(next.metadata.name)})`));
    const pinned = next.metadata.resourceVersion !== cur.value.metadata.resourceVersion;
    if (pinned && next.metadata.resourceVersion !== undefined && next.metadata.resourceVersion !== '') return err(conflict(res, name, STALE_OBJECT));
    const r = await commitUpdate(core, ctx, res, next, cur.value, opts, subresource, p.value.warnings, 'patch');
    if (r.ok || !isLostRace(r.error)) return r;
  }
  return err(conflict(res, name, STALE_OBJECT));
}

/**
 * applyObject is server-side apply: the caller's configuration merged into the live object (or
 * a new one) with field ownership in managedFields; a field another manager owns with another
 * value is a 409 unless forced.
 */
async function applyObject(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, config: unknown, opts: WriteOptions, subresource?: 'status' | 'scale'): Promise<Result<Written, ApiError>> {
  if (subresource !== undefined) return err(badRequest(`Server-side apply to the ${subresource} subresource is not supported; apply to the object itself`));
  if (opts.fieldManager === undefined || opts.fieldManager === '') return err(badRequest('fieldManager is required for apply requests'));
  const typeName = core.schema.typeNameOf(res);
  const applyOpts = { manager: opts.fieldManager, force: opts.force === true, apiVersion: apiVersionOf(res), time: rfc3339(core.clock.now()) };
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const cur = await readCurrent(core, res, namespace, name);
    if (!cur.ok) return cur;
    const applied = core.schema.serverSideApply(cur.value ?? undefined, config, typeName, applyOpts);
    if (!applied.ok) {
      if (applied.error.code === 409) return err(conflict(res, name, applied.error.message));
      return err(patchFailure(res, name, { message: applied.error.message, code: applied.error.code === 400 ? 400 : 422 }));
    }
    if (cur.value === null) {
      const c = await createObject(core, ctx, res, namespace, { ...applied.value, metadata: { ...applied.value.metadata, name } }, opts, true);
      if (c.ok || c.error.reason !== 'AlreadyExists') return c;
      continue;
    }
    const a = authorize(core, ctx, res, 'patch', { namespace, name, existing: cur.value });
    if (!a.ok) return a;
    const p = prepareBody(core, res, namespace, applied.value, opts, true);
    if (!p.ok) return p;
    const r = await commitUpdate(core, ctx, res, p.value.obj, cur.value, opts, undefined, p.value.warnings, 'patch');
    if (r.ok || !isLostRace(r.error) || r.error.message.includes('conflict with')) return r;
  }
  return err(conflict(res, name, STALE_OBJECT));
}

function patchFailure(res: ResourceInfo, name: string, e: { readonly message: string; readonly code: 400 | 422 }): ApiError {
  if (e.code === 400) return badRequest(e.message);
  return {
    code: 422,
    reason: 'Invalid',
    message: `${res.kind} "${name}" is invalid: the patch does not apply: ${e.message}`,
    // A cause makes kubectl print why, not only that the object "is invalid".
    details: { name, group: res.group, kind: res.kind, causes: [{ type: 'FieldValueInvalid', field: 'patch', message: `the patch does not apply: ${e.message}` }] },
  };
}
