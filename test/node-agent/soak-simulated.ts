/**
 * soak-simulated: the simulated runtime's scale check, run by hand (not a unit test):
 *
 *   npx tsx test/node-agent/soak-simulated.ts [--nodes 1000] [--pods 10000] [--seconds 60]
 *
 * One in-process apiserver (the registry with the production schema over the in-memory storage, served over gRPC on
 * 127.0.0.1) and, in the same process, one `runSimulatedNodes` agent carrying N nodes. It creates
 * the pods bound round-robin to the nodes, waits until every one is Running and Ready, then
 * holds for the given time checking that every node's Lease stays fresh and every node Ready,
 * and prints one JSON line of figures (the process's RSS includes the apiserver's).
 */
import { RESOURCES } from '../../src/control-plane/api/resources.js';
import { GrpcFace, serveGrpc } from '../../src/control-plane/apiserver/grpc/server.js';
import { bootstrapCluster } from '../../src/control-plane/apiserver/registry/bootstrap.js';
import type { Authorizer } from '../../src/control-plane/apiserver/registry/ports.js';
import { ApiRegistry } from '../../src/control-plane/apiserver/registry/registry.js';
import { productionSchema } from '../../src/control-plane/apiserver/schema-functions.js';
import type { LeaseObject } from '../../src/control-plane/client/index.js';
import { ApiClient, LEASES } from '../../src/control-plane/client/index.js';
import type { NodeObject, PodObject } from '../../src/node-agent/index.js';
import { NODES, PODS, runSimulatedNodes, simulatedNodeNames } from '../../src/node-agent/index.js';
import { memoryStorage } from '../control-plane/registry/memory-storage.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? undefined : Number(process.argv[i + 1]);
  return v === undefined || !Number.isFinite(v) ? dflt : v;
}

const NODE_COUNT = arg('nodes', 1000);
const POD_COUNT = arg('pods', 10_000);
const HOLD_SECONDS = arg('seconds', 60);

const allowAll: Authorizer = { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'not here' }) };

async function main(): Promise<void> {
  const registry = new ApiRegistry({ storage: memoryStorage(), schema: productionSchema(), authorizer: allowAll, resources: RESOURCES, clock: { now: () => new Date() } });
  const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
  if (!b.ok) throw new Error('bootstrap failed');
  const face = new GrpcFace({ registry, authenticate: () => ({ username: 'admin', uid: 'admin', groups: ['system:masters'] }) });
  const served = await serveGrpc(face, { host: '127.0.0.1', port: 0 });
  const endpoint = `127.0.0.1:${served.port}`;
  const agentClient = new ApiClient({ endpoints: [endpoint], token: 't' });
  const client = new ApiClient({ endpoints: [endpoint], token: 't' });
  let errors = 0;
  const t0 = performance.now();
  const agent = runSimulatedNodes({ client: agentClient, name: 'sim', count: NODE_COUNT, startDelayMs: 200, resources: { cpu: '8', memory: '32Gi', pods: 110 }, onError: () => errors++ });
  const reg = await agent.registered;
  const registeredMs = performance.now() - t0;
  if (reg.some((r) => r === null)) throw new Error('some nodes did not register');
  await agent.informer.waitForSync();

  const names = simulatedNodeNames('sim', NODE_COUNT);
  const t1 = performance.now();
  let next = 0;
  let slowCreates = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= POD_COUNT) return;
        for (let attempt = 0; ; attempt++) {
          const r = await client.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'default' }, spec: { nodeName: names[i % NODE_COUNT] ?? '', containers: [{ name: 'app', image: 'nginx' }] } });
          // A create cut off by the deadline may have happened: 409 then means it did.
          if (r.ok || (attempt > 0 && r.error.code === 409)) break;
          if ((r.error.code !== 503 && r.error.code !== 504) || attempt > 5) throw new Error(r.error.message);
          slowCreates++;
        }
      }
    }),
  );
  const createdMs = performance.now() - t1;
  process.stderr.write(`registered ${NODE_COUNT} nodes in ${(registeredMs / 1000).toFixed(1)} s; created ${POD_COUNT} pods in ${(createdMs / 1000).toFixed(1)} s\n`);
  let ready = 0;
  const deadline = performance.now() + 600_000;
  while (ready < POD_COUNT) {
    if (performance.now() > deadline) throw new Error(`Only ${ready} of ${POD_COUNT} pods became Ready in 10 minutes`);
    await new Promise((r) => setTimeout(r, 1000));
    const l = await client.list<PodObject>(PODS, { namespace: 'default' });
    if (!l.ok) continue;
    ready = l.value.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    process.stderr.write(`${Math.round((performance.now() - t1) / 1000)} s: ${ready} of ${POD_COUNT} pods Ready\n`);
  }
  const allReadyMs = performance.now() - t1;

  let staleLeases = 0;
  let notReadyNodes = 0;
  const holdEnd = performance.now() + HOLD_SECONDS * 1000;
  while (performance.now() < holdEnd) {
    await new Promise((r) => setTimeout(r, 10_000));
    const leases = await client.list<LeaseObject>(LEASES, { namespace: 'kube-node-lease' });
    const nodes = await client.list<NodeObject>(NODES);
    if (!leases.ok || !nodes.ok) continue;
    const now = Date.now();
    staleLeases = Math.max(staleLeases, leases.value.items.filter((l) => now - Date.parse(l.spec?.renewTime ?? '') > 40_000).length);
    notReadyNodes = Math.max(notReadyNodes, nodes.value.items.filter((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True').length);
  }
  const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
  process.stdout.write(`${JSON.stringify({ nodes: NODE_COUNT, pods: POD_COUNT, registeredSeconds: +(registeredMs / 1000).toFixed(1), createSeconds: +(createdMs / 1000).toFixed(1), allReadySeconds: +(allReadyMs / 1000).toFixed(1), heldSeconds: HOLD_SECONDS, maxStaleLeases: staleLeases, maxNotReadyNodes: notReadyNodes, agentErrors: errors, slowCreates, rssMiB })}\n`);
  await agent.stop();
  agentClient.close();
  client.close();
  served.server.forceShutdown();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`soak failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
