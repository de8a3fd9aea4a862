/**
 * strategy: what differs between kinds on the write path, as Kubernetes' REST strategies —
 * whether a status subresource splits spec from status, whether spec changes bump
 * metadata.generation, the status a new object starts with, and a pod's QoS class.
 */
import type { KubeObject, ResourceInfo } from '../../api/types.js';
import { deepEqual, isObject } from './meta.js';

/** hasStatusSubresource tells whether main updates keep the stored status (and vice versa). */
export function hasStatusSubresource(res: ResourceInfo): boolean {
  return res.subresources.includes('status');
}

/** tracksGeneration tells whether spec changes bump metadata.generation for this kind. */
export function tracksGeneration(res: ResourceInfo): boolean {
  return res.group === 'apps' || res.plural === 'pods' || res.plural === 'services' || res.plural === 'namespaces' || res.plural === 'nodes';
}

type Json = Record<string, unknown>;

function quantityTotal(containers: unknown, which: 'requests' | 'limits'): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(containers)) return names;
  for (const c of containers) {
    if (!isObject(c) || !isObject(c['resources'])) continue;
    const r = c['resources'][which];
    if (isObject(r)) for (const k of Object.keys(r)) if (k === 'cpu' || k === 'memory') names.add(k);
  }
  return names;
}

/**
 * qosClass is the pod's quality-of-service class: Guaranteed when every container limits and
 * requests cpu and memory equally, BestEffort when none sets any, Burstable otherwise.
 */
export function qosClass(spec: Json): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
  const containers = [...list(spec['containers']), ...list(spec['initContainers'])];
  if (quantityTotal(containers, 'requests').size === 0 && quantityTotal(containers, 'limits').size === 0) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    if (!isObject(c) || !isObject(c['resources'])) return false;
    const { requests, limits } = c['resources'];
    if (!isObject(limits)) return false;
    return ['cpu', 'memory'].every((k) => limits[k] !== undefined && (!isObject(requests) || requests[k] === undefined || requests[k] === limits[k]));
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** initialStatus is the status a new object of this kind starts with (clients cannot set it). */
export function initialStatus(res: ResourceInfo, obj: KubeObject): Json | undefined {
  switch (res.plural) {
    case 'pods': {
      const spec = isObject(obj['spec']) ? obj['spec'] : {};
      return { phase: 'Pending', qosClass: qosClass(spec) };
    }
    case 'namespaces':
      return { phase: 'Active' };
    case 'services':
      return { loadBalancer: {} };
    case 'deployments':
    case 'replicasets':
      return {};
    default:
      // Nodes register with their status; kinds without a status subresource keep what they carry.
      return undefined;
  }
}

/** prepareForCreate fixes the status a client sent and starts generation at 1. */
export function prepareForCreate(res: ResourceInfo, obj: KubeObject): void {
  if (hasStatusSubresource(res) && res.plural !== 'nodes') {
    const st = initialStatus(res, obj);
    if (st === undefined) delete obj['status'];
    else obj['status'] = st;
  }
  if (tracksGeneration(res)) obj.metadata.generation = 1;
}

function specPart(obj: KubeObject): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') out[k] = v;
  return out;
}

/**
 * prepareForUpdate keeps the stored status on a main-resource update (and everything but the
 * status on a status update), and bumps the generation when the spec changed.
 */
export function prepareForUpdate(res: ResourceInfo, next: KubeObject, current: KubeObject, subresource: 'status' | undefined): void {
  if (subresource === 'status') {
    const status = next['status'];
    const meta = next.metadata;
    for (const k of Object.keys(next)) delete next[k];
    Object.assign(next, structuredClone(current));
    // A status update may change labels and annotations? Kubernetes keeps the stored metadata
    // except for what the status strategy allows; we keep it all but the resourceVersion.
    next.metadata = { ...next.metadata, ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }) };
    if (status === undefined) delete next['status'];
    else next['status'] = status;
    return;
  }
  if (hasStatusSubresource(res)) {
    if (current['status'] === undefined) delete next['status'];
    else next['status'] = current['status'];
  }
  if (tracksGeneration(res)) {
    const gen = current.metadata.generation ?? 1;
    next.metadata.generation = deepEqual(specPart(next), specPart(current)) ? gen : gen + 1;
  }
  if (res.plural === 'pods' && isObject(next['status']) && isObject(next['spec'])) {
    next['status'] = { ...next['status'], qosClass: isObject(current['status']) && typeof current['status']['qosClass'] === 'string' ? current['status']['qosClass'] : qosClass(next['spec']) };
  }
}
