/**
 * defaults: fills the fields Kubernetes defaults when a client leaves them out (its
 * SetDefaults_* functions for the served kinds), so that stored objects read back as they do from
 * a real apiserver: restartPolicy, imagePullPolicy, protocols, the deployment strategy and so on.
 * Defaults never overwrite a value the client gave; null counts as not given.
 */
import type { KubeObject, ResourceInfo } from './types.js';

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** unset says a field is absent (undefined or null). */
function unset(o: Obj, key: string): boolean {
  return o[key] === undefined || o[key] === null;
}

function setDefault(o: Obj, key: string, value: unknown): void {
  if (unset(o, key)) o[key] = value;
}

/** child returns o[key] as an object, creating it when `create` and it is unset; undefined when not an object. */
function child(o: Obj, key: string, create = false): Obj | undefined {
  if (create && unset(o, key)) o[key] = {};
  const v = o[key];
  return isObj(v) ? v : undefined;
}

/** eachObj runs fn on each object element of the list o[key]. */
function eachObj(o: Obj | undefined, key: string, fn: (item: Obj) => void): void {
  const list = o?.[key];
  if (!Array.isArray(list)) return;
  for (const item of list) if (isObj(item)) fn(item);
}

/** pullPolicyOf is Always for an image tagged :latest or untagged (and not by digest), else IfNotPresent. */
export function pullPolicyOf(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  if (colon < 0) return 'Always';
  return lastPart.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: Obj | undefined): void {
  if (probe === undefined) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  const httpGet = child(probe, 'httpGet');
  if (httpGet !== undefined) setDefault(httpGet, 'scheme', 'HTTP');
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  if (typeof c['image'] === 'string') setDefault(c, 'imagePullPolicy', pullPolicyOf(c['image']));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  // NB: Go serialises the (non-pointer) resources struct even when empty; so do we, for identical reads.
  setDefault(c, 'resources', {});
  eachObj(c, 'ports', (p) => {
    setDefault(p, 'protocol', 'TCP');
    // On the host's network a container's port is the host's port.
    if (hostNetwork && !unset(p, 'containerPort')) setDefault(p, 'hostPort', p['containerPort']);
  });
  defaultProbe(child(c, 'livenessProbe'));
  defaultProbe(child(c, 'readinessProbe'));
  defaultProbe(child(c, 'startupProbe'));
  eachObj(c, 'env', (e) => {
    const fieldRef = child(child(e, 'valueFrom') ?? {}, 'fieldRef');
    if (fieldRef !== undefined) setDefault(fieldRef, 'apiVersion', 'v1');
  });
  // Limits without requests: the requests are the limits (SetDefaults_Pod).
  const resources = child(c, 'resources');
  const limits = child(resources ?? {}, 'limits');
  if (resources !== undefined && limits !== undefined) {
    const requests = child(resources, 'requests', true) ?? {};
    for (const [name, q] of Object.entries(limits)) setDefault(requests, name, q);
  }
}

const VOLUME_SOURCES_WITH_MODE = ['secret', 'configMap', 'downwardAPI', 'projected'] as const;

function defaultVolume(v: Obj): void {
  const keys = Object.keys(v).filter((k) => k !== 'name' && !unset(v, k));
  if (keys.length === 0) v['emptyDir'] = {};
  for (const source of VOLUME_SOURCES_WITH_MODE) {
    const s = child(v, source);
    if (s !== undefined) setDefault(s, 'defaultMode', 420);
  }
}

/** defaultPodSpec fills a pod spec's defaults in place. */
function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'enableServiceLinks', true);
  const hostNetwork = spec['hostNetwork'] === true;
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) eachObj(spec, key, (c) => defaultContainer(c, hostNetwork));
  eachObj(spec, 'volumes', defaultVolume);
}

function defaultTemplate(spec: Obj | undefined): void {
  const podSpec = child(child(spec ?? {}, 'template') ?? {}, 'spec');
  if (podSpec !== undefined) defaultPodSpec(podSpec);
}

function defaultService(obj: Obj): void {
  const spec = child(obj, 'spec', true);
  if (spec === undefined) return;
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec['sessionAffinity'] === 'ClientIP') {
    const clientIP = child(child(spec, 'sessionAffinityConfig', true) ?? {}, 'clientIP', true);
    if (clientIP !== undefined) setDefault(clientIP, 'timeoutSeconds', 10800);
  }
  eachObj(spec, 'ports', (p) => {
    setDefault(p, 'protocol', 'TCP');
    if (!unset(p, 'port')) setDefault(p, 'targetPort', p['port']);
  });
  const type = spec['type'];
  if (type === 'ExternalName') return;
  setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  if (type === 'NodePort' || type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
  // A headless service without a selector takes every family the cluster has (here only IPv4).
  const headlessWithoutSelector = spec['clusterIP'] === 'None' && unset(spec, 'selector');
  setDefault(spec, 'ipFamilyPolicy', headlessWithoutSelector ? 'RequireDualStack' : 'SingleStack');
  setDefault(spec, 'ipFamilies', ['IPv4']);
}

function defaultDeployment(obj: Obj): void {
  const spec = child(obj, 'spec', true);
  if (spec === undefined) return;
  setDefault(spec, 'replicas', 1);
  const strategy = child(spec, 'strategy', true);
  if (strategy !== undefined) {
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const rolling = child(strategy, 'rollingUpdate', true);
      if (rolling !== undefined) {
        setDefault(rolling, 'maxUnavailable', '25%');
        setDefault(rolling, 'maxSurge', '25%');
      }
    }
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultTemplate(spec);
}

function defaultReplicaSet(obj: Obj): void {
  const spec = child(obj, 'spec', true);
  if (spec === undefined) return;
  setDefault(spec, 'replicas', 1);
  defaultTemplate(spec);
}

function defaultNamespace(obj: Obj): void {
  const spec = child(obj, 'spec', true);
  if (spec !== undefined) setDefault(spec, 'finalizers', ['kubernetes']);
  const status = child(obj, 'status', true);
  if (status !== undefined) setDefault(status, 'phase', 'Active');
  // Every namespace carries its own name as a label, so that selectors can pick namespaces by name.
  const meta = child(obj, 'metadata');
  if (meta !== undefined && typeof meta['name'] === 'string') {
    const labels = child(meta, 'labels', true);
    if (labels !== undefined) setDefault(labels, 'kubernetes.io/metadata.name', meta['name']);
  }
}

function defaultNode(obj: Obj): void {
  // A node that reports capacity but no allocatable can allocate all of it.
  const status = child(obj, 'status');
  const capacity = child(status ?? {}, 'capacity');
  if (status !== undefined && capacity !== undefined) setDefault(status, 'allocatable', { ...capacity });
}

function defaultSubjects(obj: Obj): void {
  eachObj(obj, 'subjects', (s) => {
    if (s['kind'] === 'ServiceAccount') setDefault(s, 'apiGroup', '');
    else if (s['kind'] === 'User' || s['kind'] === 'Group') setDefault(s, 'apiGroup', 'rbac.authorization.k8s.io');
  });
}

function defaultPortsProtocol(ports: Obj | undefined, key: string, withName: boolean): void {
  eachObj(ports, key, (p) => {
    setDefault(p, 'protocol', 'TCP');
    if (withName) setDefault(p, 'name', '');
  });
}

/**
 * applyDefaults returns a copy of `obj` with Kubernetes' defaults for its resource filled in
 * (pod specs, also inside deployment and replica set templates; services; deployments; replica
 * sets; namespaces; secrets; nodes; RBAC subjects; endpoint ports). It never mutates `obj`.
 */
export function applyDefaults(res: ResourceInfo, obj: KubeObject): KubeObject {
  const out = structuredClone(obj);
  const o: Obj = out;
  switch (`${res.group}/${res.kind}`) {
    case '/Pod': {
      const spec = child(o, 'spec');
      if (spec !== undefined) defaultPodSpec(spec);
      break;
    }
    case '/Service':
      defaultService(o);
      break;
    case '/Namespace':
      defaultNamespace(o);
      break;
    case '/Secret':
      setDefault(o, 'type', 'Opaque');
      break;
    case '/Node':
      defaultNode(o);
      break;
    case '/Endpoints':
      eachObj(o, 'subsets', (s) => defaultPortsProtocol(s, 'ports', false));
      break;
    case 'apps/Deployment':
      defaultDeployment(o);
      break;
    case 'apps/ReplicaSet':
      defaultReplicaSet(o);
      break;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      defaultSubjects(o);
      break;
    case 'discovery.k8s.io/EndpointSlice':
      defaultPortsProtocol(o, 'ports', true);
      break;
    default:
      break;
  }
  return out;
}
