import { describe, expect, it } from 'vitest';
import { openapiV2, openapiV3, openapiV3Hash, openapiV3Index, openapiV3Json } from '../../../src/control-plane/api/openapi.js';
import { RESOURCES } from '../../../src/control-plane/api/resources.js';

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
}

function v3(path: string): Json {
  const doc = openapiV3(path);
  if (doc === undefined) throw new Error(`no document ${path}`);
  return obj(doc);
}

function schemas(doc: Json): Json {
  return obj(obj(doc['components'])['schemas']);
}

const WRITE_METHODS = ['post', 'put', 'patch'];

describe('openapi v3', () => {
  it('indexes one document per group-version with a stable hash', () => {
    const index = openapiV3Index();
    expect(Object.keys(index.paths).sort()).toEqual([
      'api/v1',
      'apis/apps/v1',
      'apis/authorization.k8s.io/v1',
      'apis/coordination.k8s.io/v1',
      'apis/discovery.k8s.io/v1',
      'apis/rbac.authorization.k8s.io/v1',
    ]);
    const hash = openapiV3Hash('api/v1');
    expect(hash).toMatch(/^[0-9A-F]{128}$/);
    expect(index.paths['api/v1']?.serverRelativeURL).toBe(`/openapi/v3/api/v1?hash=${hash}`);
    expect(openapiV3Index()).toEqual(index);
    expect(JSON.parse(openapiV3Json('apis/apps/v1') ?? 'null')).toEqual(openapiV3('apis/apps/v1'));
    expect(openapiV3('apis/batch/v1')).toBeUndefined();
  });

  it('tags every served kind with its group-version-kind', () => {
    for (const r of RESOURCES) {
      const path = r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
      const kinds = Object.values(schemas(v3(path))).flatMap((s) => (obj(s)['x-kubernetes-group-version-kind'] as Json[] | undefined) ?? []);
      expect(kinds, r.kind).toContainEqual({ group: r.group, version: r.version, kind: r.kind });
    }
    const apps = schemas(v3('apis/apps/v1'));
    expect(obj(apps['io.k8s.api.autoscaling.v1.Scale'])['x-kubernetes-group-version-kind']).toEqual([{ group: 'autoscaling', version: 'v1', kind: 'Scale' }]);
  });

  it('describes fields with types, references, required lists and patch metadata', () => {
    const s = schemas(v3('api/v1'));
    const podSpec = obj(s['io.k8s.api.core.v1.PodSpec']);
    expect(podSpec['required']).toEqual(['containers']);
    const containers = obj(obj(podSpec['properties'])['containers']);
    expect(containers).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/io.k8s.api.core.v1.Container' },
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'name',
    });
    expect(containers['description']).toMatch(/List of containers/);
    const pod = obj(obj(s['io.k8s.api.core.v1.Pod'])['properties']);
    expect(pod['spec']).toMatchObject({ allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }] });
    const meta = obj(obj(s['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'])['properties']);
    expect(meta['labels']).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
    expect(meta['creationTimestamp']).toMatchObject({ type: 'string', format: 'date-time' });
    // Every reference resolves inside the same document.
    const text = openapiV3Json('api/v1') ?? '';
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(s[m[1] ?? ''], m[1]).toBeDefined();
  });

  it('lists fieldValidation and dryRun on every write operation, with GVK and action on every operation', () => {
    for (const path of Object.keys(openapiV3Index().paths)) {
      const paths = obj(v3(path)['paths']);
      expect(Object.keys(paths).length).toBeGreaterThan(0);
      for (const [url, item] of Object.entries(paths)) {
        for (const [method, op] of Object.entries(obj(item))) {
          const o = obj(op);
          expect(o['x-kubernetes-group-version-kind'], `${method} ${url}`).toBeDefined();
          expect(o['x-kubernetes-action'], `${method} ${url}`).toBeDefined();
          // Connect operations (pods/exec) write no object, so they take no write options.
          if (!WRITE_METHODS.includes(method) || o['x-kubernetes-action'] === 'connect') continue;
          const names = (o['parameters'] as Json[]).filter((p) => p['in'] === 'query').map((p) => p['name']);
          expect(names, `${method} ${url}`).toEqual(expect.arrayContaining(['fieldValidation', 'dryRun', 'fieldManager']));
        }
      }
    }
  });

  it('serves the paths kubectl explain searches for a kind', () => {
    const core = obj(v3('api/v1')['paths']);
    expect(obj(obj(core['/api/v1/namespaces/{namespace}/pods/{name}'])['patch'])['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(obj(core['/api/v1/pods'])['get']).toBeDefined();
    expect(obj(core['/api/v1/namespaces/{name}'])['delete']).toBeDefined();
    expect(obj(obj(core['/api/v1/namespaces/{namespace}/pods/{name}/binding'])['post'])['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Binding' });
    const apps = obj(v3('apis/apps/v1')['paths']);
    expect(obj(obj(apps['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'])['put'])['x-kubernetes-group-version-kind']).toEqual({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    const authz = obj(v3('apis/authorization.k8s.io/v1')['paths']);
    expect(Object.keys(obj(authz['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews']))).toEqual(['post']);
  });
});

describe('openapi v2', () => {
  it('has definitions for the catalogue with GVKs, patch metadata and #/definitions references', () => {
    const doc = obj(openapiV2());
    expect(doc['swagger']).toBe('2.0');
    const defs = obj(doc['definitions']);
    expect(obj(defs['io.k8s.api.apps.v1.Deployment'])['x-kubernetes-group-version-kind']).toEqual([{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    const spec = obj(obj(obj(defs['io.k8s.api.apps.v1.DeploymentSpec'])['properties'])['strategy']);
    expect(spec).toMatchObject({ $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy', 'x-kubernetes-patch-strategy': 'retainKeys' });
    const port = obj(obj(obj(defs['io.k8s.api.core.v1.ServicePort'])['properties'])['targetPort']);
    expect(port).toMatchObject({ type: 'string', format: 'int-or-string' });
    const patch = obj(obj(obj(doc['paths'])['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'])['patch']);
    expect((patch['parameters'] as Json[]).map((p) => p['name'])).toEqual(expect.arrayContaining(['fieldValidation', 'dryRun', 'body']));
    expect(openapiV2()).toBe(openapiV2());
  });
});
