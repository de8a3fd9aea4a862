import { describe, expect, it } from 'vitest';
import { applyDefaults, pullPolicyOf } from '../../../src/control-plane/api/defaults.js';
import { findResource } from '../../../src/control-plane/api/resources.js';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';

function res(group: string, plural: string): ResourceInfo {
  const r = findResource(group, 'v1', plural);
  if (r === undefined) throw new Error(`no resource ${plural}`);
  return r;
}

function podSpec(): Record<string, unknown> {
  return {
    containers: [
      {
        name: 'c',
        image: 'nginx:1.25',
        ports: [{ containerPort: 80 }],
        livenessProbe: { httpGet: { path: '/', port: 80 } },
        readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5 },
        env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'X', value: 'y' }],
        resources: { limits: { cpu: '1' } },
      },
    ],
    initContainers: [{ name: 'i', image: 'busybox' }],
    volumes: [{ name: 'v' }, { name: 's', secret: { secretName: 's' } }],
  };
}

function obj(apiVersion: string, kind: string, rest: Record<string, unknown>): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'default' }, ...rest };
}

describe('applyDefaults', () => {
  it('fills a pod spec and its containers', () => {
    const out = applyDefaults(res('', 'pods'), obj('v1', 'Pod', { spec: podSpec() }));
    expect(out['spec']).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
      enableServiceLinks: true,
      containers: [
        {
          imagePullPolicy: 'IfNotPresent',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          livenessProbe: { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, httpGet: { scheme: 'HTTP' } },
          readinessProbe: { timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 },
          env: [{ name: 'N', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }, { name: 'X', value: 'y' }],
          resources: { limits: { cpu: '1' }, requests: { cpu: '1' } },
        },
      ],
      initContainers: [{ imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', resources: {} }],
      volumes: [{ name: 'v', emptyDir: {} }, { name: 's', secret: { secretName: 's', defaultMode: 420 } }],
    });
  });

  it('keeps what the client gave, null counting as not given', () => {
    const spec = { restartPolicy: 'Never', dnsPolicy: null, containers: [{ name: 'c', image: 'x', imagePullPolicy: 'Never' }] };
    const out = applyDefaults(res('', 'pods'), obj('v1', 'Pod', { spec }));
    expect(out['spec']).toMatchObject({ restartPolicy: 'Never', dnsPolicy: 'ClusterFirst', containers: [{ imagePullPolicy: 'Never' }] });
  });

  it('never mutates its input', () => {
    const input = obj('apps/v1', 'Deployment', { spec: { selector: {}, template: { spec: podSpec() } } });
    const before = structuredClone(input);
    const out = applyDefaults(res('apps', 'deployments'), input);
    expect(input).toEqual(before);
    expect(out).not.toEqual(before);
  });

  it('gives host-network containers their container ports on the host', () => {
    const spec = { hostNetwork: true, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }, { containerPort: 9090, hostPort: 9091 }] }] };
    const out = applyDefaults(res('', 'pods'), obj('v1', 'Pod', { spec }));
    expect(out['spec']).toMatchObject({ containers: [{ ports: [{ containerPort: 8080, hostPort: 8080, protocol: 'TCP' }, { containerPort: 9090, hostPort: 9091 }] }] });
    const plain = applyDefaults(res('', 'pods'), obj('v1', 'Pod', { spec: { ...spec, hostNetwork: false } }));
    expect(plain['spec']).toMatchObject({ containers: [{ ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 9090, hostPort: 9091 }] }] });
    expect((plain['spec'] as { containers: { ports: object[] }[] }).containers[0]?.ports[0]).not.toHaveProperty('hostPort');
  });

  it('chooses imagePullPolicy from the tag', () => {
    expect(pullPolicyOf('nginx')).toBe('Always');
    expect(pullPolicyOf('nginx:latest')).toBe('Always');
    expect(pullPolicyOf('nginx:1.25')).toBe('IfNotPresent');
    expect(pullPolicyOf('localhost:5000/nginx')).toBe('Always');
    expect(pullPolicyOf('localhost:5000/nginx:v1')).toBe('IfNotPresent');
    expect(pullPolicyOf('nginx@sha256:abcd')).toBe('IfNotPresent');
  });

  it('fills a service', () => {
    const out = applyDefaults(res('', 'services'), obj('v1', 'Service', { spec: { selector: { a: 'b' }, ports: [{ port: 80 }, { port: 81, targetPort: 'web', protocol: 'UDP' }] } }));
    expect(out['spec']).toEqual({
      selector: { a: 'b' },
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ports: [
        { port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 81, targetPort: 'web', protocol: 'UDP' },
      ],
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
    });
    const np = applyDefaults(res('', 'services'), obj('v1', 'Service', { spec: { type: 'NodePort', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } }));
    expect(np['spec']).toMatchObject({ externalTrafficPolicy: 'Cluster', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } });
  });

  it('fills a deployment and its template', () => {
    const out = applyDefaults(res('apps', 'deployments'), obj('apps/v1', 'Deployment', { spec: { selector: {}, template: { spec: podSpec() } } }));
    expect(out['spec']).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: { spec: { restartPolicy: 'Always', containers: [{ imagePullPolicy: 'IfNotPresent' }] } },
    });
    const recreate = applyDefaults(res('apps', 'deployments'), obj('apps/v1', 'Deployment', { spec: { replicas: 0, strategy: { type: 'Recreate' } } }));
    expect(recreate['spec']).toMatchObject({ replicas: 0, strategy: { type: 'Recreate' } });
    expect((recreate['spec'] as { strategy: object }).strategy).not.toHaveProperty('rollingUpdate');
  });

  it('fills a replica set and its template', () => {
    const out = applyDefaults(res('apps', 'replicasets'), obj('apps/v1', 'ReplicaSet', { spec: { template: { spec: podSpec() } } }));
    expect(out['spec']).toMatchObject({ replicas: 1, template: { spec: { dnsPolicy: 'ClusterFirst' } } });
  });

  it('fills a namespace, a secret and a node', () => {
    const ns = applyDefaults(res('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    expect(ns).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team', labels: { 'kubernetes.io/metadata.name': 'team' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    expect(applyDefaults(res('', 'secrets'), obj('v1', 'Secret', {}))['type']).toBe('Opaque');
    expect(applyDefaults(res('', 'secrets'), obj('v1', 'Secret', { type: 'kubernetes.io/tls' }))['type']).toBe('kubernetes.io/tls');
    const node = applyDefaults(res('', 'nodes'), obj('v1', 'Node', { status: { capacity: { cpu: '4' } } }));
    expect(node['status']).toEqual({ capacity: { cpu: '4' }, allocatable: { cpu: '4' } });
  });

  it('fills RBAC subjects and endpoint ports', () => {
    const rb = applyDefaults(res('rbac.authorization.k8s.io', 'rolebindings'), obj('rbac.authorization.k8s.io/v1', 'RoleBinding', {
      subjects: [{ kind: 'User', name: 'u' }, { kind: 'Group', name: 'g' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'default' }],
    }));
    expect(rb['subjects']).toEqual([
      { kind: 'User', name: 'u', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'Group', name: 'g', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'sa', namespace: 'default', apiGroup: '' },
    ]);
    const es = applyDefaults(res('discovery.k8s.io', 'endpointslices'), obj('discovery.k8s.io/v1', 'EndpointSlice', { ports: [{ port: 80 }] }));
    expect(es['ports']).toEqual([{ port: 80, protocol: 'TCP', name: '' }]);
    const ep = applyDefaults(res('', 'endpoints'), obj('v1', 'Endpoints', { subsets: [{ ports: [{ port: 80 }] }] }));
    expect(ep['subsets']).toEqual([{ ports: [{ port: 80, protocol: 'TCP' }] }]);
  });

  it('leaves a lease and a config map alone', () => {
    const lease = obj('coordination.k8s.io/v1', 'Lease', { spec: { holderIdentity: 'n' } });
    expect(applyDefaults(res('coordination.k8s.io', 'leases'), lease)).toEqual(lease);
    const cm = obj('v1', 'ConfigMap', { data: { a: 'b' } });
    expect(applyDefaults(res('', 'configmaps'), cm)).toEqual(cm);
  });
});
