/**
 * proto-schemas: the protobuf field numbers of the Kubernetes messages kubectl's typed clients
 * send (the objects `kubectl create <kind>` generates, and access reviews), as wire facts of
 * the k8s.io/api protobuf encoding. Each field is written `name:type`, where type is a scalar
 * (string, bytes, int, bool, time, quantity, intorstring), a message name, or map<value>; a
 * trailing `[]` means repeated, and `?` marks an optional (pointer) field whose zero value is
 * meaningful and kept (replicas: 0, automountServiceAccountToken: false).
 */

/** FieldType is how a field's bytes are read. */
export type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'quantity' | 'intorstring' | 'message' | 'map';

/** FieldSpec is one field of a message. */
export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly repeated: boolean;
  readonly keepZero: boolean;
  /** message names the message type when type is 'message'. */
  readonly message: string;
  /** mapValue is the value type when type is 'map' (keys are strings). */
  readonly mapValue?: 'string' | 'bytes' | 'quantity';
}

const SCALARS: ReadonlySet<string> = new Set(['string', 'bytes', 'int', 'bool', 'time', 'quantity', 'intorstring']);

function parseField(text: string): FieldSpec {
  const [name, rawType] = text.split(':') as [string, string];
  let t = rawType;
  const keepZero = t.endsWith('?');
  if (keepZero) t = t.slice(0, -1);
  const repeated = t.endsWith('[]');
  if (repeated) t = t.slice(0, -2);
  const map = /^map<(\w+)>$/.exec(t);
  if (map !== null) return { name, type: 'map', repeated: false, keepZero, message: '', mapValue: map[1] as 'string' | 'bytes' | 'quantity' };
  if (SCALARS.has(t)) return { name, type: t as FieldType, repeated, keepZero, message: '' };
  return { name, type: 'message', repeated, keepZero, message: t };
}

const OBJECT_META: Record<number, string> = {
  1: 'name:string', 2: 'generateName:string', 3: 'namespace:string', 4: 'selfLink:string', 5: 'uid:string',
  6: 'resourceVersion:string', 7: 'generation:int', 8: 'creationTimestamp:time', 9: 'deletionTimestamp:time',
  10: 'deletionGracePeriodSeconds:int?', 11: 'labels:map<string>', 12: 'annotations:map<string>',
  13: 'ownerReferences:OwnerReference[]', 14: 'finalizers:string[]',
};

const SCHEMAS: Record<string, Record<number, string>> = {
  ObjectMeta: OBJECT_META,
  OwnerReference: { 1: 'kind:string', 3: 'name:string', 4: 'uid:string', 5: 'apiVersion:string', 6: 'controller:bool?', 7: 'blockOwnerDeletion:bool?' },
  ObjectReference: { 1: 'kind:string', 2: 'namespace:string', 3: 'name:string', 4: 'uid:string', 5: 'apiVersion:string', 6: 'resourceVersion:string', 7: 'fieldPath:string' },
  LocalObjectReference: { 1: 'name:string' },
  LabelSelector: { 1: 'matchLabels:map<string>', 2: 'matchExpressions:LabelSelectorRequirement[]' },
  LabelSelectorRequirement: { 1: 'key:string', 2: 'operator:string', 3: 'values:string[]' },
  Condition: { 1: 'type:string', 2: 'status:string', 3: 'observedGeneration:int', 4: 'lastTransitionTime:time', 5: 'reason:string', 6: 'message:string' },

  ConfigMap: { 1: 'metadata:ObjectMeta', 2: 'data:map<string>', 3: 'binaryData:map<bytes>', 4: 'immutable:bool?' },
  Secret: { 1: 'metadata:ObjectMeta', 2: 'data:map<bytes>', 3: 'type:string', 4: 'stringData:map<string>', 5: 'immutable:bool?' },
  Namespace: { 1: 'metadata:ObjectMeta', 2: 'spec:NamespaceSpec', 3: 'status:NamespaceStatus' },
  NamespaceSpec: { 1: 'finalizers:string[]' },
  NamespaceStatus: { 1: 'phase:string' },
  ServiceAccount: { 1: 'metadata:ObjectMeta', 2: 'secrets:ObjectReference[]', 3: 'imagePullSecrets:LocalObjectReference[]', 4: 'automountServiceAccountToken:bool?' },

  Service: { 1: 'metadata:ObjectMeta', 2: 'spec:ServiceSpec', 3: 'status:ServiceStatus' },
  ServiceSpec: {
    1: 'ports:ServicePort[]', 2: 'selector:map<string>', 3: 'clusterIP:string', 4: 'type:string', 5: 'externalIPs:string[]',
    7: 'sessionAffinity:string', 8: 'loadBalancerIP:string', 9: 'loadBalancerSourceRanges:string[]', 10: 'externalName:string',
    11: 'externalTrafficPolicy:string', 12: 'healthCheckNodePort:int', 13: 'publishNotReadyAddresses:bool',
    17: 'ipFamilyPolicy:string?', 18: 'clusterIPs:string[]', 19: 'ipFamilies:string[]', 20: 'allocateLoadBalancerNodePorts:bool?',
    21: 'loadBalancerClass:string?', 22: 'internalTrafficPolicy:string?',
  },
  ServicePort: { 1: 'name:string', 2: 'protocol:string', 3: 'port:int', 4: 'targetPort:intorstring', 5: 'nodePort:int', 6: 'appProtocol:string?' },
  ServiceStatus: { 1: 'loadBalancer:LoadBalancerStatus', 2: 'conditions:Condition[]' },
  LoadBalancerStatus: { 1: 'ingress:LoadBalancerIngress[]' },
  LoadBalancerIngress: { 1: 'ip:string', 2: 'hostname:string' },

  Deployment: { 1: 'metadata:ObjectMeta', 2: 'spec:DeploymentSpec', 3: 'status:DeploymentStatus' },
  DeploymentSpec: {
    1: 'replicas:int?', 2: 'selector:LabelSelector', 3: 'template:PodTemplateSpec', 4: 'strategy:DeploymentStrategy',
    5: 'minReadySeconds:int', 6: 'revisionHistoryLimit:int?', 7: 'paused:bool', 9: 'progressDeadlineSeconds:int?',
  },
  DeploymentStrategy: { 1: 'type:string', 2: 'rollingUpdate:RollingUpdateDeployment' },
  RollingUpdateDeployment: { 1: 'maxUnavailable:intorstring', 2: 'maxSurge:intorstring' },
  DeploymentStatus: {
    1: 'observedGeneration:int', 2: 'replicas:int', 3: 'updatedReplicas:int', 4: 'availableReplicas:int',
    5: 'unavailableReplicas:int', 7: 'readyReplicas:int', 8: 'collisionCount:int?',
  },
  PodTemplateSpec: { 1: 'metadata:ObjectMeta', 2: 'spec:PodSpec' },
  PodSpec: {
    2: 'containers:Container[]', 3: 'restartPolicy:string', 4: 'terminationGracePeriodSeconds:int?', 5: 'activeDeadlineSeconds:int?',
    6: 'dnsPolicy:string', 7: 'nodeSelector:map<string>', 8: 'serviceAccountName:string', 9: 'serviceAccount:string',
    10: 'nodeName:string', 11: 'hostNetwork:bool', 12: 'hostPID:bool', 13: 'hostIPC:bool', 15: 'imagePullSecrets:LocalObjectReference[]',
    16: 'hostname:string', 17: 'subdomain:string', 19: 'schedulerName:string', 20: 'initContainers:Container[]',
    21: 'automountServiceAccountToken:bool?', 22: 'tolerations:Toleration[]', 24: 'priorityClassName:string', 25: 'priority:int?',
    30: 'enableServiceLinks:bool?', 31: 'preemptionPolicy:string?', 35: 'setHostnameAsFQDN:bool?', 37: 'hostUsers:bool?',
  },
  Toleration: { 1: 'key:string', 2: 'operator:string', 3: 'value:string', 4: 'effect:string', 5: 'tolerationSeconds:int?' },
  Container: {
    1: 'name:string', 2: 'image:string', 3: 'command:string[]', 4: 'args:string[]', 5: 'workingDir:string',
    6: 'ports:ContainerPort[]', 7: 'env:EnvVar[]', 8: 'resources:ResourceRequirements', 13: 'terminationMessagePath:string',
    14: 'imagePullPolicy:string', 16: 'stdin:bool', 17: 'stdinOnce:bool', 18: 'tty:bool', 20: 'terminationMessagePolicy:string',
    24: 'restartPolicy:string?',
  },
  ContainerPort: { 1: 'name:string', 2: 'hostPort:int', 3: 'containerPort:int', 4: 'protocol:string', 5: 'hostIP:string' },
  EnvVar: { 1: 'name:string', 2: 'value:string' },
  ResourceRequirements: { 1: 'limits:map<quantity>', 2: 'requests:map<quantity>' },

  Role: { 1: 'metadata:ObjectMeta', 2: 'rules:PolicyRule[]' },
  ClusterRole: { 1: 'metadata:ObjectMeta', 2: 'rules:PolicyRule[]', 3: 'aggregationRule:AggregationRule' },
  AggregationRule: { 1: 'clusterRoleSelectors:LabelSelector[]' },
  PolicyRule: { 1: 'verbs:string[]', 2: 'apiGroups:string[]', 3: 'resources:string[]', 4: 'resourceNames:string[]', 5: 'nonResourceURLs:string[]' },
  RoleBinding: { 1: 'metadata:ObjectMeta', 2: 'subjects:Subject[]', 3: 'roleRef:RoleRef' },
  ClusterRoleBinding: { 1: 'metadata:ObjectMeta', 2: 'subjects:Subject[]', 3: 'roleRef:RoleRef' },
  Subject: { 1: 'kind:string', 2: 'apiGroup:string', 3: 'name:string', 4: 'namespace:string' },
  RoleRef: { 1: 'apiGroup:string', 2: 'kind:string', 3: 'name:string' },

  DeleteOptions: { 1: 'gracePeriodSeconds:int?', 2: 'preconditions:Preconditions', 3: 'orphanDependents:bool?', 4: 'propagationPolicy:string?', 5: 'dryRun:string[]' },
  Preconditions: { 1: 'uid:string?', 2: 'resourceVersion:string?' },

  SelfSubjectAccessReview: { 1: 'metadata:ObjectMeta', 2: 'spec:SelfSubjectAccessReviewSpec', 3: 'status:SubjectAccessReviewStatus' },
  SelfSubjectAccessReviewSpec: { 1: 'resourceAttributes:ResourceAttributes', 2: 'nonResourceAttributes:NonResourceAttributes' },
  ResourceAttributes: { 1: 'namespace:string', 2: 'verb:string', 3: 'group:string', 4: 'version:string', 5: 'resource:string', 6: 'subresource:string', 7: 'name:string' },
  NonResourceAttributes: { 1: 'path:string', 2: 'verb:string' },
  SubjectAccessReviewStatus: { 1: 'allowed:bool', 2: 'reason:string', 3: 'evaluationError:string', 4: 'denied:bool' },
  SelfSubjectRulesReview: { 1: 'metadata:ObjectMeta', 2: 'spec:SelfSubjectRulesReviewSpec', 3: 'status:SubjectRulesReviewStatus' },
  SelfSubjectRulesReviewSpec: { 1: 'namespace:string' },
  SubjectRulesReviewStatus: { 3: 'incomplete:bool', 4: 'evaluationError:string' },
};

/** PROTO_MESSAGES are the message schemas by message name, field number to spec. */
export const PROTO_MESSAGES: ReadonlyMap<string, ReadonlyMap<number, FieldSpec>> = new Map(
  Object.entries(SCHEMAS).map(([name, fields]) => [name, new Map(Object.entries(fields).map(([num, text]) => [Number(num), parseField(text)]))]),
);

/** PROTO_KINDS maps 'apiVersion/Kind' (as in the envelope) to the message to decode; DeleteOptions is decoded under any apiVersion. */
export const PROTO_KINDS: ReadonlyMap<string, string> = new Map([
  ['v1/ConfigMap', 'ConfigMap'],
  ['v1/Secret', 'Secret'],
  ['v1/Namespace', 'Namespace'],
  ['v1/ServiceAccount', 'ServiceAccount'],
  ['v1/Service', 'Service'],
  ['apps/v1/Deployment', 'Deployment'],
  ['rbac.authorization.k8s.io/v1/Role', 'Role'],
  ['rbac.authorization.k8s.io/v1/ClusterRole', 'ClusterRole'],
  ['rbac.authorization.k8s.io/v1/RoleBinding', 'RoleBinding'],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', 'ClusterRoleBinding'],
  ['authorization.k8s.io/v1/SelfSubjectAccessReview', 'SelfSubjectAccessReview'],
  ['authorization.k8s.io/v1/SelfSubjectRulesReview', 'SelfSubjectRulesReview'],
]);
