/**
 * pod: validation of a PodSpec (for Pods and for the templates of Deployments and ReplicaSets)
 * and of a Pod update, with Kubernetes' field paths and messages: containers (names, images,
 * ports, resources, probes, volume mounts), volumes, restart and DNS policy, tolerations.
 */
import { compareQuantities, parseQuantity } from '../quantity.js';
import type { Quantity } from '../quantity.js';
import type { FieldError } from '../types.js';
import { child, duplicate, forbidden, index, invalid, key, notFound, notSupported, required } from './field-errors.js';
import { validateLabels } from './meta.js';
import { isConfigMapKey, isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from './names.js';
import {
  IP_MESSAGE,
  PORT_RANGE_MESSAGE,
  checkEnum,
  checkNonNegative,
  checkProtocol,
  deepEqual,
  isValidIP,
  isValidPortName,
  isValidPortNum,
  list,
  num,
  obj,
  str,
} from './util.js';
import type { JsonObject } from './util.js';

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TOLERATION_OPERATORS = ['Exists', 'Equal'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

/** PodSpecOptions narrows what a spec may hold where it appears (templates allow only some restart policies). */
export interface PodSpecOptions {
  /** restartPolicies overrides the allowed restart policies (Deployments: only 'Always'). */
  readonly restartPolicies?: readonly string[];
}

/** validatePodSpec checks a PodSpec found at `path` ('spec' or 'spec.template.spec'). */
export function validatePodSpec(specValue: unknown, path: string, opts: PodSpecOptions = {}): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(specValue);
  if (spec === undefined) return [required(path)];
  const volumes = validateVolumes(errs, spec['volumes'], child(path, 'volumes'));
  const containers = list(spec['containers']);
  if (containers.length === 0) errs.push(required(child(path, 'containers')));
  const names = new Set<string>();
  // As in Kubernetes, an init container is the duplicate when it shares a container's name.
  validateContainers(errs, containers, child(path, 'containers'), volumes, names, false);
  validateContainers(errs, spec['initContainers'], child(path, 'initContainers'), volumes, names, true);
  for (const [i, h] of list(spec['hostAliases']).entries()) {
    const ip = str(obj(h)?.['ip']) ?? '';
    if (!isValidIP(ip)) errs.push(invalid(child(index(child(path, 'hostAliases'), i), 'ip'), ip, IP_MESSAGE));
  }
  checkEnum(errs, child(path, 'restartPolicy'), spec['restartPolicy'], opts.restartPolicies ?? RESTART_POLICIES);
  checkEnum(errs, child(path, 'dnsPolicy'), spec['dnsPolicy'], DNS_POLICIES);
  checkNonNegative(errs, child(path, 'terminationGracePeriodSeconds'), spec['terminationGracePeriodSeconds']);
  const deadline = spec['activeDeadlineSeconds'];
  if (typeof deadline === 'number' && (deadline < 1 || deadline > 2147483647)) {
    errs.push(invalid(child(path, 'activeDeadlineSeconds'), deadline, 'must be between 1 and 2147483647, inclusive'));
  }
  errs.push(...validateLabels(spec['nodeSelector'], child(path, 'nodeSelector')));
  for (const [i, t] of list(spec['tolerations']).entries()) validateToleration(errs, t, index(child(path, 'tolerations'), i));
  const sa = str(spec['serviceAccountName']);
  if (sa !== undefined && sa !== '') for (const m of isDNS1123Subdomain(sa)) errs.push(invalid(child(path, 'serviceAccountName'), sa, m));
  return errs;
}

/** validateVolumes checks the volumes and returns their names, for the volume mounts. */
function validateVolumes(errs: FieldError[], value: unknown, path: string): Set<string> {
  const names = new Set<string>();
  for (const [i, v] of list(value).entries()) {
    const vp = index(path, i);
    const vol = obj(v) ?? {};
    const name = str(vol['name']) ?? '';
    if (name === '') errs.push(required(child(vp, 'name')));
    else {
      for (const m of isDNS1123Label(name)) errs.push(invalid(child(vp, 'name'), name, m));
      if (names.has(name)) errs.push(duplicate(child(vp, 'name'), name));
      names.add(name);
    }
    const sources = Object.keys(vol).filter((k) => k !== 'name' && vol[k] !== null && vol[k] !== undefined);
    if (sources.length === 0) errs.push(required(vp, 'must specify a volume type'));
    for (const extra of sources.slice(1)) errs.push(forbidden(child(vp, extra), 'may not specify more than 1 volume type'));
  }
  return names;
}

function validateContainers(errs: FieldError[], value: unknown, path: string, volumes: ReadonlySet<string>, names: Set<string>, init: boolean): void {
  for (const [i, c] of list(value).entries()) {
    const cp = index(path, i);
    const ctr = obj(c) ?? {};
    // Only init containers may carry a restart policy, and then only Always (a sidecar); only
    // sidecars among init containers may be probed.
    const sidecar = init && ctr['restartPolicy'] === 'Always';
    if (ctr['restartPolicy'] !== undefined) {
      if (!init) errs.push(forbidden(child(cp, 'restartPolicy'), 'may not be set for non-init containers'));
      else checkEnum(errs, child(cp, 'restartPolicy'), ctr['restartPolicy'], ['Always']);
    }
    if (init && !sidecar) {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (ctr[probe] !== undefined && ctr[probe] !== null) errs.push(forbidden(child(cp, probe), 'may not be set for init containers without restartPolicy=Always'));
      }
    }
    checkEnum(errs, child(cp, 'terminationMessagePolicy'), ctr['terminationMessagePolicy'], ['File', 'FallbackToLogsOnError']);
    const name = str(ctr['name']) ?? '';
    if (name === '') errs.push(required(child(cp, 'name')));
    else {
      for (const m of isDNS1123Label(name)) errs.push(invalid(child(cp, 'name'), name, m));
      if (names.has(name)) errs.push(duplicate(child(cp, 'name'), name));
      names.add(name);
    }
    if ((str(ctr['image']) ?? '').trim() === '') errs.push(required(child(cp, 'image')));
    checkEnum(errs, child(cp, 'imagePullPolicy'), ctr['imagePullPolicy'], PULL_POLICIES);
    validateContainerPorts(errs, ctr['ports'], child(cp, 'ports'));
    validateResources(errs, ctr['resources'], child(cp, 'resources'));
    for (const [j, m] of list(ctr['volumeMounts']).entries()) {
      const mp = index(child(cp, 'volumeMounts'), j);
      const mount = obj(m) ?? {};
      const mname = str(mount['name']) ?? '';
      if (mname === '') errs.push(required(child(mp, 'name')));
      else if (!volumes.has(mname)) errs.push(notFound(child(mp, 'name'), mname));
      if ((str(mount['mountPath']) ?? '') === '') errs.push(required(child(mp, 'mountPath')));
    }
    for (const [j, e] of list(ctr['env']).entries()) validateEnvVar(errs, e, index(child(cp, 'env'), j));
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      if (ctr[probe] !== undefined && ctr[probe] !== null) validateProbe(errs, ctr[probe], child(cp, probe), probe);
    }
  }
}

const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'];
const FIELD_REF_PATHS = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations', 'spec.nodeName',
  'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
];
const LABEL_OR_ANNOTATION_REF = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** validateEnvVar checks one env var: a name, and a value or exactly one source. */
function validateEnvVar(errs: FieldError[], value: unknown, path: string): void {
  const e = obj(value) ?? {};
  if ((str(e['name']) ?? '') === '') errs.push(required(child(path, 'name')));
  const from = obj(e['valueFrom']);
  if (from === undefined) return;
  const fp = child(path, 'valueFrom');
  if ((str(e['value']) ?? '') !== '') errs.push(invalid(fp, '', 'may not be specified when `value` is not empty'));
  const sources = ENV_SOURCES.filter((s) => from[s] !== undefined && from[s] !== null);
  if (sources.length === 0) errs.push(invalid(fp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  if (sources.length > 1) errs.push(invalid(fp, '', 'may not have more than one field specified at a time'));
  for (const ref of ['configMapKeyRef', 'secretKeyRef']) {
    const r = obj(from[ref]);
    if (r === undefined) continue;
    const k = str(r['key']) ?? '';
    if (k === '') errs.push(required(child(child(fp, ref), 'key')));
    else for (const m of isConfigMapKey(k)) errs.push(invalid(child(child(fp, ref), 'key'), k, m));
  }
  const fieldRef = obj(from['fieldRef']);
  if (fieldRef !== undefined) {
    const fieldPath = str(fieldRef['fieldPath']) ?? '';
    const rp = child(child(fp, 'fieldRef'), 'fieldPath');
    if (fieldPath === '') errs.push(required(rp));
    else if (!FIELD_REF_PATHS.includes(fieldPath) && !LABEL_OR_ANNOTATION_REF.test(fieldPath)) errs.push(notSupported(rp, fieldPath, FIELD_REF_PATHS));
  }
  const resourceRef = obj(from['resourceFieldRef']);
  if (resourceRef !== undefined && (str(resourceRef['resource']) ?? '') === '') errs.push(required(child(child(fp, 'resourceFieldRef'), 'resource')));
}

function validateContainerPorts(errs: FieldError[], value: unknown, path: string): void {
  const names = new Set<string>();
  for (const [i, p] of list(value).entries()) {
    const pp = index(path, i);
    const port = obj(p) ?? {};
    const name = str(port['name']);
    if (name !== undefined && name !== '') {
      for (const m of isValidPortName(name)) errs.push(invalid(child(pp, 'name'), name, m));
      if (names.has(name)) errs.push(duplicate(child(pp, 'name'), name));
      names.add(name);
    }
    if (port['containerPort'] === undefined) errs.push(required(child(pp, 'containerPort')));
    else if (!isValidPortNum(port['containerPort'])) errs.push(invalid(child(pp, 'containerPort'), port['containerPort'], PORT_RANGE_MESSAGE));
    const hostPort = port['hostPort'];
    if (hostPort !== undefined && hostPort !== 0 && !isValidPortNum(hostPort)) errs.push(invalid(child(pp, 'hostPort'), hostPort, PORT_RANGE_MESSAGE));
    checkProtocol(errs, child(pp, 'protocol'), port['protocol']);
  }
}

/** validateResourceName checks a container resource name: a standard one or a qualified extended one. */
function validateResourceName(errs: FieldError[], name: string, path: string): void {
  for (const m of isQualifiedName(name)) errs.push(invalid(path, name, m));
  if (!name.includes('/') && !STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith('hugepages-')) {
    errs.push(invalid(path, name, 'must be a standard resource for containers'));
  }
}

function quantities(errs: FieldError[], value: unknown, path: string): Map<string, { q: Quantity; raw: unknown }> {
  const out = new Map<string, { q: Quantity; raw: unknown }>();
  const o = obj(value);
  if (o === undefined) return out;
  for (const [name, raw] of Object.entries(o)) {
    const kp = key(path, name);
    validateResourceName(errs, name, kp);
    const q = typeof raw === 'string' || typeof raw === 'number' ? parseQuantity(raw) : undefined;
    if (q === undefined || !q.ok) {
      errs.push(invalid(kp, raw, q === undefined ? 'must be a quantity' : q.error));
      continue;
    }
    if (q.value.unscaled < 0n) errs.push(invalid(kp, raw, 'must be greater than or equal to 0'));
    out.set(name, { q: q.value, raw });
  }
  return out;
}

/** validateResources checks limits and requests: valid quantities, and each request at most its limit. */
function validateResources(errs: FieldError[], value: unknown, path: string): void {
  const r = obj(value);
  if (r === undefined) return;
  const limits = quantities(errs, r['limits'], child(path, 'limits'));
  const requests = quantities(errs, r['requests'], child(path, 'requests'));
  for (const [name, req] of requests) {
    const lim = limits.get(name);
    if (lim !== undefined && compareQuantities(req.q, lim.q) > 0) {
      errs.push(invalid(key(child(path, 'requests'), name), req.raw, `must be less than or equal to ${name} limit of ${String(lim.raw)}`));
    }
  }
}

function validateProbe(errs: FieldError[], value: unknown, path: string, which: string): void {
  const p: JsonObject = obj(value) ?? {};
  const handlers = PROBE_HANDLERS.filter((h) => p[h] !== undefined && p[h] !== null);
  if (handlers.length === 0) errs.push(required(path, 'must specify a handler type'));
  for (const extra of handlers.slice(1)) errs.push(forbidden(child(path, extra), 'may not specify more than 1 handler type'));
  const http = obj(p['httpGet']);
  if (http !== undefined) validateProbePort(errs, http['port'], child(child(path, 'httpGet'), 'port'));
  const tcp = obj(p['tcpSocket']);
  if (tcp !== undefined) validateProbePort(errs, tcp['port'], child(child(path, 'tcpSocket'), 'port'));
  const exec = obj(p['exec']);
  if (exec !== undefined && list(exec['command']).length === 0) errs.push(required(child(child(path, 'exec'), 'command')));
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) checkNonNegative(errs, child(path, f), p[f]);
  const success = num(p['successThreshold']);
  if ((which === 'livenessProbe' || which === 'startupProbe') && success !== undefined && success !== 1) {
    errs.push(invalid(child(path, 'successThreshold'), success, 'must be 1'));
  }
}

function validateProbePort(errs: FieldError[], port: unknown, path: string): void {
  if (port === undefined) errs.push(required(path));
  else if (typeof port === 'string') {
    for (const m of isValidPortName(port)) errs.push(invalid(path, port, m));
  } else if (!isValidPortNum(port)) errs.push(invalid(path, port, PORT_RANGE_MESSAGE));
}

function validateToleration(errs: FieldError[], value: unknown, path: string): void {
  const t = obj(value) ?? {};
  const k = str(t['key']) ?? '';
  const op = str(t['operator']) ?? 'Equal';
  if (k !== '') for (const m of isQualifiedName(k)) errs.push(invalid(child(path, 'key'), k, m));
  if (k === '' && op !== 'Exists') errs.push(invalid(child(path, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
  checkEnum(errs, child(path, 'operator'), t['operator'], TOLERATION_OPERATORS);
  if (op === 'Exists' && (str(t['value']) ?? '') !== '') errs.push(invalid(child(path, 'operator'), t['value'], "value must be empty when `operator` is 'Exists'"));
  if (t['effect'] !== undefined && t['effect'] !== '') checkEnum(errs, child(path, 'effect'), t['effect'], TAINT_EFFECTS);
  const seconds = t['tolerationSeconds'];
  if (seconds !== undefined && seconds !== null && t['effect'] !== 'NoExecute') {
    errs.push(invalid(child(path, 'effect'), t['effect'] ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
  }
}

/** POD_UPDATE_MESSAGE is Kubernetes' explanation of what a pod update may change. */
export const POD_UPDATE_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * validatePodSpecUpdate enforces that a pod's spec is immutable except container images, the
 * active deadline (set or lowered) and added tolerations.
 */
export function validatePodSpecUpdate(specValue: unknown, oldValue: unknown, path = 'spec'): FieldError[] {
  const spec = obj(specValue) ?? {};
  const old = obj(oldValue) ?? {};
  const errs: FieldError[] = [];
  const newDeadline = num(spec['activeDeadlineSeconds']);
  const oldDeadline = num(old['activeDeadlineSeconds']);
  if (oldDeadline !== undefined) {
    if (newDeadline === undefined) errs.push(invalid(child(path, 'activeDeadlineSeconds'), null, 'must not update from a positive integer to nil value'));
    else if (newDeadline > oldDeadline) errs.push(invalid(child(path, 'activeDeadlineSeconds'), newDeadline, 'must be less than or equal to previous value'));
  }
  // Compare the old spec with the mutable fields taken from the new one: any other change is forbidden.
  const mutated: Record<string, unknown> = { ...old };
  for (const f of ['containers', 'initContainers'] as const) {
    const now = list(spec[f]);
    const was = list(old[f]);
    if (now.length === was.length && was.length > 0) {
      mutated[f] = was.map((c, i) => {
        const o = obj(c);
        const image = obj(now[i])?.['image'];
        return o === undefined ? c : { ...o, image };
      });
    }
  }
  if (newDeadline !== undefined) mutated['activeDeadlineSeconds'] = newDeadline;
  const oldTolerations = list(old['tolerations']);
  const newTolerations = list(spec['tolerations']);
  if (oldTolerations.every((t) => newTolerations.some((n) => deepEqual(t, n)))) {
    if (spec['tolerations'] === undefined) delete mutated['tolerations'];
    else mutated['tolerations'] = spec['tolerations'];
  }
  const grace = num(spec['terminationGracePeriodSeconds']);
  const oldGrace = num(old['terminationGracePeriodSeconds']);
  if (oldGrace !== undefined && oldGrace < 0 && grace === 1) mutated['terminationGracePeriodSeconds'] = 1;
  if (!deepEqual(mutated, spec)) {
    const changed = Object.keys({ ...spec, ...mutated }).filter((k) => !deepEqual(mutated[k], spec[k]));
    errs.push(forbidden(path, `${POD_UPDATE_MESSAGE}\n  changed: ${changed.map((k) => child(path, k)).join(', ')}`));
  }
  return errs;
}
