/**
 * scale: the scale subresource of Deployments and ReplicaSets, an autoscaling/v1 Scale whose
 * spec.replicas reads and writes the owner's spec.replicas (what `kubectl scale` uses).
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type { ApiError } from '../registry-api.js';
import { badRequest } from './errors.js';
import { isObject } from './meta.js';

function selectorString(sel: unknown): string {
  if (!isObject(sel)) return '';
  const parts: string[] = [];
  if (isObject(sel['matchLabels'])) for (const [k, v] of Object.entries(sel['matchLabels'])) parts.push(`${k}=${String(v)}`);
  if (Array.isArray(sel['matchExpressions'])) {
    for (const e of sel['matchExpressions']) {
      if (!isObject(e)) continue;
      const key = String(e['key']);
      const values = Array.isArray(e['values']) ? e['values'].map(String) : [];
      switch (e['operator']) {
        case 'In':
          parts.push(`${key} in (${values.join(',')})`);
          break;
        case 'NotIn':
          parts.push(`${key} notin (${values.join(',')})`);
          break;
        case 'Exists':
          parts.push(key);
          break;
        case 'DoesNotExist':
          parts.push(`!${key}`);
          break;
        default:
          break;
      }
    }
  }
  return parts.join(',');
}

/** scaleOf renders an object's Scale. */
export function scaleOf(res: ResourceInfo, obj: KubeObject): KubeObject {
  const spec = isObject(obj['spec']) ? obj['spec'] : {};
  const status = isObject(obj['status']) ? obj['status'] : {};
  const m = obj.metadata;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: m.name ?? '',
      ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m.uid === undefined ? {} : { uid: m.uid }),
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      ...(m.creationTimestamp === undefined ? {} : { creationTimestamp: m.creationTimestamp }),
    },
    spec: { replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : res.plural === 'deployments' || res.plural === 'replicasets' ? 1 : 0 },
    status: { replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0, selector: selectorString(spec['selector']) },
  };
}

/** replicasFromScale reads spec.replicas of a Scale body. */
export function replicasFromScale(body: unknown): Result<{ readonly replicas: number; readonly resourceVersion?: string }, ApiError> {
  if (!isObject(body)) return err(badRequest('The body must be an autoscaling/v1 Scale object'));
  if (body['kind'] !== undefined && body['kind'] !== 'Scale') return err(badRequest(`The body is a ${JSON.stringify(body['kind'])}; the scale subresource takes a Scale`));
  const spec = body['spec'];
  const replicas = isObject(spec) ? spec['replicas'] : undefined;
  if (replicas === undefined) return ok({ replicas: 0 });
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    return err({ code: 422, reason: 'Invalid', message: `Scale.autoscaling "${isObject(body['metadata']) ? String(body['metadata']['name']) : ''}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, details: { kind: 'Scale', group: 'autoscaling', causes: [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: 'must be greater than or equal to 0' }] } });
  }
  const rv = isObject(body['metadata']) ? body['metadata']['resourceVersion'] : undefined;
  return ok({ replicas, ...(typeof rv === 'string' && rv !== '' ? { resourceVersion: rv } : {}) });
}
