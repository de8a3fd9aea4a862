/**
 * The REST face over HTTP: routing, discovery, health and version, content negotiation (JSON,
 * YAML, Table), bodies (JSON, YAML, malformed, empty, too large), query parameters as registry
 * options, errors as Status, warnings, and watch streams.
 */
import { request, type IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_RESOURCES } from './fake-registry.js';
import { fakeOpenApi } from './fake-openapi.js';
import { pollUntil, startRig, type Rig } from './harness.js';

const PODS = FAKE_RESOURCES[0]!;
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const AGGREGATED_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

let rig: Rig;

beforeEach(async () => {
  rig = await startRig({ openapi: fakeOpenApi(FAKE_RESOURCES), maxBodyBytes: 2048, readiness: () => [{ name: 'etcd', ok: true }] });
  rig.registry.seed(PODS, {
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'nginx' }], nodeName: 'n1' },
    status: { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: {} } }] },
  });
});

afterEach(async () => {
  await rig.close();
});

async function json(r: Response): Promise<Record<string, unknown>> {
  return (await r.json()) as Record<string, unknown>;
}

describe('discovery', () => {
  it('serves /api as APIVersions with the server address', async () => {
    const r = await rig.fetch('/api');
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body['kind']).toBe('APIVersions');
    expect(body['versions']).toEqual(['v1']);
    expect(body['serverAddressByClientCIDRs']).toEqual([{ clientCIDR: '0.0.0.0/0', serverAddress: rig.url.replace('http://', '') }]);
  });

  it('serves /apis as an APIGroupList with preferred versions, without the core group', async () => {
    const body = await json(await rig.fetch('/apis'));
    expect(body['kind']).toBe('APIGroupList');
    const groups = body['groups'] as { name: string; preferredVersion: unknown }[];
    expect(groups.map((g) => g.name)).toEqual(['apps', 'authorization.k8s.io']);
    expect(groups[0]!.preferredVersion).toEqual({ groupVersion: 'apps/v1', version: 'v1' });
  });

  it('lists resources and subresources of a group-version', async () => {
    const body = await json(await rig.fetch('/apis/apps/v1'));
    expect(body['groupVersion']).toBe('apps/v1');
    const res = body['resources'] as Record<string, unknown>[];
    expect(res.find((r) => r['name'] === 'deployments')).toMatchObject({ singularName: 'deployment', namespaced: true, kind: 'Deployment', shortNames: ['deploy'], categories: ['all'] });
    expect(res.find((r) => r['name'] === 'deployments/scale')).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    const core = (await json(await rig.fetch('/api/v1')))['resources'] as Record<string, unknown>[];
    expect(core.find((r) => r['name'] === 'pods/binding')).toMatchObject({ kind: 'Binding', verbs: ['create'] });
    expect(core.find((r) => r['name'] === 'pods/log')).toMatchObject({ verbs: ['get'] });
    expect(core.find((r) => r['name'] === 'pods/status')).toMatchObject({ kind: 'Pod', verbs: ['get', 'patch', 'update'] });
  });

  it('answers the aggregated form with its content type when asked, plain JSON otherwise', async () => {
    const r = await rig.fetch('/apis', { headers: { accept: AGGREGATED_ACCEPT } });
    expect(r.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const body = await json(r);
    expect(body['kind']).toBe('APIGroupDiscoveryList');
    const apps = (body['items'] as Record<string, unknown>[])[0]!;
    expect(apps['metadata']).toEqual({ name: 'apps' });
    const v1 = (apps['versions'] as Record<string, unknown>[])[0]!;
    expect(v1['freshness']).toBe('Current');
    expect((v1['resources'] as Record<string, unknown>[])[0]).toMatchObject({
      resource: 'deployments', scope: 'Namespaced', singularResource: 'deployment',
      responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    });
    const core = await json(await rig.fetch('/api', { headers: { accept: AGGREGATED_ACCEPT } }));
    expect((core['items'] as Record<string, unknown>[])[0]!['metadata']).toEqual({});
    expect((await rig.fetch('/apis')).headers.get('content-type')).toBe('application/json');
  });
});

describe('non-resource endpoints', () => {
  it('serves /version without credentials, and refuses bad ones', async () => {
    const body = await json(await fetch(`${rig.url}/version`));
    expect(body).toMatchObject({ major: '1', minor: '32', gitVersion: 'v1.32.0-raftkube' });
    expect((await rig.fetch('/version')).status).toBe(200);
    expect((await fetch(`${rig.url}/version`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${rig.url}/healthz`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('answers health checks, verbose with the readiness checks', async () => {
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const r = await fetch(`${rig.url}${path}`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('ok');
    }
    const verbose = await (await fetch(`${rig.url}/readyz?verbose`)).text();
    expect(verbose).toContain('[+]ping ok');
    expect(verbose).toContain('[+]etcd ok');
    expect(verbose).toContain('readyz check passed');
  });

  it('reports a failing readiness check with 500', async () => {
    await rig.close();
    rig = await startRig({ readiness: () => [{ name: 'etcd', ok: false, message: 'no etcd endpoint answers' }] });
    const r = await fetch(`${rig.url}/readyz`);
    expect(r.status).toBe(500);
    expect(await r.text()).toContain('[-]etcd failed: no etcd endpoint answers');
    expect((await fetch(`${rig.url}/livez`)).status).toBe(200);
  });

  it('serves /metrics from the injected source, to authorized users only', async () => {
    expect((await rig.fetch('/metrics')).status).toBe(404);
    await rig.close();
    rig = await startRig({ metrics: () => 'apiserver_up 1\n', authorizeNonResource: (u, _verb, path) => path !== '/metrics' || u.username === 'admin' });
    const r = await rig.fetch('/metrics', { headers: { accept: 'text/plain;version=0.0.4' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await r.text()).toBe('apiserver_up 1\n');
    expect((await fetch(`${rig.url}/metrics`)).status).toBe(401);
  });

  it('serves the injected OpenAPI documents and 404 for unknown ones', async () => {
    expect((await json(await rig.fetch('/openapi/v3')))['paths']).toHaveProperty('apis/apps/v1');
    expect((await json(await rig.fetch('/openapi/v3/api/v1?hash=0')))['openapi']).toBe('3.0.0');
    expect((await rig.fetch('/openapi/v3/apis/nope/v1')).status).toBe(404);
    expect((await rig.fetch('/openapi/v2', { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } })).status).toBe(406);
    expect((await json(await rig.fetch('/openapi/v2')))['swagger']).toBe('2.0');
  });
});

describe('errors', () => {
  it('answers 404 with a NotFound Status for unknown paths, resources and versions', async () => {
    for (const path of ['/api/v2', '/apis/apps/v2/deployments', '/api/v1/nosuch', '/apis/nogroup', '/api/v1/pods/web-1', '/api/v1/namespaces/default/pods/web-1/nosub', '/nothing']) {
      const r = await rig.fetch(path);
      expect(r.status, path).toBe(404);
      expect(await json(r), path).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'the server could not find the requested resource', code: 404 });
    }
  });

  it('answers 405 for a method the path does not serve', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1', { method: 'POST', body: '{}' });
    expect(r.status).toBe(405);
    expect((await json(r))['reason']).toBe('MethodNotAllowed');
    expect((await rig.fetch('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status).toBe(405);
  });

  it('answers 401 without valid credentials and 403 for a forbidden non-resource path', async () => {
    const r = await fetch(`${rig.url}/api/v1/namespaces/default/pods`, { headers: { authorization: 'Bearer wrong' } });
    expect(r.status).toBe(401);
    expect(await json(r)).toMatchObject({ reason: 'Unauthorized', message: 'Unauthorized', code: 401 });
    await rig.close();
    rig = await startRig({ authorizeNonResource: (_u, _verb, path) => path !== '/apis' });
    expect((await rig.fetch('/api')).status).toBe(200);
    const denied = await rig.fetch('/apis');
    expect(denied.status).toBe(403);
    expect((await json(denied))['message']).toContain('cannot get path "/apis"');
  });

  it('renders registry errors as Status with field causes', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"ConfigMap","metadata":{}}' });
    expect(r.status).toBe(422);
    const body = await json(r);
    expect(body).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
    expect((body['details'] as { causes: unknown[] }).causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  });

  it('turns an exception into a 500 Status and keeps serving', async () => {
    rig.registry.throwOn = 'list';
    const r = await rig.fetch('/api/v1/namespaces/default/pods');
    expect(r.status).toBe(500);
    expect((await json(r))['reason']).toBe('InternalError');
    rig.registry.throwOn = undefined;
    expect((await rig.fetch('/api/v1/namespaces/default/pods')).status).toBe(200);
  });

  it('answers a registry exception in watch with 500 and leaves no watch behind', async () => {
    rig.registry.throwOn = 'watch';
    const r = await rig.fetch('/api/v1/namespaces/default/pods?watch=true');
    expect(r.status).toBe(500);
    expect(rig.server.openWatches).toBe(0);
  });

  it('survives a client that leaves in the middle of a body', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${rig.url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json', 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.write('{"metadata":', () => req.destroy());
      req.on('close', () => resolve());
    });
    expect((await rig.fetch('/api/v1/namespaces/default/pods')).status).toBe(200);
    expect(rig.registry.calls.filter((c) => c.verb === 'create')).toHaveLength(0);
  });

  it('answers 406 when no acceptable media type can be produced', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods', { headers: { accept: 'application/vnd.kubernetes.protobuf' } });
    expect(r.status).toBe(406);
    expect((await json(r))['reason']).toBe('NotAcceptable');
    const fallback = await rig.fetch('/api/v1/namespaces/default/pods', { headers: { accept: 'application/vnd.kubernetes.protobuf,application/json' } });
    expect(fallback.status).toBe(200);
  });
});

describe('bodies', () => {
  const cm = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });

  it('creates from JSON (201) and from YAML', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: cm('one') });
    expect(r.status).toBe(201);
    expect((await json(r))['metadata']).toMatchObject({ name: 'one', namespace: 'default' });
    const y = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\ndata:\n  b: "2"\n' });
    expect(y.status).toBe(201);
    expect((await json(y))['data']).toEqual({ b: '2' });
  });

  it('refuses malformed JSON and YAML with 400 saying where', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{\n  "metadata": {\n    "name": "x",,\n  }\n}' });
    expect(r.status).toBe(400);
    const body = await json(r);
    expect(body['reason']).toBe('BadRequest');
    expect(body['message']).toMatch(/^The request body is not valid JSON: .*line 3, column \d+/);
    const y = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'metadata:\n  name: [x\n' });
    expect(y.status).toBe(400);
    expect((await json(y))['message']).toMatch(/^The request body is not valid YAML: .*line \d+, column \d+/);
  });

  it('refuses an empty body, a non-object body and an unknown content type', async () => {
    const empty = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);
    expect((await json(empty))['message']).toContain('The request body is empty');
    const arr = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' });
    expect(arr.status).toBe(400);
    const text = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(text.status).toBe(415);
    expect((await json(text))['reason']).toBe('UnsupportedMediaType');
  });

  it('answers 413 to a body over the limit, and to one far over it closes the connection', async () => {
    const big = JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(5000) } });
    const r = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(r.status).toBe(413);
    expect(await json(r)).toMatchObject({ reason: 'RequestEntityTooLarge', code: 413 });
    expect(r.headers.get('connection')).not.toBe('close');
    const huge = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2048 * 8 + 1) });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('connection')).toBe('close');
    // Chunked, without a Content-Length: the limit is found while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${rig.url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(big.slice(0, 1500));
      req.write(big.slice(1500));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(rig.registry.calls.filter((c) => c.verb === 'create')).toHaveLength(0);
  });
});

describe('verbs and parameters', () => {
  it('passes list parameters to the registry', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&fieldSelector=metadata.name%3Dweb-1&limit=5&continue=abc&resourceVersion=7&resourceVersionMatch=NotOlderThan');
    expect(r.status).toBe(200);
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'list', opts: { namespace: 'default', labelSelector: 'app=web', fieldSelector: 'metadata.name=web-1', limit: 5, continue: 'abc', resourceVersion: '7', resourceVersionMatch: 'NotOlderThan' } });
    expect((await rig.fetch('/api/v1/pods?limit=x')).status).toBe(400);
    expect((await rig.fetch('/api/v1/pods?resourceVersionMatch=Exact')).status).toBe(400);
    await rig.fetch('/api/v1/pods');
    expect(rig.registry.calls.at(-1)).toEqual({ verb: 'list', resource: 'pods', opts: {} });
  });

  it('passes write parameters and maps patch content types', async () => {
    await rig.fetch('/api/v1/namespaces/default/configmaps?dryRun=All&fieldValidation=Strict&fieldManager=me', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"metadata":{"name":"dry"}}' });
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'create', opts: { dryRun: true, fieldValidation: 'Strict', fieldManager: 'me' } });
    expect((await rig.fetch('/api/v1/namespaces/default/configmaps?fieldValidation=Loose', { method: 'POST', body: '{}' })).status).toBe(400);
    const types = {
      'application/json-patch+json': 'json', 'application/merge-patch+json': 'merge', 'application/strategic-merge-patch+json': 'strategic', 'application/apply-patch+yaml': 'apply',
    } as const;
    for (const [contentType, type] of Object.entries(types)) {
      const body = type === 'json' ? '[{"op":"add","path":"/metadata/labels/x","value":"y"}]' : type === 'apply' ? 'metadata:\n  labels:\n    z: w\n' : '{"metadata":{"labels":{"x":"y"}}}';
      const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1?fieldManager=kubectl&force=true', { method: 'PATCH', headers: { 'content-type': contentType }, body });
      expect(r.status, contentType).toBe(200);
      expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'patch', patchType: type, opts: { fieldManager: 'kubectl', force: true } });
    }
    expect((await rig.fetch('/api/v1/namespaces/default/pods/web-1', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(415);
    expect((await rig.fetch('/api/v1/namespaces/default/pods/web-1', { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: 'a: 1' })).status).toBe(400);
  });

  it('updates with PUT and serves the status subresource', async () => {
    const got = await json(await rig.fetch('/api/v1/namespaces/default/pods/web-1'));
    const put = await rig.fetch('/api/v1/namespaces/default/pods/web-1/status', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(got) });
    expect(put.status).toBe(200);
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'update', name: 'web-1', subresource: 'status' });
    const stale = await rig.fetch('/api/v1/namespaces/default/pods/web-1', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(got) });
    expect(stale.status).toBe(409);
    expect((await json(stale))['reason']).toBe('Conflict');
  });

  it('binds a pod with POST on pods/<name>/binding', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1/binding', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"web-1"},"target":{"kind":"Node","name":"n2"}}' });
    expect(r.status).toBe(201);
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'create', subresource: 'binding', name: 'web-1', namespace: 'default' });
  });

  it('creates self-subject access reviews', async () => {
    const r = await rig.fetch('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":{},"spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}' });
    expect(r.status).toBe(201);
    expect((await json(r))['status']).toEqual({ allowed: true });
  });

  it('reads delete options from the query and the body', async () => {
    await rig.fetch('/api/v1/namespaces/default/pods/web-1?gracePeriodSeconds=0&orphanDependents=true&dryRun=All', { method: 'DELETE' });
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'delete', opts: { gracePeriodSeconds: 0, propagationPolicy: 'Orphan', dryRun: true } });
    const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1', {
      method: 'DELETE', headers: { 'content-type': 'application/json' },
      body: '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":30,"propagationPolicy":"Foreground","preconditions":{"uid":"u1","resourceVersion":"9"}}',
    });
    expect(r.status).toBe(200);
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'delete', opts: { gracePeriodSeconds: 30, propagationPolicy: 'Foreground', preconditions: { uid: 'u1', resourceVersion: '9' } } });
    expect((await rig.fetch('/api/v1/namespaces/default/pods/web-1?propagationPolicy=Sideways', { method: 'DELETE' })).status).toBe(400);
  });

  it('deletes a collection with its selectors', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb', { method: 'DELETE' });
    expect(r.status).toBe(200);
    expect(((await json(r))['items'] as unknown[]).length).toBe(1);
    expect(rig.registry.calls.find((c) => c.verb === 'deletecollection')).toMatchObject({ verb: 'deletecollection', opts: { list: { namespace: 'default', labelSelector: 'app=web' } } });
  });

  it('sends registry warnings as Warning headers', async () => {
    rig.registry.warnings = ['spec.x is deprecated; use "spec.y"'];
    const r = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"metadata":{"name":"w"}}' });
    expect(r.headers.get('warning')).toBe('299 - "spec.x is deprecated; use \\"spec.y\\""');
    rig.registry.warnings = ['naïve ✓ text\nsecond line', 'other'];
    const u = await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"metadata":{"name":"w2"}}' });
    expect(u.status).toBe(201);
    expect(u.headers.get('warning')).toBe('299 - "na?ve ? text second line", 299 - "other"');
  });
});

describe('request records', () => {
  it('reports each finished request with its Kubernetes verb', async () => {
    await rig.close();
    const records: { verb: string; resource: string | undefined; subresource: string | undefined; code: number }[] = [];
    rig = await startRig({ onRequest: (r) => records.push({ verb: r.verb, resource: r.resource, subresource: r.subresource, code: r.code }) });
    await rig.fetch('/api/v1/namespaces/default/pods');
    await rig.fetch('/api/v1/namespaces/default/pods/nope');
    await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"metadata":{"name":"r"}}' });
    await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'DELETE' });
    await rig.fetch('/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1').then((r) => r.text());
    await rig.fetch('/apis');
    expect(await pollUntil(() => records.length === 6)).toBe(true);
    expect(records).toEqual([
      { verb: 'LIST', resource: 'pods', subresource: undefined, code: 200 },
      { verb: 'GET', resource: 'pods', subresource: undefined, code: 404 },
      { verb: 'POST', resource: 'configmaps', subresource: undefined, code: 201 },
      { verb: 'DELETECOLLECTION', resource: 'configmaps', subresource: undefined, code: 200 },
      { verb: 'WATCH', resource: 'pods', subresource: undefined, code: 200 },
      { verb: 'GET', resource: undefined, subresource: undefined, code: 200 },
    ]);
  });
});

describe('pod logs', () => {
  it('answers 404 saying so when no log source is given', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1/log');
    expect(r.status).toBe(404);
    expect((await json(r))['message']).toContain('not served by this apiserver');
  });

  it('streams the log from the source with the query as options', async () => {
    await rig.close();
    const seen: unknown[] = [];
    rig = await startRig({
      podLogs: async (_ctx, namespace, name, opts) => {
        seen.push({ namespace, name, opts });
        if (name !== 'web-1') return { ok: false, error: { code: 404, reason: 'NotFound', message: `pods "${name}" not found` } };
        return { ok: true, value: (async function* () { yield 'line 1\n'; yield Buffer.from('line 2\n'); })() };
      },
    });
    const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1/log?container=c&follow=true&tailLines=10&timestamps=1');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain');
    expect(await r.text()).toBe('line 1\nline 2\n');
    expect(seen[0]).toEqual({ namespace: 'default', name: 'web-1', opts: { container: 'c', follow: true, tailLines: 10, timestamps: true } });
    expect((await rig.fetch('/api/v1/namespaces/default/pods/nope/log')).status).toBe(404);
    expect((await rig.fetch('/api/v1/namespaces/default/pods/web-1/log?tailLines=-1')).status).toBe(400);
    expect((await rig.fetch('/api/v1/namespaces/default/pods/web-1/log?sinceTime=2026-11-30T10:00:00Z')).status).toBe(200);
    expect(seen.at(-1)).toEqual({ namespace: 'default', name: 'web-1', opts: { sinceTime: '2026-11-30T10:00:00Z' } });
    const bad = await rig.fetch('/api/v1/namespaces/default/pods/web-1/log?sinceTime=noon');
    expect(bad.status).toBe(400);
    expect((await json(bad))['message']).toContain('RFC 3339');
    const both = await rig.fetch('/api/v1/namespaces/default/pods/web-1/log?sinceTime=2026-11-30T10:00:00Z&sinceSeconds=5');
    expect((await json(both))['message']).toBe('at most one of sinceTime or sinceSeconds may be specified');
  });
});

describe('output', () => {
  it('answers YAML when asked', async () => {
    const r = await rig.fetch('/api/v1/namespaces/default/pods/web-1', { headers: { accept: 'application/yaml' } });
    expect(r.headers.get('content-type')).toBe('application/yaml');
    const text = await r.text();
    expect(text).toMatch(/^kind: Pod$/m);
    expect(text).toMatch(/^ {2}name: web-1$/m);
  });

  it('renders a list as a Table with PartialObjectMetadata rows by default', async () => {
    const body = await json(await rig.fetch('/api/v1/namespaces/default/pods', { headers: { accept: TABLE_ACCEPT } }));
    expect(body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    const cols = body['columnDefinitions'] as { name: string; priority: number }[];
    expect(cols.map((c) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    expect(cols.filter((c) => c.priority === 1).map((c) => c.name)).toEqual(['IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    const rows = body['rows'] as { cells: unknown[]; object: Record<string, unknown> }[];
    expect(rows[0]!.cells.slice(0, 4)).toEqual(['web-1', '1/1', 'Running', '0']);
    expect(rows[0]!.cells.slice(5)).toEqual(['10.0.0.5', 'n1', '<none>', '<none>']);
    expect(rows[0]!.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'web-1' } });
    expect(rows[0]!.object).not.toHaveProperty('spec');
    expect((body['metadata'] as Record<string, unknown>)['resourceVersion']).toBeTypeOf('string');
  });

  it('answers PartialObjectMetadata for an object, a list and watch events when asked', async () => {
    const listAccept = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
    const list = await json(await rig.fetch('/api/v1/namespaces/default/pods', { headers: { accept: listAccept } }));
    expect(list).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: expect.any(String) as unknown } });
    expect((list['items'] as Record<string, unknown>[])[0]).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: expect.objectContaining({ name: 'web-1' }) as unknown });
    const one = await json(await rig.fetch('/api/v1/namespaces/default/pods/web-1', { headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' } }));
    expect(one['kind']).toBe('PartialObjectMetadata');
    expect(one).not.toHaveProperty('spec');
    // The list form is not an object's form: a get that accepts only it cannot be answered.
    expect((await rig.fetch('/api/v1/namespaces/default/pods/web-1', { headers: { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' } })).status).toBe(406);
  });

  it('includes the full object or none as includeObject says', async () => {
    const full = await json(await rig.fetch('/api/v1/namespaces/default/pods/web-1?includeObject=Object', { headers: { accept: TABLE_ACCEPT } }));
    expect((full['rows'] as { object: Record<string, unknown> }[])[0]!.object['spec']).toBeDefined();
    const none = await json(await rig.fetch('/api/v1/namespaces/default/pods?includeObject=None', { headers: { accept: TABLE_ACCEPT } }));
    expect((none['rows'] as Record<string, unknown>[])[0]).not.toHaveProperty('object');
  });
});

describe('watch', () => {
  async function openWatch(path: string, accept = 'application/json'): Promise<{ lines: string[]; done: Promise<void>; abort: () => void; status: number }> {
    const ac = new AbortController();
    const r = await rig.fetch(path, { headers: { accept }, signal: ac.signal });
    const lines: string[] = [];
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const done = (async () => {
      try {
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) return;
          buf += decoder.decode(value, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            lines.push(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        }
      } catch {
        // Aborted by the test.
      }
    })();
    return { lines, done, abort: () => ac.abort(), status: r.status };
  }

  it('streams events as newline-delimited JSON and disposes the watch when the client leaves', async () => {
    const w = await openWatch('/api/v1/namespaces/default/configmaps?watch=true');
    expect(w.status).toBe(200);
    expect(await pollUntil(() => rig.registry.watcherCount === 1)).toBe(true);
    await rig.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"metadata":{"name":"a"}}' });
    expect(await pollUntil(() => w.lines.length >= 1)).toBe(true);
    expect(JSON.parse(w.lines[0]!)).toMatchObject({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'a' } } });
    w.abort();
    expect(await pollUntil(() => rig.registry.disposed === 1 && rig.server.openWatches === 0)).toBe(true);
  });

  it('ends the stream at timeoutSeconds', async () => {
    const w = await openWatch('/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1');
    await w.done;
    expect(rig.registry.disposed).toBe(1);
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'watch', opts: { timeoutSeconds: 1, namespace: 'default' } });
  });

  it('renders each event as a one-row Table when asked', async () => {
    const w = await openWatch('/api/v1/namespaces/default/pods?watch=true&resourceVersion=5', TABLE_ACCEPT);
    expect(await pollUntil(() => rig.registry.watcherCount === 1)).toBe(true);
    await rig.fetch('/api/v1/namespaces/default/pods/web-1', { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"x":"y"}}}' });
    expect(await pollUntil(() => w.lines.length >= 1)).toBe(true);
    const ev = JSON.parse(w.lines[0]!) as { type: string; object: Record<string, unknown> };
    expect(ev.type).toBe('MODIFIED');
    expect(ev.object['kind']).toBe('Table');
    expect((ev.object['columnDefinitions'] as unknown[]).length).toBe(9);
    expect((ev.object['rows'] as { cells: unknown[] }[])[0]!.cells[0]).toBe('web-1');
    w.abort();
  });

  it('answers a refused watch with its Status, and a later failure as an ERROR event', async () => {
    const refused = await rig.fetch('/api/v1/namespaces/default/pods?watch=true&resourceVersion=1');
    expect(refused.status).toBe(410);
    expect((await json(refused))['reason']).toBe('Expired');
    const w = await openWatch('/api/v1/namespaces/default/pods?watch=true&resourceVersion=2');
    await w.done;
    expect(JSON.parse(w.lines[0]!)).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  it('renders watch events as PartialObjectMetadata when asked', async () => {
    const w = await openWatch('/api/v1/namespaces/default/pods?watch=true', 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    expect(await pollUntil(() => rig.registry.watcherCount === 1)).toBe(true);
    await rig.fetch('/api/v1/namespaces/default/pods/web-1', { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"p":"q"}}}' });
    expect(await pollUntil(() => w.lines.length >= 1)).toBe(true);
    const ev = JSON.parse(w.lines[0]!) as { type: string; object: Record<string, unknown> };
    expect(ev).toMatchObject({ type: 'MODIFIED', object: { kind: 'PartialObjectMetadata', metadata: { name: 'web-1', labels: { p: 'q' } } } });
    expect(ev.object).not.toHaveProperty('spec');
    w.abort();
  });

  it('watches one object through its path', async () => {
    const w = await openWatch('/api/v1/namespaces/default/pods/web-1?watch=true');
    expect(await pollUntil(() => rig.registry.watcherCount === 1)).toBe(true);
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'watch', opts: { fieldSelector: 'metadata.name=web-1' } });
    w.abort();
  });

  it('ends the stream of a client that stops reading', async () => {
    await rig.close();
    rig = await startRig({ maxWatchBufferBytes: 256 * 1024 });
    const paused = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${rig.url}/api/v1/namespaces/default/configmaps?watch=true`, { headers: { authorization: 'Bearer test-admin-token' } }, (res) => {
        res.pause();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
    expect(await pollUntil(() => rig.registry.watcherCount === 1)).toBe(true);
    const cms = FAKE_RESOURCES[2]!;
    const big = 'x'.repeat(200_000);
    for (let i = 0; i < 400 && rig.registry.disposed === 0; i++) {
      await rig.registry.create({ user: { username: 'test', uid: '', groups: [] } }, cms, 'default', { metadata: { name: `big-${i}` }, data: { big } }, {});
      await new Promise((r) => setImmediate(r));
    }
    expect(rig.registry.disposed).toBe(1);
    expect(rig.server.openWatches).toBe(0);
    paused.destroy();
  });

  it('ends open watches when the server closes', async () => {
    const w = await openWatch('/api/v1/namespaces/default/pods?watch=true');
    expect(await pollUntil(() => rig.registry.watcherCount === 1)).toBe(true);
    await rig.close();
    await w.done;
    expect(rig.registry.disposed).toBe(1);
    rig = await startRig();
  });
});
