/**
 * The REST face over the real registry (in-memory storage, production schema functions and
 * OpenAPI, allow-all authorizer) driven by the real kubectl: the commands of the apiserver
 * issue that go through more than the fake registry can answer — typed-client creates, scale,
 * apply twice (a strategic merge patch computed from the OpenAPI), replace with a stale
 * resourceVersion, edit, patch, watch and namespace termination.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiV2, openapiV3, openapiV3Index } from '../../../src/control-plane/api/openapi.js';
import { RESOURCES } from '../../../src/control-plane/api/resources.js';
import { bootstrapCluster } from '../../../src/control-plane/apiserver/registry/bootstrap.js';
import { ApiRegistry } from '../../../src/control-plane/apiserver/registry/registry.js';
import { createRestServer, type RestServer } from '../../../src/control-plane/apiserver/rest/index.js';
import { productionSchema } from '../../../src/control-plane/apiserver/schema-functions.js';
import { memoryStorage } from '../registry/memory-storage.js';
import { ADMIN, TOKEN, kubectl, pollUntil, selfSignedCert, startKubectl, writeKubeconfig, type Kubeconfig } from './harness.js';

let server: RestServer;
let kc: Kubeconfig;

beforeAll(async () => {
  const registry = new ApiRegistry({
    storage: memoryStorage(),
    schema: productionSchema(),
    authorizer: { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'Reviews are not served in this test' }) },
    resources: RESOURCES,
    clock: { now: () => new Date() },
  });
  const boot = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
  expect(boot.ok).toBe(true);
  server = createRestServer({
    registry,
    authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : null),
    openapi: { v2: openapiV2, v3Index: openapiV3Index, v3: openapiV3 },
    tls: selfSignedCert(),
    log: pino({ level: 'silent' }),
  });
  const { port } = await server.listen(0, '127.0.0.1');
  kc = writeKubeconfig(`https://127.0.0.1:${port}`);
});

afterAll(async () => {
  await server.close();
  kc.remove();
});

function file(name: string, text: string): string {
  const path = join(kc.dir, name);
  writeFileSync(path, text);
  return path;
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await kubectl(kc, args);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return r.stdout.trim();
}

const POD = (image: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\nspec:\n  containers:\n  - name: c\n    image: ${image}\n`;

describe('kubectl against the real registry', () => {
  it('lists the bootstrapped namespaces', async () => {
    const out = await ok(['get', 'ns']);
    expect(out).toMatch(/^default +Active +\S+$/m);
    expect(out).toMatch(/^kube-system +Active +\S+$/m);
  });

  it('creates and scales a deployment', async () => {
    expect(await ok(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2'])).toBe('deployment.apps/web created');
    expect(await ok(['scale', 'deployment', 'web', '--replicas=4'])).toBe('deployment.apps/web scaled');
    expect(await ok(['get', 'deploy', 'web'])).toMatch(/^web +0\/4 +0 +0 +\S+$/m);
    const scale = await ok(['get', 'deploy', 'web', '--subresource=scale']);
    expect(scale.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'DESIRED', 'AVAILABLE', 'AGE']);
    expect(scale).toMatch(/^web +4 +0 +\S+$/m);
    expect(await ok(['get', 'deploy', 'web', '--subresource=status'])).toMatch(/^web +0\/4 +0 +0 +\S+$/m);
  });

  it('applies twice, replaces with a stale resourceVersion, edits and patches', async () => {
    expect(await ok(['apply', '-f', file('pod.yaml', POD('busybox'))])).toBe('pod/p1 created');
    expect(await ok(['apply', '-f', file('pod2.yaml', POD('busybox:1.36'))])).toBe('pod/p1 configured');
    const stale = file('stale.yaml', await ok(['get', 'pod', 'p1', '-o', 'yaml']));
    expect(await ok(['label', 'pod', 'p1', 'tier=web'])).toBe('pod/p1 labeled');
    const replaced = await kubectl(kc, ['replace', '-f', stale]);
    expect(replaced.code).toBe(1);
    expect(replaced.stderr).toContain('Error from server (Conflict)');
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/busybox:1.36/busybox:edited/" "$1"\n');
    const edited = await kubectl(kc, ['edit', 'pod', 'p1'], { env: { KUBE_EDITOR: `sh ${editor}` } });
    expect(edited.stdout.trim()).toBe('pod/p1 edited');
    expect(await ok(['patch', 'pod', 'p1', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}'])).toBe('pod/p1 patched');
    expect(await ok(['patch', 'pod', 'p1', '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/j","value":"2"}]'])).toBe('pod/p1 patched');
    expect(await ok(['get', 'pod', 'p1', '-o', 'jsonpath={.spec.containers[0].image} {.metadata.labels}'])).toBe('busybox:edited {"j":"2","m":"1","tier":"web"}');
  });

  it('watches pods and prints a row per change', async () => {
    const run = startKubectl(kc, ['get', 'pods', '-w']);
    expect(await pollUntil(() => /^p1 /m.test(run.output()), 15_000)).toBe(true);
    const before = run.output().split('\n').length;
    await ok(['annotate', 'pod', 'p1', 'seen=yes']);
    expect(await pollUntil(() => run.output().split('\n').length > before, 15_000)).toBe(true);
    run.kill();
    await run.done;
  });

  it('deletes a namespace into Terminating', async () => {
    expect(await ok(['create', 'namespace', 'team'])).toBe('namespace/team created');
    expect(await ok(['delete', 'namespace', 'team', '--wait=false'])).toBe('namespace "team" deleted');
    expect(await ok(['get', 'ns', 'team'])).toMatch(/^team +Terminating +\S+$/m);
  });
});
