/**
 * tables: objects as meta.k8s.io Tables — the columns `kubectl get` prints for each kind, with
 * the wide columns at priority 1 — and each row's object as PartialObjectMetadata, the full
 * object, or nothing (includeObject).
 */
import type { KubeObject, ResourceInfo } from '../../api/types.js';
import { ageOf } from './age.js';
import type { IncludeObject } from './negotiate.js';
import { arr, field, num, rec, str } from './fields.js';
import { podReady, podRestarts, summarizePod, type PodSummary } from './pod-columns.js';

/** ColumnDefinition is a Table column (metav1.TableColumnDefinition). */
export interface ColumnDefinition {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** Cell is a value in a row. */
export type Cell = string | number | boolean;

/** Row is what a row's cells share: the clock, and a pod's summary worked out once for three cells. */
interface Row {
  readonly now: number;
  pod?: PodSummary;
}

interface Column {
  readonly def: ColumnDefinition;
  readonly cell: (o: KubeObject, row: Row) => Cell;
}

function podOf(o: KubeObject, row: Row): PodSummary {
  row.pod ??= summarizePod(o);
  return row.pod;
}

function col(name: string, cell: Column['cell'], opts: { priority?: number; type?: ColumnDefinition['type']; format?: string; description?: string } = {}): Column {
  return {
    def: {
      name,
      type: opts.type ?? 'string',
      format: opts.format ?? '',
      description: opts.description ?? `${name} of the object`,
      priority: opts.priority ?? 0,
    },
    cell,
  };
}

const NAME = col('Name', (o) => o.metadata.name ?? '', {
  format: 'name',
  description: 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
});
const AGE = col('Age', (o, row) => ageOf(o.metadata.creationTimestamp, row.now), {
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
});
const CREATED_AT = col('Created At', (o) => o.metadata.creationTimestamp ?? '', { type: 'date', description: 'CreationTimestamp of the object' });

function orNone(s: string): string {
  return s === '' ? '<none>' : s;
}

function firstN(items: readonly string[], n: number): string {
  if (items.length === 0) return '<none>';
  const shown = items.slice(0, n).join(',');
  return items.length > n ? `${shown} + ${items.length - n} more...` : shown;
}

function containerNames(o: unknown, ...path: readonly string[]): string {
  return arr(o, ...path).map((c) => str(c, 'name')).join(',');
}

function containerImages(o: unknown, ...path: readonly string[]): string {
  return arr(o, ...path).map((c) => str(c, 'image')).join(',');
}

function selectorString(sel: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rec(sel, 'matchLabels'))) parts.push(`${k}=${String(v)}`);
  for (const e of arr(sel, 'matchExpressions')) {
    const key = str(e, 'key');
    const op = str(e, 'operator');
    const values = arr(e, 'values').map(String).join(',');
    if (op === 'In') parts.push(`${key} in (${values})`);
    else if (op === 'NotIn') parts.push(`${key} notin (${values})`);
    else if (op === 'Exists') parts.push(key);
    else if (op === 'DoesNotExist') parts.push(`!${key}`);
  }
  return orNone(parts.join(','));
}

function mapSelector(sel: Record<string, unknown>): string {
  return orNone(Object.entries(sel).map(([k, v]) => `${k}=${String(v)}`).join(','));
}

function nodeStatus(o: KubeObject): string {
  const ready = arr(o, 'status', 'conditions').find((c) => str(c, 'type') === 'Ready');
  const s = ready === undefined ? 'Unknown' : str(ready, 'status') === 'True' ? 'Ready' : str(ready, 'status') === 'False' ? 'NotReady' : 'Unknown';
  return field(o, 'spec', 'unschedulable') === true ? `${s},SchedulingDisabled` : s;
}

function nodeRoles(o: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function nodeAddress(o: KubeObject, type: string): string {
  const a = arr(o, 'status', 'addresses').find((x) => str(x, 'type') === type);
  return a === undefined ? '<none>' : orNone(str(a, 'address'));
}

function servicePorts(o: KubeObject): string {
  const ports = arr(o, 'spec', 'ports').map((p) => {
    const port = num(p, 'port');
    const nodePort = num(p, 'nodePort');
    const proto = str(p, 'protocol') || 'TCP';
    return nodePort > 0 ? `${port}:${nodePort}/${proto}` : `${port}/${proto}`;
  });
  return orNone(ports.join(','));
}

function serviceExternalIp(o: KubeObject): string {
  const type = str(o, 'spec', 'type') || 'ClusterIP';
  const external = arr(o, 'spec', 'externalIPs').map(String);
  if (type === 'ExternalName') return orNone(str(o, 'spec', 'externalName'));
  if (type === 'LoadBalancer') {
    const ingress = arr(o, 'status', 'loadBalancer', 'ingress').map((i) => str(i, 'ip') || str(i, 'hostname')).filter((s) => s !== '');
    const all = [...ingress, ...external];
    return all.length > 0 ? all.join(',') : '<pending>';
  }
  return external.length > 0 ? external.join(',') : '<none>';
}

function endpointsList(o: KubeObject): string {
  const out: string[] = [];
  for (const subset of arr(o, 'subsets')) {
    const ports = arr(subset, 'ports').map((p) => num(p, 'port'));
    for (const a of arr(subset, 'addresses')) {
      const ip = str(a, 'ip');
      if (ports.length === 0) out.push(ip);
      for (const port of ports) out.push(`${ip}:${port}`);
    }
  }
  return firstN(out, 3);
}

function eventLastSeen(o: KubeObject, row: Row): string {
  const last = str(o, 'lastTimestamp') || str(o, 'eventTime') || str(o, 'series', 'lastObservedTime') || str(o, 'firstTimestamp') || (o.metadata.creationTimestamp ?? '');
  return ageOf(last, row.now);
}

function involvedObject(o: KubeObject): string {
  const kind = str(o, 'involvedObject', 'kind').toLowerCase();
  const name = str(o, 'involvedObject', 'name');
  return kind === '' ? name : `${kind}/${name}`;
}

function bindingSubjects(o: KubeObject, kind: string): string {
  return orNone(
    arr(o, 'subjects')
      .filter((s) => str(s, 'kind') === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${str(s, 'namespace')}/${str(s, 'name')}` : str(s, 'name')))
      .join(', '),
  );
}

const BINDING_COLUMNS: readonly Column[] = [
  NAME,
  col('Role', (o) => `${str(o, 'roleRef', 'kind')}/${str(o, 'roleRef', 'name')}`, { description: 'RoleRef is the role being bound' }),
  AGE,
  col('Users', (o) => bindingSubjects(o, 'User'), { priority: 1 }),
  col('Groups', (o) => bindingSubjects(o, 'Group'), { priority: 1 }),
  col('ServiceAccounts', (o) => bindingSubjects(o, 'ServiceAccount'), { priority: 1 }),
];

/** COLUMNS are the column sets by group and plural ('' is the core group). */
const COLUMNS: ReadonlyMap<string, readonly Column[]> = new Map<string, readonly Column[]>([
  ['/pods', [
    NAME,
    col('Ready', (o, row) => podReady(o, podOf(o, row)), { description: 'The aggregate readiness state of this pod for accepting traffic.' }),
    col('Status', (o, row) => podOf(o, row).status, { description: 'The aggregate status of the containers in this pod.' }),
    col('Restarts', (o, row) => podRestarts(podOf(o, row), row.now), { description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.' }),
    AGE,
    col('IP', (o) => orNone(str(o, 'status', 'podIP')), { priority: 1, description: 'The IP address of the pod' }),
    col('Node', (o) => orNone(str(o, 'spec', 'nodeName')), { priority: 1, description: 'The node the pod is bound to' }),
    col('Nominated Node', (o) => orNone(str(o, 'status', 'nominatedNodeName')), { priority: 1 }),
    col('Readiness Gates', (o) => {
      const gates = arr(o, 'spec', 'readinessGates');
      if (gates.length === 0) return '<none>';
      const trueConds = new Set(arr(o, 'status', 'conditions').filter((c) => str(c, 'status') === 'True').map((c) => str(c, 'type')));
      return `${gates.filter((g) => trueConds.has(str(g, 'conditionType'))).length}/${gates.length}`;
    }, { priority: 1 }),
  ]],
  ['apps/deployments', [
    NAME,
    col('Ready', (o) => `${num(o, 'status', 'readyReplicas')}/${num(o, 'spec', 'replicas')}`, { description: 'Number of the pod with ready state' }),
    col('Up-to-date', (o) => num(o, 'status', 'updatedReplicas'), { type: 'integer', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.' }),
    col('Available', (o) => num(o, 'status', 'availableReplicas'), { type: 'integer', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.' }),
    AGE,
    col('Containers', (o) => containerNames(o, 'spec', 'template', 'spec', 'containers'), { priority: 1 }),
    col('Images', (o) => containerImages(o, 'spec', 'template', 'spec', 'containers'), { priority: 1 }),
    col('Selector', (o) => selectorString(rec(o, 'spec', 'selector')), { priority: 1 }),
  ]],
  ['apps/replicasets', [
    NAME,
    col('Desired', (o) => num(o, 'spec', 'replicas'), { type: 'integer' }),
    col('Current', (o) => num(o, 'status', 'replicas'), { type: 'integer' }),
    col('Ready', (o) => num(o, 'status', 'readyReplicas'), { type: 'integer' }),
    AGE,
    col('Containers', (o) => containerNames(o, 'spec', 'template', 'spec', 'containers'), { priority: 1 }),
    col('Images', (o) => containerImages(o, 'spec', 'template', 'spec', 'containers'), { priority: 1 }),
    col('Selector', (o) => selectorString(rec(o, 'spec', 'selector')), { priority: 1 }),
  ]],
  ['/nodes', [
    NAME,
    col('Status', nodeStatus, { description: 'The status of the node' }),
    col('Roles', nodeRoles, { description: 'The roles of the node' }),
    AGE,
    col('Version', (o) => str(o, 'status', 'nodeInfo', 'kubeletVersion'), { description: 'Kubelet Version reported by the node.' }),
    col('Internal-IP', (o) => nodeAddress(o, 'InternalIP'), { priority: 1 }),
    col('External-IP', (o) => nodeAddress(o, 'ExternalIP'), { priority: 1 }),
    col('OS-Image', (o) => orNone(str(o, 'status', 'nodeInfo', 'osImage')), { priority: 1 }),
    col('Kernel-Version', (o) => orNone(str(o, 'status', 'nodeInfo', 'kernelVersion')), { priority: 1 }),
    col('Container-Runtime', (o) => orNone(str(o, 'status', 'nodeInfo', 'containerRuntimeVersion')), { priority: 1 }),
  ]],
  ['/services', [
    NAME,
    col('Type', (o) => str(o, 'spec', 'type') || 'ClusterIP'),
    col('Cluster-IP', (o) => orNone(str(o, 'spec', 'clusterIP'))),
    col('External-IP', serviceExternalIp),
    col('Port(s)', servicePorts),
    AGE,
    col('Selector', (o) => mapSelector(rec(o, 'spec', 'selector')), { priority: 1 }),
  ]],
  ['autoscaling/scales', [
    NAME,
    col('Desired', (o) => num(o, 'spec', 'replicas'), { type: 'integer', description: 'Desired replicas' }),
    col('Available', (o) => num(o, 'status', 'replicas'), { type: 'integer', description: 'Actual replicas' }),
    AGE,
  ]],
  ['/namespaces', [NAME, col('Status', (o) => str(o, 'status', 'phase') || 'Active'), AGE]],
  ['/configmaps', [NAME, col('Data', (o) => Object.keys(rec(o, 'data')).length + Object.keys(rec(o, 'binaryData')).length, { type: 'integer' }), AGE]],
  ['/secrets', [NAME, col('Type', (o) => str(o, 'type') || 'Opaque'), col('Data', (o) => Object.keys(rec(o, 'data')).length, { type: 'integer' }), AGE]],
  ['/events', [
    col('Last Seen', eventLastSeen),
    col('Type', (o) => str(o, 'type')),
    col('Reason', (o) => str(o, 'reason')),
    col('Object', involvedObject),
    col('Subobject', (o) => str(o, 'involvedObject', 'fieldPath'), { priority: 1 }),
    col('Source', (o) => orNone(str(o, 'source', 'component') || str(o, 'reportingComponent')), { priority: 1 }),
    col('Message', (o) => str(o, 'message').trim()),
    col('First Seen', (o, row) => ageOf(str(o, 'firstTimestamp') || str(o, 'eventTime'), row.now), { priority: 1 }),
    col('Count', (o) => num(o, 'count') || 1, { priority: 1, type: 'integer' }),
    col('Name', (o) => o.metadata.name ?? '', { priority: 1, format: 'name' }),
  ]],
  ['/serviceaccounts', [NAME, col('Secrets', (o) => arr(o, 'secrets').length, { type: 'integer' }), AGE]],
  ['/endpoints', [NAME, col('Endpoints', endpointsList), AGE]],
  ['coordination.k8s.io/leases', [NAME, col('Holder', (o) => str(o, 'spec', 'holderIdentity')), AGE]],
  ['discovery.k8s.io/endpointslices', [
    NAME,
    col('AddressType', (o) => str(o, 'addressType')),
    col('Ports', (o) => {
      const ports = arr(o, 'ports').map((p) => num(p, 'port')).filter((p) => p > 0);
      return ports.length === 0 ? '<unset>' : firstN(ports.map(String), 3);
    }),
    col('Endpoints', (o) => firstN(arr(o, 'endpoints').flatMap((e) => arr(e, 'addresses').map(String)), 3)),
    AGE,
  ]],
  ['rbac.authorization.k8s.io/roles', [NAME, CREATED_AT]],
  ['rbac.authorization.k8s.io/clusterroles', [NAME, CREATED_AT]],
  ['rbac.authorization.k8s.io/rolebindings', BINDING_COLUMNS],
  ['rbac.authorization.k8s.io/clusterrolebindings', BINDING_COLUMNS],
]);

const DEFAULT_COLUMNS: readonly Column[] = [NAME, AGE];

function columnsFor(res: ResourceInfo): readonly Column[] {
  return COLUMNS.get(`${res.group}/${res.plural}`) ?? DEFAULT_COLUMNS;
}

/** TableOptions say how a Table is built. */
export interface TableOptions {
  readonly apiVersion: string;
  readonly includeObject: IncludeObject;
  /** now is the time AGE columns count from, in milliseconds since the epoch. */
  readonly now: number;
  readonly resourceVersion?: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

/** partialObject is an object's metadata alone, as PartialObjectMetadata. */
export function partialObject(o: KubeObject, apiVersion = 'meta.k8s.io/v1'): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: o.metadata };
}

function rowObject(o: KubeObject, include: IncludeObject): Record<string, unknown> | undefined {
  switch (include) {
    case 'None':
      return undefined;
    case 'Object':
      return o;
    case 'Metadata':
      return partialObject(o);
  }
}

/** tableRow is one object as a Table row under the resource's columns. */
export function tableRow(res: ResourceInfo, o: KubeObject, opts: TableOptions): Record<string, unknown> {
  return rowOf(columnsFor(res), o, opts);
}

function rowOf(columns: readonly Column[], o: KubeObject, opts: TableOptions): Record<string, unknown> {
  const row: Row = { now: opts.now };
  const cells = columns.map((c) => c.cell(o, row));
  const object = rowObject(o, opts.includeObject);
  return object !== undefined ? { cells, object } : { cells };
}

/** columnDefinitions are the resource's Table columns. */
export function columnDefinitions(res: ResourceInfo): ColumnDefinition[] {
  return columnsFor(res).map((c) => c.def);
}

/** table renders objects as a meta.k8s.io Table. */
export function table(res: ResourceInfo, objects: readonly KubeObject[], opts: TableOptions): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion !== undefined) metadata['resourceVersion'] = opts.resourceVersion;
  if (opts.continue !== undefined && opts.continue !== '') metadata['continue'] = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata['remainingItemCount'] = opts.remainingItemCount;
  const columns = columnsFor(res);
  return {
    kind: 'Table',
    apiVersion: opts.apiVersion,
    metadata,
    columnDefinitions: columns.map((c) => c.def),
    rows: objects.map((o) => rowOf(columns, o, opts)),
  };
}
