/**
 * The real kubectl (1.32) against the REST face over the fake registry, over HTTPS: kubectl
 * sends the kubeconfig's credentials only over TLS. Every kubectl run is bounded and killed on
 * timeout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_RESOURCES } from './fake-registry.js';
import { fakeOpenApi } from './fake-openapi.js';
import { kubectl, pollUntil, selfSignedCert, startKubectl, startRig, writeKubeconfig, type Kubeconfig, type Rig } from './harness.js';

const PODS = FAKE_RESOURCES[0]!;
const CONFIGMAPS = FAKE_RESOURCES[2]!;

let rig: Rig;
let kc: Kubeconfig;

beforeAll(async () => {
  rig = await startRig({
    tls: selfSignedCert(),
    openapi: fakeOpenApi(FAKE_RESOURCES),
    maxBodyBytes: 8192,
    podLogs: async (_ctx, _ns, name, opts) => ({ ok: true, value: [`${name}/${opts.container ?? '?'}: hello\n`, `${name}/${opts.container ?? '?'}: bye\n`] }),
  });
  kc = writeKubeconfig(rig.url);
  rig.registry.seed(PODS, {
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'nginx:1.27' }], nodeName: 'node-a' },
    status: { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: {} } }] },
  });
  rig.registry.seed(PODS, {
    metadata: { name: 'job-1', namespace: 'batch' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
  });
});

afterAll(async () => {
  await rig.close();
  kc.remove();
});

function file(name: string, text: string): string {
  const path = join(kc.dir, name);
  writeFileSync(path, text);
  return path;
}

describe('kubectl reads', () => {
  it('version shows the server version', async () => {
    const r = await kubectl(kc, ['version']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Server Version: v1.32.0-raftkube');
  });

  it('api-resources lists the served resources from discovery', async () => {
    const r = await kubectl(kc, ['api-resources']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(r.stdout).toMatch(/^nodes\s+no\s+v1\s+false\s+Node$/m);
  });

  it('get pods prints the table, -o wide the wide columns, -A the namespace', async () => {
    const r = await kubectl(kc, ['get', 'pods']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(lines[1]!.split(/\s{2,}/).slice(0, 4)).toEqual(['web-1', '1/1', 'Running', '0']);
    const wide = await kubectl(kc, ['get', 'pods', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    expect(wide.stdout).toMatch(/web-1 .* 10\.0\.0\.5 +node-a/);
    const all = await kubectl(kc, ['get', 'po', '-A']);
    expect(all.stdout).toMatch(/^NAMESPACE +NAME +READY/);
    expect(all.stdout).toMatch(/^batch +job-1 +0\/1 +ContainerCreating/m);
  });

  it('get -o json, -o yaml and -o jsonpath print the objects', async () => {
    const j = await kubectl(kc, ['get', 'pods', '-o', 'json']);
    expect(j.code).toBe(0);
    const list = JSON.parse(j.stdout) as { kind: string; items: { metadata: { name: string } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.metadata.name)).toEqual(['web-1']);
    const y = await kubectl(kc, ['get', 'pod', 'web-1', '-o', 'yaml']);
    expect(y.stdout).toMatch(/^kind: Pod$/m);
    expect(y.stdout).toMatch(/^ {2}name: web-1$/m);
    const p = await kubectl(kc, ['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.containers[0].image}']);
    expect(p.stdout).toBe('nginx:1.27');
    const l = await kubectl(kc, ['get', 'pods', '-l', 'app=web', '-o', 'name']);
    expect(l.stdout.trim()).toBe('pod/web-1');
  });
});

describe('kubectl logs', () => {
  it('prints the log the source gives for the pod\'s container', async () => {
    const r = await kubectl(kc, ['logs', 'web-1']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('web-1/c: hello\nweb-1/c: bye\n');
  });
});

describe('kubectl writes', () => {
  it('create -f from JSON and YAML, then delete', async () => {
    const json = file('cm-json.json', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-json' }, data: { a: '1' } }));
    const r1 = await kubectl(kc, ['create', '-f', json]);
    expect(r1.stderr).toBe('');
    expect(r1.stdout.trim()).toBe('configmap/from-json created');
    const yaml = file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  b: "2"\n');
    const r2 = await kubectl(kc, ['create', '-f', yaml]);
    expect(r2.stdout.trim()).toBe('configmap/from-yaml created');
    const got = await rig.registry.get({ user: { username: 'test', uid: '', groups: [] } }, CONFIGMAPS, 'default', 'from-yaml');
    expect(got.ok && got.value['data']).toEqual({ b: '2' });
    const table = await kubectl(kc, ['get', 'cm']);
    expect(table.stdout).toMatch(/^from-json +1 +\S+$/m);
    const del = await kubectl(kc, ['delete', 'configmap', 'from-json']);
    expect(del.stdout.trim()).toBe('configmap "from-json" deleted');
    const again = await kubectl(kc, ['get', 'cm', 'from-json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error from server (NotFound): configmaps "from-json" not found');
  });

  it('label patches the object', async () => {
    const r = await kubectl(kc, ['label', 'pod', 'web-1', 'tier=front']);
    expect(r.stdout.trim()).toBe('pod/web-1 labeled');
    expect(rig.registry.calls.at(-1)).toMatchObject({ verb: 'patch', name: 'web-1' });
  });

  it('get -w prints the table, then a row per event', async () => {
    const run = startKubectl(kc, ['get', 'configmaps', '-w'], { timeoutMs: 20_000 });
    expect(await pollUntil(() => rig.registry.watcherCount === 1, 15_000)).toBe(true);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' }, data: { k: 'v' } };
    const created = await rig.registry.create({ user: { username: 'test', uid: '', groups: [] } }, CONFIGMAPS, 'default', cm, {});
    expect(created.ok).toBe(true);
    expect(await pollUntil(() => /^watched +1 +\S+$/m.test(run.output()), 15_000)).toBe(true);
    run.kill();
    await run.done;
    expect(await pollUntil(() => rig.registry.watcherCount === 0)).toBe(true);
  });
});

describe('kubectl typed clients (protobuf bodies)', () => {
  it('create namespace, configmap, secret and deployment', async () => {
    const runs = [
      [['create', 'namespace', 'team-a'], 'namespace/team-a created'],
      [['create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=level=3'], 'configmap/settings created'],
      [['create', 'secret', 'generic', 'creds', '--from-literal=user=admin'], 'secret/creds created'],
      [['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3', '--port=80'], 'deployment.apps/web created'],
    ] as const;
    for (const [args, out] of runs) {
      const r = await kubectl(kc, args);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.stdout.trim()).toBe(out);
    }
    const cm = JSON.parse((await kubectl(kc, ['get', 'cm', 'settings', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(cm['data']).toEqual({ mode: 'fast', level: '3' });
    const secret = JSON.parse((await kubectl(kc, ['get', 'secret', 'creds', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(secret).toMatchObject({ data: { user: Buffer.from('admin').toString('base64') } });
    const deploy = JSON.parse((await kubectl(kc, ['get', 'deploy', 'web', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(deploy['spec']).toEqual({
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } },
    });
  });

  it('auth can-i sends a SelfSubjectAccessReview', async () => {
    const r = await kubectl(kc, ['auth', 'can-i', 'get', 'pods', '-n', 'default']);
    expect(r.stdout.trim()).toBe('yes');
    const review = rig.registry.calls.filter((c) => c.resource === 'selfsubjectaccessreviews').at(-1);
    expect(review?.body).toMatchObject({ kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } } });
  });
});

describe('kubectl errors', () => {
  it('an unknown resource type', async () => {
    const r = await kubectl(kc, ['get', 'gizmos']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the server doesn\'t have a resource type "gizmos"');
  });

  it('a malformed body sent as is', async () => {
    const bad = file('bad.json', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"');
    const r = await kubectl(kc, ['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The request body is not valid JSON');
  });

  it('a body over the size limit', async () => {
    const big = file('big.json', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(50_000) } }));
    const r = await kubectl(kc, ['create', '-f', big]);
    expect(r.code).toBe(1);
    expect(r.stderr, r.stderr).toContain('Error from server (RequestEntityTooLarge)');
  });

  it('a bad token', async () => {
    const other = writeKubeconfig(rig.url, 'not-the-token');
    try {
      const r = await kubectl(other, ['get', 'pods']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: You must be logged in to the server');
    } finally {
      other.remove();
    }
  });
});
