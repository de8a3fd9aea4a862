/**
 * network: validation of Services (ports, type, selector, cluster IP), Endpoints and
 * EndpointSlices (addresses and ports), with Kubernetes' paths and messages.
 */
import type { FieldError } from '../types.js';
import { child, duplicate, forbidden, index, invalid, required } from './field-errors.js';
import { validateLabels } from './meta.js';
import { isDNS1123Label, isDNS1123Subdomain } from './names.js';
import { IP_MESSAGE, PORT_RANGE_MESSAGE, checkEnum, checkProtocol, isValidIP, isValidPortName, isValidPortNum, list, obj, str } from './util.js';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const SESSION_AFFINITIES = ['ClientIP', 'None'];
const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];

function validateTargetPort(errs: FieldError[], value: unknown, path: string): void {
  if (value === undefined) return;
  if (typeof value === 'number') {
    if (!isValidPortNum(value)) errs.push(invalid(path, value, PORT_RANGE_MESSAGE));
  } else if (typeof value === 'string') {
    for (const m of isValidPortName(value)) errs.push(invalid(path, value, m));
  } else {
    errs.push(invalid(path, value, 'must be an integer or a port name'));
  }
}

/** validateServiceSpec checks a Service's spec. */
export function validateServiceSpec(specValue: unknown, path = 'spec'): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(specValue);
  if (spec === undefined) return [required(path)];
  const type = str(spec['type']) ?? 'ClusterIP';
  checkEnum(errs, child(path, 'type'), spec['type'], SERVICE_TYPES);
  checkEnum(errs, child(path, 'sessionAffinity'), spec['sessionAffinity'], SESSION_AFFINITIES);
  checkEnum(errs, child(path, 'internalTrafficPolicy'), spec['internalTrafficPolicy'], ['Cluster', 'Local']);
  checkEnum(errs, child(path, 'ipFamilyPolicy'), spec['ipFamilyPolicy'], ['SingleStack', 'PreferDualStack', 'RequireDualStack']);
  for (const [i, f] of list(spec['ipFamilies']).entries()) checkEnum(errs, index(child(path, 'ipFamilies'), i), f, ['IPv4', 'IPv6']);
  const etp = spec['externalTrafficPolicy'];
  if (etp !== undefined && etp !== '') {
    if (type !== 'NodePort' && type !== 'LoadBalancer') errs.push(invalid(child(path, 'externalTrafficPolicy'), etp, 'may only be set for externally-accessible services'));
    else checkEnum(errs, child(path, 'externalTrafficPolicy'), etp, ['Cluster', 'Local']);
  }
  const clusterIP = str(spec['clusterIP']) ?? '';
  const headless = clusterIP === 'None';
  if (clusterIP !== '' && !headless && !isValidIP(clusterIP)) errs.push(invalid(child(path, 'clusterIP'), clusterIP, IP_MESSAGE));
  for (const [i, ip] of list(spec['clusterIPs']).entries()) {
    if (typeof ip !== 'string' || (ip !== 'None' && !isValidIP(ip))) errs.push(invalid(index(child(path, 'clusterIPs'), i), ip, IP_MESSAGE));
  }
  if (type === 'ExternalName') {
    const name = str(spec['externalName']) ?? '';
    if (name === '') errs.push(required(child(path, 'externalName')));
    else for (const m of isDNS1123Subdomain(name.endsWith('.') ? name.slice(0, -1) : name)) errs.push(invalid(child(path, 'externalName'), name, m));
  }
  const ports = list(spec['ports']);
  const portsPath = child(path, 'ports');
  if (ports.length === 0 && type !== 'ExternalName' && !headless) errs.push(required(portsPath));
  const names = new Set<string>();
  const pairs = new Set<string>();
  for (const [i, p] of ports.entries()) {
    const pp = index(portsPath, i);
    const port = obj(p) ?? {};
    const name = str(port['name']) ?? '';
    if (ports.length > 1 && name === '') errs.push(required(child(pp, 'name')));
    if (name !== '') {
      for (const m of isDNS1123Label(name)) errs.push(invalid(child(pp, 'name'), name, m));
      if (names.has(name)) errs.push(duplicate(child(pp, 'name'), name));
      names.add(name);
    }
    if (!isValidPortNum(port['port'])) errs.push(invalid(child(pp, 'port'), port['port'] ?? 0, PORT_RANGE_MESSAGE));
    checkProtocol(errs, child(pp, 'protocol'), port['protocol']);
    validateTargetPort(errs, port['targetPort'], child(pp, 'targetPort'));
    const nodePort = port['nodePort'];
    if (nodePort !== undefined && nodePort !== 0) {
      if (!isValidPortNum(nodePort)) errs.push(invalid(child(pp, 'nodePort'), nodePort, PORT_RANGE_MESSAGE));
      else if (type !== 'NodePort' && type !== 'LoadBalancer') errs.push(forbidden(child(pp, 'nodePort'), `may not be used when \`type\` is '${type}'`));
    }
    const pair = `${String(port['port'])}/${str(port['protocol']) ?? 'TCP'}`;
    if (pairs.has(pair)) errs.push(duplicate(pp, { port: port['port'], protocol: str(port['protocol']) ?? 'TCP' }));
    pairs.add(pair);
  }
  errs.push(...validateLabels(spec['selector'], child(path, 'selector')));
  return errs;
}

/** validateServiceUpdate refuses changing a cluster IP once allocated, and leaving or entering ExternalName with one. */
export function validateServiceSpecUpdate(specValue: unknown, oldValue: unknown, path = 'spec'): FieldError[] {
  const now = str(obj(specValue)?.['clusterIP']) ?? '';
  const was = str(obj(oldValue)?.['clusterIP']) ?? '';
  // An update that leaves the cluster IP out keeps the allocated one (the registry carries it over).
  if (was !== '' && now !== '' && now !== was) return [invalid(child(path, 'clusterIP'), now, 'field is immutable')];
  return [];
}

function validateEndpointPorts(errs: FieldError[], value: unknown, path: string, allowZero: boolean): void {
  const ports = list(value);
  const names = new Set<string>();
  for (const [i, p] of ports.entries()) {
    const pp = index(path, i);
    const port = obj(p) ?? {};
    const name = str(port['name']) ?? '';
    if (ports.length > 1 && name === '' && !allowZero) errs.push(required(child(pp, 'name')));
    if (name !== '') {
      for (const m of isDNS1123Label(name)) errs.push(invalid(child(pp, 'name'), name, m));
      if (names.has(name)) errs.push(duplicate(child(pp, 'name'), name));
      names.add(name);
    }
    const n = port['port'];
    if (!(allowZero && n === undefined) && !isValidPortNum(n)) errs.push(invalid(child(pp, 'port'), n ?? 0, PORT_RANGE_MESSAGE));
    checkProtocol(errs, child(pp, 'protocol'), port['protocol']);
  }
}

/** validateEndpoints checks the subsets of an Endpoints object. */
export function validateEndpoints(subsetsValue: unknown, path = 'subsets'): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, s] of list(subsetsValue).entries()) {
    const sp = index(path, i);
    const subset = obj(s) ?? {};
    const addresses = list(subset['addresses']);
    const notReady = list(subset['notReadyAddresses']);
    if (addresses.length === 0 && notReady.length === 0) errs.push(required(sp, 'must specify `addresses` or `notReadyAddresses`'));
    for (const [field, addrs] of [['addresses', addresses], ['notReadyAddresses', notReady]] as const) {
      for (const [j, a] of addrs.entries()) {
        const ip = str(obj(a)?.['ip']) ?? '';
        const ap = child(index(child(sp, field), j), 'ip');
        if (ip === '') errs.push(required(ap));
        else if (!isValidIP(ip)) errs.push(invalid(ap, ip, IP_MESSAGE));
      }
    }
    // A headless service's endpoints may carry no ports.
    validateEndpointPorts(errs, subset['ports'], child(sp, 'ports'), false);
  }
  return errs;
}

/** validateEndpointSlice checks an EndpointSlice's address type, endpoints and ports. */
export function validateEndpointSlice(slice: Readonly<Record<string, unknown>>): FieldError[] {
  const errs: FieldError[] = [];
  const addressType = slice['addressType'];
  if (addressType === undefined) errs.push(required('addressType'));
  else checkEnum(errs, 'addressType', addressType, ADDRESS_TYPES);
  for (const [i, e] of list(slice['endpoints']).entries()) {
    const ep = index('endpoints', i);
    const addrs = list(obj(e)?.['addresses']);
    if (addrs.length === 0) errs.push(required(child(ep, 'addresses'), 'must contain at least 1 address'));
    else if (addrs.length > 100) errs.push(invalid(child(ep, 'addresses'), addrs.length, 'must contain at most 100 addresses'));
    for (const [j, a] of addrs.entries()) {
      const ap = index(child(ep, 'addresses'), j);
      if (typeof a !== 'string') errs.push(invalid(ap, a, 'must be a string'));
      else if (addressType === 'FQDN') for (const m of isDNS1123Subdomain(a)) errs.push(invalid(ap, a, m));
      else if (addressType === 'IPv4' && !/^\d+\.\d+\.\d+\.\d+$/.test(a)) errs.push(invalid(ap, a, 'must be a valid IPv4 address'));
      else if (addressType === 'IPv4' && !isValidIP(a)) errs.push(invalid(ap, a, 'must be a valid IPv4 address'));
      else if (addressType === 'IPv6' && (!isValidIP(a) || !a.includes(':'))) errs.push(invalid(ap, a, 'must be a valid IPv6 address'));
    }
  }
  validateEndpointPorts(errs, slice['ports'], 'ports', true);
  return errs;
}
