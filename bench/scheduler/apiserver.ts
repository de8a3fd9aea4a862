/**
 * apiserver: the benchmark's in-process apiserver — the registry over in-memory storage (no
 * etcd) served over loopback gRPC. Imported, `startApiserver` runs it in the caller's process;
 * run as a script, it runs it in its own process, prints `READY host:port` and serves until its
 * stdin closes, so the scheduler under test gets its own process as it has in a cluster.
 */
import { RESOURCES } from '../../src/control-plane/api/resources.js';
import { GrpcFace, serveGrpc } from '../../src/control-plane/apiserver/grpc/server.js';
import { bootstrapCluster } from '../../src/control-plane/apiserver/registry/bootstrap.js';
import type { Authorizer } from '../../src/control-plane/apiserver/registry/ports.js';
import { ApiRegistry } from '../../src/control-plane/apiserver/registry/registry.js';
import type { UserInfo } from '../../src/control-plane/apiserver/registry-api.js';
import { productionSchema } from '../../src/control-plane/apiserver/schema-functions.js';
import { memoryStorage } from '../../test/control-plane/registry/memory-storage.js';

/** BENCH_TOKEN is the bearer token the benchmark's apiserver accepts (as admin). */
export const BENCH_TOKEN = 'bench-scheduler-token';

const ADMIN: UserInfo = { username: 'admin', uid: 'admin', groups: ['system:masters'] };
const allowAll: Authorizer = { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'not in the benchmark' }) };

/** startApiserver bootstraps a registry over in-memory storage and serves it over gRPC on 127.0.0.1. */
export async function startApiserver(): Promise<{ readonly endpoint: string; close(): void }> {
  const registry = new ApiRegistry({ storage: memoryStorage(), schema: productionSchema(), authorizer: allowAll, resources: RESOURCES, clock: { now: () => new Date() } });
  const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
  if (!b.ok) throw new Error(`Bootstrapping the in-process registry failed: ${b.error.message}`);
  const face = new GrpcFace({ registry, authenticate: (h) => (h === `Bearer ${BENCH_TOKEN}` ? ADMIN : 'invalid') });
  const s = await serveGrpc(face, { host: '127.0.0.1', port: 0 });
  return { endpoint: `127.0.0.1:${s.port}`, close: () => s.server.forceShutdown() };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  startApiserver().then(
    (api) => {
      process.stdout.write(`READY ${api.endpoint}\n`);
      process.stdin.resume();
      process.stdin.on('close', () => {
        api.close();
        process.exit(0);
      });
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
