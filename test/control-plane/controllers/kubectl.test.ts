/**
 * The real kubectl (1.32) against the real registry (production schema and validation) with the
 * controller-manager running over gRPC and a stand-in node agent that marks pods Running and
 * Ready: rollout status, set image, rollout undo and history, delete with each cascade mode
 * (kubectl waits for the object to go), and namespace deletion. Every kubectl run is bounded.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiV2, openapiV3, openapiV3Index } from '../../../src/control-plane/api/openapi.js';
import { RESOURCES } from '../../../src/control-plane/api/resources.js';
import { GrpcFace, serveGrpc } from '../../../src/control-plane/apiserver/grpc/server.js';
import { bootstrapCluster } from '../../../src/control-plane/apiserver/registry/bootstrap.js';
import { ApiRegistry } from '../../../src/control-plane/apiserver/registry/registry.js';
import { createRestServer, type RestServer } from '../../../src/control-plane/apiserver/rest/index.js';
import { productionSchema } from '../../../src/control-plane/apiserver/schema-functions.js';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import { Informer } from '../../../src/control-plane/client/informer.js';
import type { ControllerManagerHandle } from '../../../src/control-plane/controllers/manager.js';
import { runControllerManager } from '../../../src/control-plane/controllers/manager.js';
import type { Pod } from '../../../src/control-plane/controllers/objects.js';
import { isPodReady, PODS } from '../../../src/control-plane/controllers/objects.js';
import { memoryStorage } from '../registry/memory-storage.js';
import { ADMIN, TOKEN, kubectl, selfSignedCert, writeKubeconfig, type Kubeconfig } from '../rest/harness.js';

let rest: RestServer;
let grpcServer: { forceShutdown(): void };
let client: ApiClient;
let cm: ControllerManagerHandle;
let pods: Informer<Pod>;
let kc: Kubeconfig;

beforeAll(async () => {
  const registry = new ApiRegistry({
    storage: memoryStorage(),
    schema: productionSchema(),
    authorizer: { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'Reviews are not served in this test' }) },
    resources: RESOURCES,
    clock: { now: () => new Date() },
  });
  expect((await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] })).ok).toBe(true);
  rest = createRestServer({
    registry,
    authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : null),
    openapi: { v2: openapiV2, v3Index: openapiV3Index, v3: openapiV3 },
    tls: selfSignedCert(),
    log: pino({ level: 'silent' }),
  });
  const { port } = await rest.listen(0, '127.0.0.1');
  kc = writeKubeconfig(`https://127.0.0.1:${port}`);
  const face = new GrpcFace({ registry, authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : h === undefined ? 'anonymous' : 'invalid') });
  const g = await serveGrpc(face, { host: '127.0.0.1', port: 0 });
  grpcServer = g.server;
  client = new ApiClient({ endpoints: [`127.0.0.1:${g.port}`], token: TOKEN });
  pods = new Informer<Pod>({ client, resource: PODS });
  const markReady = (p: Pod): void => {
    if (p.metadata.deletionTimestamp !== undefined || isPodReady(p)) return;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    void client.updateStatus<Pod>(PODS, { ...p, status: { ...p.status, phase: 'Running', podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } });
  };
  pods.addEventHandler({ onAdd: markReady, onUpdate: (_o, p) => markReady(p) });
  pods.start();
  cm = runControllerManager({ client, master: 'm1', election: false });
}, 60_000);

afterAll(async () => {
  await cm.stop();
  pods.stop();
  client.close();
  grpcServer.forceShutdown();
  await rest.close();
  kc.remove();
});

async function ok(args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const r = await kubectl(kc, args, { timeoutMs });
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return r.stdout.trim();
}

describe('kubectl with the controller-manager', () => {
  it('creates a Deployment and rollout status reports it rolled out', async () => {
    await ok(['create', 'deployment', 'web', '--image=busybox:1', '--replicas=3']);
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=25s'])).toContain('deployment "web" successfully rolled out');
    expect(await ok(['get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}/{.status.updatedReplicas}/{.status.availableReplicas}'])).toBe('3/3/3');
    // What the controllers did shows in describe and get events.
    expect(await ok(['describe', 'deployment', 'web'])).toMatch(/ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set web-\w+ from 0 to 3/);
    expect(await ok(['get', 'events', '--field-selector', 'reason=SuccessfulCreate', '-o', 'name'])).toMatch(/^event\/web-\w+\.\w+$/m);
  });

  it('rolls a new image, then rollout undo brings the old template back under revision 3', async () => {
    await ok(['set', 'image', 'deployment/web', 'busybox=busybox:2']);
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=25s'])).toContain('successfully rolled out');
    expect(await ok(['rollout', 'undo', 'deployment/web'])).toContain('rolled back');
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=25s'])).toContain('successfully rolled out');
    expect(await ok(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}'])).toBe('busybox:1 3');
    const history = await ok(['rollout', 'history', 'deployment/web']);
    expect(history).toMatch(/^2\s/m);
    expect(history).toMatch(/^3\s/m);
    expect(await ok(['get', 'rs', '-l', 'app=web', '-o', 'name'])).toMatch(/^replicaset\.apps\/web-\w+\nreplicaset\.apps\/web-\w+$/);
  });

  it('delete --cascade=foreground waits until the ReplicaSets and pods are gone', async () => {
    await ok(['delete', 'deployment', 'web', '--cascade=foreground', '--timeout=25s']);
    expect(await ok(['get', 'rs,pods', '-l', 'app=web', '-o', 'name'])).toBe('');
  });

  it('delete --cascade=orphan leaves the ReplicaSet and its pods; background then collects them', async () => {
    await ok(['create', 'deployment', 'orph', '--image=busybox:1', '--replicas=2']);
    await ok(['rollout', 'status', 'deployment/orph', '--timeout=25s']);
    await ok(['delete', 'deployment', 'orph', '--cascade=orphan', '--timeout=25s']);
    const rs = await ok(['get', 'rs', '-l', 'app=orph', '-o', 'jsonpath={.items[0].metadata.name} {.items[0].metadata.ownerReferences}']);
    // The output is trimmed: an empty ownerReferences leaves only the name.
    expect(rs).toMatch(/^orph-\w+$/);
    await ok(['delete', 'rs', rs, '--cascade=background', '--timeout=25s']);
    for (let i = 0; i < 100 && (await ok(['get', 'pods', '-l', 'app=orph', '-o', 'name'])) !== ''; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await ok(['get', 'pods', '-l', 'app=orph', '-o', 'name'])).toBe('');
  });

  it('delete namespace completes once the namespace is emptied', async () => {
    await ok(['create', 'namespace', 'team']);
    await ok(['-n', 'team', 'create', 'deployment', 'app', '--image=busybox:1', '--replicas=2']);
    await ok(['-n', 'team', 'rollout', 'status', 'deployment/app', '--timeout=25s']);
    await ok(['delete', 'namespace', 'team', '--timeout=25s']);
    const r = await kubectl(kc, ['get', 'namespace', 'team']);
    expect(r.stderr).toContain('not found');
  });
});
