/**
 * services: the Service-specific parts of the write path — a ClusterIP taken from the loopback
 * service range on create (or the one the client asked for), kept across updates that leave it
 * empty, and released when the Service is removed (or its create fails).
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type { ApiError } from '../registry-api.js';
import type { RegistryCore } from './core.js';
import { fromPort } from './core.js';
import { invalid } from './errors.js';
import { isObject } from './meta.js';
import type { IPOwner } from './service-ips.js';
import type { PortError } from './storage-port.js';

/** allocateClusterIP gives a new Service its ClusterIP; null when it needs none. */
export async function allocateClusterIP(core: RegistryCore, res: ResourceInfo, obj: KubeObject): Promise<Result<string | null, ApiError>> {
  const spec = isObject(obj['spec']) ? obj['spec'] : {};
  obj['spec'] = spec;
  const name = obj.metadata.name ?? '';
  if (spec['type'] === 'ExternalName') return ok(null);
  const wanted = spec['clusterIP'];
  if (wanted === 'None') {
    spec['clusterIPs'] = ['None'];
    return ok(null);
  }
  const owner: IPOwner = { service: `${obj.metadata.namespace ?? ''}/${name}`, uid: obj.metadata.uid ?? '' };
  if (typeof wanted === 'string' && wanted !== '') {
    const r = await core.serviceIPs.reserve(wanted, owner);
    if (!r.ok) {
      if (r.error.kind === 'taken' || r.error.kind === 'outside') {
        return err(invalid(res, name, [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ${JSON.stringify([wanted])}: failed to allocate IP ${wanted}: ${r.error.message}` }]));
      }
      return err(fromPort(res, name, r.error as PortError));
    }
    spec['clusterIPs'] = [wanted];
    return ok(wanted);
  }
  const r = await core.serviceIPs.allocate(owner);
  if (!r.ok) {
    if (r.error.kind === 'full') return err({ code: 500, reason: 'InternalError', message: r.error.message });
    return err(fromPort(res, name, r.error));
  }
  spec['clusterIP'] = r.value;
  spec['clusterIPs'] = [r.value];
  return ok(r.value);
}

/** carryClusterIP keeps the stored ClusterIP when an update leaves it out (kubectl apply does). */
export function carryClusterIP(next: KubeObject, current: KubeObject): void {
  const cur = isObject(current['spec']) ? current['spec'] : {};
  const spec = isObject(next['spec']) ? next['spec'] : {};
  next['spec'] = spec;
  if ((spec['clusterIP'] === undefined || spec['clusterIP'] === '') && cur['clusterIP'] !== undefined) spec['clusterIP'] = cur['clusterIP'];
  if ((spec['clusterIPs'] === undefined || (Array.isArray(spec['clusterIPs']) && spec['clusterIPs'].length === 0)) && cur['clusterIPs'] !== undefined) spec['clusterIPs'] = cur['clusterIPs'];
}

/**
 * releaseRemoved frees the address of an object just removed from the store if it is a Service:
 * on a plain delete and when the last finalizer of one being deleted goes. Best effort: an
 * allocation left behind (the store unavailable) is freed by the repair.
 */
export async function releaseRemoved(core: RegistryCore, res: ResourceInfo, removed: KubeObject): Promise<void> {
  if (res.group !== '' || res.plural !== 'services') return;
  const ip = clusterIPOf(core, removed);
  if (ip !== null) await core.serviceIPs.release(ip, removed.metadata.uid ?? '');
}

/** clusterIPOf is a Service's allocated address, if it has one in the range. */
export function clusterIPOf(core: RegistryCore, obj: KubeObject): string | null {
  const spec = isObject(obj['spec']) ? obj['spec'] : {};
  const ip = spec['clusterIP'];
  return typeof ip === 'string' && core.serviceIPs.contains(ip) ? ip : null;
}
