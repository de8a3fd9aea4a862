/**
 * fixtures: a small hand-built schema catalogue with the patch metadata of the real Kubernetes
 * types the tests touch (merge keys and strategies as in the Kubernetes API).
 */
import type { FieldSchema, SchemaCatalog, TypeRef, TypeSchema } from '../../../src/control-plane/api/schema/format.js';

const str: TypeRef = { kind: 'scalar', scalar: 'string' };
const int: TypeRef = { kind: 'scalar', scalar: 'integer' };
const ref = (name: string): TypeRef => ({ kind: 'ref', name });
const arr = (items: TypeRef): TypeRef => ({ kind: 'array', items });
const map = (values: TypeRef): TypeRef => ({ kind: 'map', values });

function f(type: TypeRef, patchStrategy?: FieldSchema['patchStrategy'], patchMergeKey?: string): FieldSchema {
  return {
    type,
    description: '',
    required: false,
    ...(patchStrategy === undefined ? {} : { patchStrategy }),
    ...(patchMergeKey === undefined ? {} : { patchMergeKey }),
  };
}

function t(name: string, fields: Record<string, FieldSchema>): TypeSchema {
  return { name, description: '', fields };
}

/** testCatalog is the catalogue the patch tests run against. */
export const testCatalog: SchemaCatalog = {
  types: {
    Meta: t('Meta', {
      name: f(str),
      labels: f(map(str)),
      annotations: f(map(str)),
      finalizers: f(arr(str), 'merge'),
      ownerReferences: f(arr(ref('OwnerRef')), 'merge', 'uid'),
    }),
    OwnerRef: t('OwnerRef', { uid: f(str), name: f(str) }),
    Pod: t('Pod', { apiVersion: f(str), kind: f(str), metadata: f(ref('Meta')), spec: f(ref('PodSpec')) }),
    PodSpec: t('PodSpec', {
      containers: f(arr(ref('Container')), 'merge', 'name'),
      volumes: f(arr(ref('Volume')), 'merge,retainKeys', 'name'),
      tolerations: f(arr(ref('Toleration'))),
      nodeSelector: f(map(str)),
      restartPolicy: f(str),
    }),
    Container: t('Container', {
      name: f(str),
      image: f(str),
      args: f(arr(str)),
      ports: f(arr(ref('Port')), 'merge', 'containerPort'),
      env: f(arr(ref('Env')), 'merge', 'name'),
      resources: f(ref('Resources')),
    }),
    Port: t('Port', { containerPort: f(int), name: f(str), protocol: f(str) }),
    Env: t('Env', { name: f(str), value: f(str) }),
    Resources: t('Resources', { limits: f(map(str)), requests: f(map(str)) }),
    Volume: t('Volume', { name: f(str), emptyDir: f(map(str)), configMap: f(ref('CMVolume')) }),
    CMVolume: t('CMVolume', { name: f(str) }),
    Toleration: t('Toleration', { key: f(str), effect: f(str) }),
    Deployment: t('Deployment', { metadata: f(ref('Meta')), spec: f(ref('DeploymentSpec')) }),
    DeploymentSpec: t('DeploymentSpec', {
      replicas: f(int),
      strategy: f(ref('Strategy'), 'retainKeys'),
      template: f(ref('Template')),
    }),
    Strategy: t('Strategy', { type: f(str), rollingUpdate: f(ref('RollingUpdate')) }),
    RollingUpdate: t('RollingUpdate', { maxSurge: f(str), maxUnavailable: f(str) }),
    Template: t('Template', { metadata: f(ref('Meta')), spec: f(ref('PodSpec')) }),
    // Item exercises every strategy on one small type.
    Item: t('Item', {
      name: f(str),
      value: f(str),
      other: f(str),
      items: f(arr(ref('Item')), 'merge', 'name'),
      plain: f(arr(ref('Item'))),
      ints: f(arr(int), 'merge'),
      plainInts: f(arr(int)),
      labels: f(map(str)),
      replaced: f(ref('Item'), 'replace'),
      kept: f(ref('Item'), 'retainKeys'),
      keptItems: f(arr(ref('Item')), 'merge,retainKeys', 'name'),
    }),
  },
};

/** at reads a dotted path ('spec.containers.0.image') out of JSON; absent parts give undefined. */
export function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** list narrows a value the test expects to be a list. */
export function list(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error(`expected a list, got ${JSON.stringify(v)}`);
  return v;
}
