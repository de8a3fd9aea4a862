import { describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import { formatFieldError, formatFieldErrors, validateObject } from '../../../src/control-plane/api/validation/index.js';

function res(group: string, kind: string, namespaced = true): ResourceInfo {
  return { group, version: 'v1', kind, listKind: `${kind}List`, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase(), namespaced, shortNames: [], categories: [], subresources: [], verbs: [] };
}

const R = {
  pod: res('', 'Pod'), svc: res('', 'Service'), ns: res('', 'Namespace', false), node: res('', 'Node', false), cm: res('', 'ConfigMap'),
  secret: res('', 'Secret'), event: res('', 'Event'), ep: res('', 'Endpoints'), sa: res('', 'ServiceAccount'), deploy: res('apps', 'Deployment'),
  rs: res('apps', 'ReplicaSet'), lease: res('coordination.k8s.io', 'Lease'), slice: res('discovery.k8s.io', 'EndpointSlice'),
  role: res('rbac.authorization.k8s.io', 'Role'), crole: res('rbac.authorization.k8s.io', 'ClusterRole', false),
  rb: res('rbac.authorization.k8s.io', 'RoleBinding'), crb: res('rbac.authorization.k8s.io', 'ClusterRoleBinding', false),
};

const SUBDOMAIN = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;

function k(kind: string, name: string, body: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { name, namespace: 'default', ...meta }, ...body };
}

function cluster(kind: string, name: string, body: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { name }, ...body };
}

const container = { name: 'web', image: 'nginx', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80, protocol: 'TCP' }] };
const podSpec = { containers: [container], restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 };
const pod = k('Pod', 'web', { spec: podSpec });
const template = { metadata: { labels: { app: 'web' } }, spec: podSpec };
const deploy = k('Deployment', 'web', {
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, progressDeadlineSeconds: 600 },
});
const svc = k('Service', 'web', { spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } });

describe('validateObject: valid objects', () => {
  const valid: Array<[string, ResourceInfo, KubeObject]> = [
    ['a pod', R.pod, pod],
    ['a pod with generateName only', R.pod, { ...pod, metadata: { generateName: 'web-', namespace: 'default' } }],
    ['a deployment', R.deploy, deploy],
    ['a replicaset with matchExpressions', R.rs, k('ReplicaSet', 'web-1', { spec: { replicas: 0, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, template } })],
    ['a service', R.svc, svc],
    ['a headless service without ports', R.svc, k('Service', 'h', { spec: { clusterIP: 'None', selector: { app: 'x' } } })],
    ['an ExternalName service', R.svc, k('Service', 'ext', { spec: { type: 'ExternalName', externalName: 'example.com' } })],
    ['a namespace', R.ns, cluster('Namespace', 'team-a', { spec: { finalizers: ['kubernetes'] } })],
    ['a node with taints', R.node, cluster('Node', 'node-1.local', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } })],
    ['a configmap', R.cm, k('ConfigMap', 'cfg', { data: { 'app.properties': 'a=b', KEY_1: 'x' } })],
    ['a secret', R.secret, k('Secret', 's', { type: 'Opaque', data: { password: 'c2VjcmV0' } })],
    ['an event', R.event, k('Event', 'web.1', { involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' }, reason: 'Started', type: 'Normal' })],
    ['endpoints of a headless service, without ports', R.ep, k('Endpoints', 'h', { subsets: [{ notReadyAddresses: [{ ip: '10.0.0.2' }] }] })],
    ['endpoints', R.ep, k('Endpoints', 'web', { subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] }] })],
    ['an endpointslice', R.slice, k('EndpointSlice', 'web-abc', { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })],
    ['a lease', R.lease, k('Lease', 'node-1', { spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } })],
    ['a role', R.role, k('Role', 'reader', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] })],
    ['a cluster role with URLs', R.crole, cluster('ClusterRole', 'system:health', { rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] })],
    ['a role binding', R.rb, k('RoleBinding', 'read', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }, { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }] })],
    ['a service account', R.sa, k('ServiceAccount', 'default')],
  ];
  for (const [name, r, o] of valid) {
    it(`accepts ${name}`, () => {
      expect(validateObject(r, o).map(formatFieldError)).toEqual([]);
    });
  }
});

interface Case {
  readonly name: string;
  readonly res: ResourceInfo;
  readonly obj: KubeObject;
  readonly old?: KubeObject;
  readonly want: readonly string[];
}

function withSpec(o: KubeObject, spec: Record<string, unknown>): KubeObject {
  return { ...o, spec: { ...(o['spec'] as Record<string, unknown>), ...spec } };
}

function withContainer(c: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return withSpec(pod, { containers: [{ ...container, ...c }], ...extra });
}

const cases: Case[] = [
  // metadata
  { name: 'a bad name', res: R.pod, obj: { ...pod, metadata: { name: 'Foo_1', namespace: 'default' } }, want: [`metadata.name: Invalid value: "Foo_1": ${SUBDOMAIN}`] },
  { name: 'no name', res: R.pod, obj: { ...pod, metadata: { namespace: 'default' } }, want: ['metadata.name: Required value: name or generateName is required'] },
  { name: 'no namespace', res: R.pod, obj: { ...pod, metadata: { name: 'a' } }, want: ['metadata.namespace: Required value'] },
  { name: 'a namespace on a cluster-scoped kind', res: R.ns, obj: cluster('Namespace', 'a', {}), want: [] },
  { name: 'a namespace set on a node', res: R.node, obj: { ...cluster('Node', 'n'), metadata: { name: 'n', namespace: 'x' } }, want: ['metadata.namespace: Forbidden: not allowed on this type'] },
  { name: 'a namespace name that is not a DNS label', res: R.ns, obj: cluster('Namespace', 'a.b'), want: [`metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`] },
  { name: 'a service name starting with a digit', res: R.svc, obj: { ...svc, metadata: { name: '1web', namespace: 'default' } }, want: [`metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`] },
  { name: 'a name over 253 characters', res: R.cm, obj: k('ConfigMap', 'a'.repeat(254)), want: ['metadata.name: Invalid value: "' + 'a'.repeat(254) + '": must be no more than 253 characters'] },
  { name: 'a bad label key and value', res: R.cm, obj: k('ConfigMap', 'c', {}, { labels: { 'a b': 'x', ok: 'bad value' } }), want: ['metadata.labels: Invalid value: "a b": name part must consist of', 'metadata.labels: Invalid value: "bad value": a valid label must be an empty string'] },
  { name: 'a bad annotation key', res: R.cm, obj: k('ConfigMap', 'c', {}, { annotations: { '/x': 'y' } }), want: ['metadata.annotations: Invalid value: "/x": prefix part must be non-empty'] },
  { name: 'annotations over 256 KiB', res: R.cm, obj: k('ConfigMap', 'c', {}, { annotations: { big: 'x'.repeat(262144) } }), want: ['metadata.annotations: Too long: may not be more than 262144 bytes'] },
  { name: 'a generateName that is not a subdomain', res: R.pod, obj: { ...pod, metadata: { generateName: 'Web-', namespace: 'default' } }, want: ['metadata.generateName: Invalid value: "Web-"'] },
  { name: 'a bad finalizer', res: R.cm, obj: k('ConfigMap', 'c', {}, { finalizers: ['a/b/c'] }), want: ['metadata.finalizers[0]: Invalid value: "a/b/c": a qualified name must consist of'] },
  { name: 'an owner reference without uid', res: R.pod, obj: { ...pod, metadata: { name: 'a', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '' }] } }, want: ['metadata.ownerReferences[0].uid: Invalid value: "": uid must not be empty'] },
  { name: 'a renamed object', res: R.cm, obj: k('ConfigMap', 'b', {}, { uid: 'u1' }), old: k('ConfigMap', 'a', {}, { uid: 'u1' }), want: ['metadata.name: Invalid value: "b": field is immutable'] },
  { name: 'a changed uid and creationTimestamp', res: R.cm, obj: k('ConfigMap', 'a', {}, { uid: 'u2', creationTimestamp: '2025-01-01T00:00:00Z' }), old: k('ConfigMap', 'a', {}, { uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z' }), want: ['metadata.uid: Invalid value: "u2": field is immutable', 'metadata.creationTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable'] },
  // pods
  { name: 'no containers', res: R.pod, obj: withSpec(pod, { containers: [] }), want: ['spec.containers: Required value'] },
  { name: 'a container without a name', res: R.pod, obj: withContainer({ name: '' }), want: ['spec.containers[0].name: Required value'] },
  { name: 'a container without an image', res: R.pod, obj: withContainer({ image: '' }), want: ['spec.containers[0].image: Required value'] },
  { name: 'a container name that is not a DNS label', res: R.pod, obj: withContainer({ name: 'Web' }), want: ['spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label'] },
  { name: 'duplicate container names', res: R.pod, obj: withSpec(pod, { containers: [container, container] }), want: ['spec.containers[1].name: Duplicate value: "web"'] },
  { name: 'a port out of range', res: R.pod, obj: withContainer({ ports: [{ containerPort: 70000 }] }), want: ['spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive'] },
  { name: 'a bad protocol', res: R.pod, obj: withContainer({ ports: [{ containerPort: 80, protocol: 'HTTP' }] }), want: ['spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'] },
  { name: 'a bad port name', res: R.pod, obj: withContainer({ ports: [{ containerPort: 80, name: 'web--1' }] }), want: ['spec.containers[0].ports[0].name: Invalid value: "web--1": must not contain consecutive hyphens'] },
  { name: 'a bad quantity', res: R.pod, obj: withContainer({ resources: { limits: { cpu: 'lots' } } }), want: [`spec.containers[0].resources.limits[cpu]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`] },
  { name: 'a negative quantity', res: R.pod, obj: withContainer({ resources: { requests: { memory: '-1Mi' } } }), want: ['spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater than or equal to 0'] },
  { name: 'a request above its limit', res: R.pod, obj: withContainer({ resources: { limits: { cpu: '500m' }, requests: { cpu: '1' } } }), want: ['spec.containers[0].resources.requests[cpu]: Invalid value: "1": must be less than or equal to cpu limit of 500m'] },
  { name: 'a request equal to its limit in other units', res: R.pod, obj: withContainer({ resources: { limits: { memory: '1Gi' }, requests: { memory: '1024Mi' } } }), want: [] },
  { name: 'an unknown resource name', res: R.pod, obj: withContainer({ resources: { limits: { gpu: '1' } } }), want: ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers'] },
  { name: 'a bad restart policy', res: R.pod, obj: withSpec(pod, { restartPolicy: 'Sometimes' }), want: ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'] },
  { name: 'duplicate volumes and an unknown mount', res: R.pod, obj: withContainer({ volumeMounts: [{ name: 'data', mountPath: '/d' }] }, { volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }] }), want: ['spec.volumes[1].name: Duplicate value: "v"', 'spec.containers[0].volumeMounts[0].name: Not found: "data"'] },
  { name: 'a volume with two sources', res: R.pod, obj: withSpec(pod, { volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }] }), want: ['spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type'] },
  { name: 'a volume without a source', res: R.pod, obj: withSpec(pod, { volumes: [{ name: 'v' }] }), want: ['spec.volumes[0]: Required value: must specify a volume type'] },
  { name: 'a mount without a path', res: R.pod, obj: withContainer({ volumeMounts: [{ name: 'v' }] }, { volumes: [{ name: 'v', emptyDir: {} }] }), want: ['spec.containers[0].volumeMounts[0].mountPath: Required value'] },
  { name: 'a probe with no handler', res: R.pod, obj: withContainer({ livenessProbe: { periodSeconds: 5 } }), want: ['spec.containers[0].livenessProbe: Required value: must specify a handler type'] },
  { name: 'a probe with two handlers', res: R.pod, obj: withContainer({ readinessProbe: { httpGet: { port: 80 }, tcpSocket: { port: 80 } } }), want: ['spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type'] },
  { name: 'a liveness probe with successThreshold 2', res: R.pod, obj: withContainer({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }), want: ['spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1'] },
  { name: 'a bad pull policy', res: R.pod, obj: withContainer({ imagePullPolicy: 'Sometimes' }), want: ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'] },
  { name: 'a toleration Exists with a value', res: R.pod, obj: withSpec(pod, { tolerations: [{ key: 'a', operator: 'Exists', value: 'x' }] }), want: ["spec.tolerations[0].operator: Invalid value: \"x\": value must be empty when `operator` is 'Exists'"] },
  { name: 'an env var with value and valueFrom', res: R.pod, obj: withContainer({ env: [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }), want: ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty'] },
  { name: 'an env var with two sources', res: R.pod, obj: withContainer({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, secretKeyRef: { name: 's', key: 'k' } } }] }), want: ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not have more than one field specified at a time'] },
  { name: 'an env var from an unsupported field', res: R.pod, obj: withContainer({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }] }), want: ['spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.hostname": supported values: "metadata.name"'] },
  { name: 'env vars from labels and a config map key (allowed)', res: R.pod, obj: withContainer({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'c', key: 'k.1' } } }] }), want: [] },
  { name: 'a restart policy on a regular container', res: R.pod, obj: withContainer({ restartPolicy: 'Always' }), want: ['spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers'] },
  { name: 'a probe on a plain init container', res: R.pod, obj: withSpec(pod, { initContainers: [{ name: 'init', image: 'x', readinessProbe: { exec: { command: ['true'] } } }] }), want: ['spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always'] },
  { name: 'a probed sidecar init container (allowed)', res: R.pod, obj: withSpec(pod, { initContainers: [{ name: 'side', image: 'x', restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } }] }), want: [] },
  { name: 'an init container sharing a container name', res: R.pod, obj: withSpec(pod, { initContainers: [{ name: 'web', image: 'x' }] }), want: ['spec.initContainers[0].name: Duplicate value: "web"'] },
  { name: 'a bad host alias IP', res: R.pod, obj: withSpec(pod, { hostAliases: [{ ip: '1.2.3', hostnames: ['a'] }] }), want: ['spec.hostAliases[0].ip: Invalid value: "1.2.3": must be a valid IP address'] },
  { name: 'a changed pod spec', res: R.pod, obj: withSpec(pod, { restartPolicy: 'Never' }), old: pod, want: ['spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`'] },
  { name: 'a changed image (allowed)', res: R.pod, obj: withContainer({ image: 'nginx:2' }), old: pod, want: [] },
  { name: 'an added toleration (allowed)', res: R.pod, obj: withSpec(pod, { tolerations: [{ key: 'a', operator: 'Exists' }] }), old: pod, want: [] },
  { name: 'a removed toleration', res: R.pod, obj: pod, old: withSpec(pod, { tolerations: [{ key: 'a', operator: 'Exists' }] }), want: ['spec: Forbidden: pod updates may not change fields'] },
  { name: 'a raised active deadline', res: R.pod, obj: withSpec(pod, { activeDeadlineSeconds: 20 }), old: withSpec(pod, { activeDeadlineSeconds: 10 }), want: ['spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value'] },
  { name: 'a set active deadline (allowed)', res: R.pod, obj: withSpec(pod, { activeDeadlineSeconds: 20 }), old: pod, want: [] },
  // deployments and replica sets
  { name: 'a deployment without a selector', res: R.deploy, obj: withSpec(deploy, { selector: undefined }), want: ['spec.selector: Required value'] },
  { name: 'a deployment with an empty selector', res: R.deploy, obj: withSpec(deploy, { selector: {} }), want: ['spec.selector: Invalid value: {}: empty selector is invalid for deployment'] },
  { name: 'a selector that does not match the template', res: R.deploy, obj: withSpec(deploy, { selector: { matchLabels: { app: 'db' } } }), want: ['spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`'] },
  { name: 'negative replicas', res: R.rs, obj: withSpec(deploy, { replicas: -1 }), want: ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'] },
  { name: 'a template restart policy other than Always', res: R.deploy, obj: withSpec(deploy, { template: { ...template, spec: { ...podSpec, restartPolicy: 'Never' } } }), want: ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'] },
  { name: 'a template container without an image', res: R.deploy, obj: withSpec(deploy, { template: { ...template, spec: { containers: [{ name: 'a' }] } } }), want: ['spec.template.spec.containers[0].image: Required value'] },
  { name: 'maxSurge and maxUnavailable both 0', res: R.deploy, obj: withSpec(deploy, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }), want: ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0'] },
  { name: 'a bad percentage', res: R.deploy, obj: withSpec(deploy, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'lots' } } }), want: ["spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a numeric string followed by an ending '%'"] },
  { name: 'maxUnavailable over 100%', res: R.deploy, obj: withSpec(deploy, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } } }), want: ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'] },
  { name: 'Recreate with rollingUpdate', res: R.deploy, obj: withSpec(deploy, { strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }), want: ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"] },
  { name: 'a bad strategy type', res: R.deploy, obj: withSpec(deploy, { strategy: { type: 'Rolling' } }), want: ['spec.strategy.type: Unsupported value: "Rolling": supported values: "Recreate", "RollingUpdate"'] },
  { name: 'a changed selector', res: R.deploy, obj: withSpec(deploy, { selector: { matchLabels: { app: 'web', v: '2' } }, template: { ...template, metadata: { labels: { app: 'web', v: '2' } } } }), old: deploy, want: ['spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable'] },
  { name: 'a bad selector operator', res: R.rs, obj: withSpec(deploy, { selector: { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] } }), want: ['spec.selector.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator'] },
  // services
  { name: 'a service without ports', res: R.svc, obj: withSpec(svc, { ports: [] }), want: ['spec.ports: Required value'] },
  { name: 'unnamed ports among several', res: R.svc, obj: withSpec(svc, { ports: [{ port: 80 }, { port: 81 }] }), want: ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value'] },
  { name: 'duplicate port names', res: R.svc, obj: withSpec(svc, { ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), want: ['spec.ports[1].name: Duplicate value: "a"'] },
  { name: 'a port out of range', res: R.svc, obj: withSpec(svc, { ports: [{ port: 0 }] }), want: ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'] },
  { name: 'a bad targetPort name', res: R.svc, obj: withSpec(svc, { ports: [{ port: 80, targetPort: 'HTTP' }] }), want: ['spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'] },
  { name: 'a bad type', res: R.svc, obj: withSpec(svc, { type: 'Internal' }), want: ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'] },
  { name: 'a bad cluster IP', res: R.svc, obj: withSpec(svc, { clusterIP: '10.0.0' }), want: ['spec.clusterIP: Invalid value: "10.0.0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'] },
  { name: 'a changed cluster IP', res: R.svc, obj: withSpec(svc, { clusterIP: '10.96.0.11' }), old: svc, want: ['spec.clusterIP: Invalid value: "10.96.0.11": field is immutable'] },
  { name: 'a nodePort on a ClusterIP service', res: R.svc, obj: withSpec(svc, { ports: [{ port: 80, nodePort: 30080 }] }), want: ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"] },
  { name: 'a nodePort on a NodePort service (allowed)', res: R.svc, obj: withSpec(svc, { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }), want: [] },
  { name: 'an external traffic policy on a ClusterIP service', res: R.svc, obj: withSpec(svc, { externalTrafficPolicy: 'Local' }), want: ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'] },
  { name: 'a bad IP family', res: R.svc, obj: withSpec(svc, { ipFamilies: ['IPv5'] }), want: ['spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'] },
  { name: 'ExternalName without a name', res: R.svc, obj: k('Service', 'e', { spec: { type: 'ExternalName' } }), want: ['spec.externalName: Required value'] },
  { name: 'a bad selector label', res: R.svc, obj: withSpec(svc, { selector: { app: 'a b' } }), want: ['spec.selector: Invalid value: "a b": a valid label must be'] },
  // config maps and secrets
  { name: 'a bad configmap key', res: R.cm, obj: k('ConfigMap', 'c', { data: { 'a/b': 'x' } }), want: [`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`] },
  { name: 'a key in data and binaryData', res: R.cm, obj: k('ConfigMap', 'c', { data: { a: 'x' }, binaryData: { a: 'eA==' } }), want: ['binaryData[a]: Invalid value: "a": duplicate of key present in data'] },
  { name: 'a configmap over 1 MiB', res: R.cm, obj: k('ConfigMap', 'c', { data: { a: 'x'.repeat(1048577) } }), want: ['[]: Too long: may not be more than 1048576 bytes'] },
  { name: 'a secret over 1 MiB', res: R.secret, obj: k('Secret', 's', { stringData: { a: 'x'.repeat(1048577) } }), want: ['data: Too long: may not be more than 1048576 bytes'] },
  { name: 'a secret key ..x', res: R.secret, obj: k('Secret', 's', { data: { '..x': 'eA==' } }), want: ["data[..x]: Invalid value: \"..x\": must not start with '..'"] },
  { name: 'a TLS secret without its key', res: R.secret, obj: k('Secret', 's', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } }), want: ['data[tls.key]: Required value'] },
  { name: 'a changed secret type', res: R.secret, obj: k('Secret', 's', { type: 'Opaque' }), old: k('Secret', 's', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } }), want: ['type: Invalid value: "Opaque": field is immutable'] },
  { name: 'a changed immutable configmap', res: R.cm, obj: k('ConfigMap', 'c', { immutable: true, data: { a: '2' } }), old: k('ConfigMap', 'c', { immutable: true, data: { a: '1' } }), want: ['data: Forbidden: field is immutable when `immutable` is set'] },
  // the rest
  { name: 'a taint with a bad effect', res: R.node, obj: cluster('Node', 'n', { spec: { taints: [{ key: 'a', effect: 'NoWay' }] } }), want: ['spec.taints[0].effect: Unsupported value: "NoWay": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'] },
  { name: 'a taint without an effect', res: R.node, obj: cluster('Node', 'n', { spec: { taints: [{ key: 'a' }] } }), want: ['spec.taints[0].effect: Required value'] },
  { name: 'a lease of 0 seconds', res: R.lease, obj: k('Lease', 'l', { spec: { leaseDurationSeconds: 0 } }), want: ['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'] },
  { name: 'an event without its object', res: R.event, obj: k('Event', 'e', { reason: 'x' }), want: ['involvedObject: Required value'] },
  { name: 'an event about another namespace', res: R.event, obj: k('Event', 'e', { involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } }), want: ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'] },
  { name: 'endpoints with a bad IP', res: R.ep, obj: k('Endpoints', 'e', { subsets: [{ addresses: [{ ip: 'x' }], ports: [{ port: 80 }] }] }), want: ['subsets[0].addresses[0].ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'] },
  { name: 'a slice with a bad address type', res: R.slice, obj: k('EndpointSlice', 's', { addressType: 'IPX', endpoints: [] }), want: ['addressType: Unsupported value: "IPX": supported values: "IPv4", "IPv6", "FQDN"'] },
  { name: 'a slice endpoint without addresses', res: R.slice, obj: k('EndpointSlice', 's', { addressType: 'IPv4', endpoints: [{ addresses: [] }] }), want: ['endpoints[0].addresses: Required value: must contain at least 1 address'] },
  { name: 'a slice with an IPv6 address in an IPv4 slice', res: R.slice, obj: k('EndpointSlice', 's', { addressType: 'IPv4', endpoints: [{ addresses: ['::1'] }] }), want: ['endpoints[0].addresses[0]: Invalid value: "::1": must be a valid IPv4 address'] },
  { name: 'a rule without verbs', res: R.role, obj: k('Role', 'r', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: [] }] }), want: ['rules[0].verbs: Required value: verbs must contain at least one value'] },
  { name: 'a namespaced rule with URLs', res: R.role, obj: k('Role', 'r', { rules: [{ nonResourceURLs: ['/x'], verbs: ['get'] }] }), want: ['rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs'] },
  { name: 'a rule without groups', res: R.crole, obj: cluster('ClusterRole', 'r', { rules: [{ resources: ['pods'], verbs: ['get'] }] }), want: ['rules[0].apiGroups: Required value: resource rules must supply at least one api group'] },
  { name: 'an RBAC name with a slash', res: R.crole, obj: cluster('ClusterRole', 'a/b', { rules: [] }), want: ["metadata.name: Invalid value: \"a/b\": may not contain '/'"] },
  { name: 'a subject of an unknown kind', res: R.rb, obj: k('RoleBinding', 'b', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects: [{ kind: 'Robot', name: 'x' }] }), want: ['subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"'] },
  { name: 'a cluster binding to a Role', res: R.crb, obj: cluster('ClusterRoleBinding', 'b', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'x' }] }), want: ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"', 'subjects[0].namespace: Required value'] },
  { name: 'a changed roleRef', res: R.rb, obj: k('RoleBinding', 'b', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r2' } }), old: k('RoleBinding', 'b', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' } }), want: ['roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r2"}: cannot change roleRef'] },
];

describe('validateObject: invalid objects, with Kubernetes paths and messages', () => {
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      const got = validateObject(c.res, c.obj, c.old).map(formatFieldError);
      if (c.want.length === 0) expect(got).toEqual([]);
      for (const w of c.want) expect(got.some((g) => g.startsWith(w)), `${w}\n  not in\n${got.join('\n')}`).toBe(true);
    });
  }

  it('aggregates several errors as Kubernetes prints them', () => {
    const errs = validateObject(R.pod, withContainer({ name: '', image: '' }));
    expect(formatFieldErrors(errs)).toBe('[spec.containers[0].name: Required value, spec.containers[0].image: Required value]');
    expect(errs.map((e) => e.type)).toEqual(['FieldValueRequired', 'FieldValueRequired']);
  });
});
