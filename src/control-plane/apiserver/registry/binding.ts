/**
 * binding: POST pods/<name>/binding, how the scheduler assigns a pod to a node. The pod's
 * spec.nodeName is set once, with a compare-and-swap, and its PodScheduled condition turns
 * True; binding a pod that is already bound, or being deleted, is a conflict.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type { ApiError, RequestContext, WriteOptions, Written } from '../registry-api.js';
import { authorize, fromPort, keyOf, revisionOf, type RegistryCore } from './core.js';
import { badRequest, conflict, invalid, notFound, STALE_OBJECT } from './errors.js';
import { clone, isObject, rfc3339 } from './meta.js';

const MAX_RETRIES = 8;

function targetOf(res: ResourceInfo, podName: string, body: unknown): Result<string, ApiError> {
  if (!isObject(body)) return err(badRequest('The body must be a v1 Binding object'));
  if (body['kind'] !== undefined && body['kind'] !== 'Binding') return err(badRequest(`The body is a ${JSON.stringify(body['kind'])}; pods/binding takes a Binding`));
  const target = body['target'];
  const node = isObject(target) ? target['name'] : undefined;
  if (typeof node !== 'string' || node === '') {
    return err(invalid({ ...res, kind: 'Binding' }, podName, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value: the node to bind the pod to' }]));
  }
  return ok(node);
}

/** bindPod sets a pod's node. */
export async function bindPod(core: RegistryCore, ctx: RequestContext, pods: ResourceInfo, namespace: string | undefined, podName: string, body: unknown, opts: WriteOptions): Promise<Result<Written, ApiError>> {
  const target = targetOf(pods, podName, body);
  if (!target.ok) return target;
  const a = authorize(core, ctx, pods, 'create', { namespace, name: podName, subresource: 'binding' });
  if (!a.ok) return a;
  const key = keyOf(pods, namespace, podName);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const got = await core.storage.store.get(key);
    if (!got.ok) return err(fromPort(pods, podName, got.error));
    const pod = got.value;
    if (pod === null) return err(notFound(pods, podName));
    const spec = isObject(pod['spec']) ? pod['spec'] : {};
    const bound = spec['nodeName'];
    if (typeof bound === 'string' && bound !== '') return err(conflict(pods, podName, `pod ${podName} is already assigned to node "${bound}"`));
    if (pod.metadata.deletionTimestamp !== undefined) return err(conflict(pods, podName, `pod ${podName} is being deleted, cannot be assigned to a host`));
    const next: KubeObject = clone(pod);
    next['spec'] = { ...spec, nodeName: target.value };
    const status = isObject(next['status']) ? next['status'] : {};
    const conditions = (Array.isArray(status['conditions']) ? status['conditions'] : []).filter((c) => !isObject(c) || c['type'] !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(core.clock.now()) });
    next['status'] = { ...status, conditions };
    if (opts.dryRun === true) return ok({ object: next, warnings: [], created: true });
    const u = await core.storage.store.update(key, next, revisionOf(pod));
    if (u.ok) return ok({ object: u.value, warnings: [], created: true });
    if (u.error.kind !== 'conflict') return err(fromPort(pods, podName, u.error));
  }
  return err(conflict(pods, podName, STALE_OBJECT));
}
