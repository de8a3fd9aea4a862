/**
 * Tables as kubectl prints them: AGE durations, the pod STATUS/READY/RESTARTS cells through a
 * pod's life, and the columns of the other kinds.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import { humanDuration } from '../../../src/control-plane/apiserver/rest/age.js';
import { summarizePod } from '../../../src/control-plane/apiserver/rest/pod-columns.js';
import { table } from '../../../src/control-plane/apiserver/rest/tables.js';

const NOW = Date.parse('2026-01-10T12:00:00Z');

function res(group: string, plural: string, kind: string): ResourceInfo {
  return { group, version: 'v1', kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), namespaced: true, shortNames: [], categories: [], subresources: [], verbs: ['get'] };
}

function obj(kind: string, rest: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { name: 'x', creationTimestamp: '2026-01-10T11:57:58Z', ...meta }, ...rest };
}

function cells(r: ResourceInfo, o: KubeObject): unknown[] {
  const t = table(r, [o], { apiVersion: 'meta.k8s.io/v1', includeObject: 'None', now: NOW });
  return (t['rows'] as { cells: unknown[] }[])[0]!.cells;
}

function headers(r: ResourceInfo): string[] {
  const t = table(r, [], { apiVersion: 'meta.k8s.io/v1', includeObject: 'None', now: NOW });
  return (t['columnDefinitions'] as { name: string; priority: number }[]).filter((c) => c.priority === 0).map((c) => c.name.toUpperCase());
}

describe('humanDuration', () => {
  it.each([
    [0, '0s'], [5_000, '5s'], [119_000, '119s'], [120_000, '2m'], [182_000, '3m2s'], [15 * 60_000, '15m'], [179 * 60_000, '179m'],
    [(5 * 60 + 3) * 60_000, '5h3m'], [20 * 3_600_000, '20h'], [51 * 3_600_000, '2d3h'], [30 * 86_400_000, '30d'],
    [(2 * 365 + 15) * 86_400_000, '2y15d'], [9 * 365 * 86_400_000, '9y'], [-500, '0s'], [-5_000, '<invalid>'],
  ])('%d ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('pod columns', () => {
  const spec = { containers: [{ name: 'a' }, { name: 'b' }] };
  const running = { ready: true, restartCount: 0, state: { running: {} } };

  it('shows the phase of a pod without container statuses', () => {
    expect(summarizePod(obj('Pod', { spec, status: { phase: 'Pending' } })).status).toBe('Pending');
  });

  it('shows a waiting container reason: ContainerCreating, CrashLoopBackOff', () => {
    const creating = obj('Pod', { spec, status: { phase: 'Pending', containerStatuses: [{ ...running }, { ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } });
    expect(summarizePod(creating)).toMatchObject({ status: 'ContainerCreating', ready: 1 });
    const crash = obj('Pod', { spec, status: { phase: 'Running', containerStatuses: [{ ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { finishedAt: '2026-01-10T11:59:00Z' } } }, running] } });
    expect(summarizePod(crash)).toMatchObject({ status: 'CrashLoopBackOff', restarts: 4 });
    expect(cells(res('', 'pods', 'Pod'), crash).slice(1, 4)).toEqual(['1/2', 'CrashLoopBackOff', '4 (60s ago)']);
  });

  it('shows Completed, Error and exit codes of terminated containers', () => {
    const done = { ready: false, restartCount: 0, state: { terminated: { reason: 'Completed', exitCode: 0 } } };
    expect(summarizePod(obj('Pod', { spec: { containers: [{}] }, status: { phase: 'Succeeded', containerStatuses: [done] } })).status).toBe('Completed');
    const code = { ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } };
    expect(summarizePod(obj('Pod', { spec: { containers: [{}] }, status: { phase: 'Failed', containerStatuses: [code] } })).status).toBe('ExitCode:3');
  });

  it('shows Running when a completed container sits beside a running one in a ready pod', () => {
    const done = { ready: false, restartCount: 0, state: { terminated: { reason: 'Completed', exitCode: 0 } } };
    const pod = obj('Pod', { spec, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [running, done] } });
    expect(summarizePod(pod).status).toBe('Running');
  });

  it('shows init container progress and failures', () => {
    const initSpec = { ...spec, initContainers: [{ name: 'i1' }, { name: 'i2' }] };
    const first = obj('Pod', { spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [{ restartCount: 0, state: { terminated: { exitCode: 0 } } }, { restartCount: 0, state: { running: {} } }] } });
    expect(summarizePod(first).status).toBe('Init:1/2');
    const failing = obj('Pod', { spec: initSpec, status: { phase: 'Pending', initContainerStatuses: [{ restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } });
    expect(summarizePod(failing)).toMatchObject({ status: 'Init:CrashLoopBackOff', restarts: 2 });
  });

  it('shows Terminating for a pod being deleted', () => {
    const pod = obj('Pod', { spec, status: { phase: 'Running', containerStatuses: [running, running] } }, { deletionTimestamp: '2026-01-10T11:59:00Z' });
    expect(summarizePod(pod)).toMatchObject({ status: 'Terminating', ready: 2 });
  });

  it('has the headers kubectl shows', () => {
    expect(headers(res('', 'pods', 'Pod'))).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  });
});

describe('other kinds', () => {
  it('deployments and replicasets', () => {
    const d = obj('Deployment', { spec: { replicas: 3 }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } });
    expect(headers(res('apps', 'deployments', 'Deployment'))).toEqual(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    expect(cells(res('apps', 'deployments', 'Deployment'), d).slice(0, 5)).toEqual(['x', '2/3', 3, 2, '2m2s']);
    expect(headers(res('apps', 'replicasets', 'ReplicaSet'))).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
  });

  it('nodes with status, roles and version', () => {
    const n = obj('Node', { spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } } }, { labels: { 'node-role.kubernetes.io/control-plane': '' } });
    expect(headers(res('', 'nodes', 'Node'))).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    expect(cells(res('', 'nodes', 'Node'), n).slice(0, 5)).toEqual(['x', 'Ready,SchedulingDisabled', 'control-plane', '2m2s', 'v1.32.0']);
    expect(cells(res('', 'nodes', 'Node'), obj('Node', {}))[1]).toBe('Unknown');
  });

  it('services with cluster IP, external IP and ports', () => {
    const s = obj('Service', { spec: { type: 'NodePort', clusterIP: '127.1.0.4', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } });
    expect(headers(res('', 'services', 'Service'))).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    expect(cells(res('', 'services', 'Service'), s).slice(0, 5)).toEqual(['x', 'NodePort', '127.1.0.4', '<none>', '80:30080/TCP,53/UDP']);
    const lb = obj('Service', { spec: { type: 'LoadBalancer', clusterIP: '127.1.0.5' } });
    expect(cells(res('', 'services', 'Service'), lb)[3]).toBe('<pending>');
  });

  it('configmaps, secrets, namespaces, events, endpoints, leases, endpointslices and rbac', () => {
    expect(cells(res('', 'configmaps', 'ConfigMap'), obj('ConfigMap', { data: { a: '1', b: '2' }, binaryData: { c: '' } }))).toEqual(['x', 3, '2m2s']);
    expect(cells(res('', 'secrets', 'Secret'), obj('Secret', { type: 'kubernetes.io/tls', data: { a: '' } }))).toEqual(['x', 'kubernetes.io/tls', 1, '2m2s']);
    expect(cells(res('', 'namespaces', 'Namespace'), obj('Namespace', { status: { phase: 'Terminating' } }))).toEqual(['x', 'Terminating', '2m2s']);
    expect(headers(res('', 'events', 'Event'))).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    const ev = obj('Event', { type: 'Normal', reason: 'Scheduled', message: 'Assigned', involvedObject: { kind: 'Pod', name: 'web-1' }, lastTimestamp: '2026-01-10T11:59:55Z' });
    const evCells = cells(res('', 'events', 'Event'), ev);
    expect([...evCells.slice(0, 4), evCells[6]]).toEqual(['5s', 'Normal', 'Scheduled', 'pod/web-1', 'Assigned']);
    const ep = obj('Endpoints', { subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 443 }] }] });
    expect(cells(res('', 'endpoints', 'Endpoints'), ep)[1]).toBe('10.0.0.1:80,10.0.0.1:443,10.0.0.2:80 + 1 more...');
    expect(cells(res('coordination.k8s.io', 'leases', 'Lease'), obj('Lease', { spec: { holderIdentity: 'node-1' } }))).toEqual(['x', 'node-1', '2m2s']);
    const slice = obj('EndpointSlice', { addressType: 'IPv4', ports: [{ port: 80 }], endpoints: [{ addresses: ['10.0.0.1'] }] });
    expect(cells(res('discovery.k8s.io', 'endpointslices', 'EndpointSlice'), slice)).toEqual(['x', 'IPv4', '80', '10.0.0.1', '2m2s']);
    expect(headers(res('rbac.authorization.k8s.io', 'roles', 'Role'))).toEqual(['NAME', 'CREATED AT']);
    const rb = obj('RoleBinding', { roleRef: { kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'User', name: 'jane' }] });
    expect(cells(res('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding'), rb).slice(0, 4)).toEqual(['x', 'ClusterRole/admin', '2m2s', 'jane']);
    expect(headers(res('', 'serviceaccounts', 'ServiceAccount'))).toEqual(['NAME', 'SECRETS', 'AGE']);
    expect(headers(res('example.com', 'widgets', 'Widget'))).toEqual(['NAME', 'AGE']);
  });
});
