/**
 * server: one apiserver process — the etcd-backed storage with its watch caches, the RBAC
 * mirror and authorizer, the registry with the cluster's built-in objects, and the two faces:
 * the Kubernetes REST API (HTTPS for kubectl) and the gRPC API (for the control plane's own
 * components). `raftkube apiserver` runs this; `raftkube up` runs one per master.
 */
import type { Logger } from 'pino';
import { groupVersions, RESOURCES } from '../api/resources.js';
import { openapiV2, openapiV3, openapiV3Index } from '../api/openapi.js';
import { bootstrapObjects } from '../auth/bootstrap.js';
import { impersonate } from '../auth/impersonation.js';
import { nodeRestriction } from '../auth/node-restriction.js';
import { ANONYMOUS_USER, type AuthenticationResult } from '../auth/tokens.js';
import { ApiAuthorizer, RbacMirror, type NodeRestriction, type Reviews } from './authz.js';
import { EtcdStorage } from './etcd-storage.js';
import { podLogsProxy } from './pod-logs.js';
import { podExecProxy } from './pod-exec.js';
import { GrpcFace, serveGrpc } from './grpc/server.js';
import { bootstrapCluster } from './registry/bootstrap.js';
import { ClusterIPRepair, REPAIR_INTERVAL_MS, startRepairLoop } from './registry/service-ip-repair.js';
import { ApiServerMetrics } from '../metrics.js';
import { ApiRegistry } from './registry/registry.js';
import { createRestServer, type RestServer } from './rest/index.js';
import { productionSchema } from './schema-functions.js';
import type { UserInfo } from './registry-api.js';
import type { EtcdTls } from '../../kv/client/etcd-client.js';

/** ApiServerConfig is one apiserver's configuration (kube-apiserver's flags, where they exist). */
export interface ApiServerConfig {
  /** name is the master this apiserver belongs to (in logs and /version's platform note). */
  readonly name: string;
  readonly etcdServers: readonly string[];
  /** etcdTls is how to reach https:// etcd servers (the CA and this apiserver's client certificate). */
  readonly etcdTls?: EtcdTls;
  readonly bindAddress: string;
  /** securePort is the REST port (HTTPS with tls, else plain HTTP). */
  readonly securePort: number;
  readonly grpcPort: number;
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** authenticator maps a request's Authorization header to a user (e.g. a token file's). */
  readonly authenticator: { authenticate(authorizationHeader: string | undefined): AuthenticationResult };
  readonly serviceCIDR?: string;
  /** advertiseAddress and the secure port go into the `kubernetes` Endpoints. */
  readonly advertiseAddress: string;
  /** nodeRestriction overrides the node restriction (default: Kubernetes' NodeRestriction rules). */
  readonly nodeRestriction?: NodeRestriction;
  readonly reviews?: Reviews;
  /** kubeletClientToken lets the apiserver fetch containers' logs from node agents (kubectl logs). */
  readonly kubeletClientToken?: string;
  /** etcdWaitMs bounds how long start-up waits for the etcd layer (default 60 s). */
  readonly etcdWaitMs?: number;
  readonly log: Logger;
}

/** RunningApiServer is a started apiserver. */
export interface RunningApiServer {
  readonly restPort: number;
  readonly grpcPort: number;
  readonly registry: ApiRegistry;
  stop(): Promise<void>;
}

/** ApiServerStartError is a failure to start, with what to do about it. */
export class ApiServerStartError extends Error {
  override readonly name = 'ApiServerStartError';
}

async function startStorage(cfg: ApiServerConfig): Promise<EtcdStorage> {
  const deadline = Date.now() + (cfg.etcdWaitMs ?? 60_000);
  let delay = 200;
  for (;;) {
    const storage = new EtcdStorage(cfg.etcdServers, RESOURCES, cfg.etcdTls === undefined ? {} : { tls: cfg.etcdTls });
    const r = await storage.start();
    if (r.ok) return storage;
    storage.stop();
    if (Date.now() > deadline) throw new ApiServerStartError(`Cannot reach the etcd layer at ${cfg.etcdServers.join(', ')}: ${r.error.message}; start it (raftkube kv) or fix --etcd-servers`);
    cfg.log.warn({ err: r.error.message }, 'etcd layer not ready; retrying');
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 2_000);
  }
}

/** startApiServer starts storage, bootstraps the cluster's objects and serves both faces. */
export async function startApiServer(cfg: ApiServerConfig): Promise<RunningApiServer> {
  const log = cfg.log;
  const storage = await startStorage(cfg);
  const mirror = new RbacMirror();
  mirror.start(storage, RESOURCES);
  const authorizer = new ApiAuthorizer(mirror, {
    nodeRestriction: cfg.nodeRestriction ?? nodeRestriction,
    ...(cfg.reviews === undefined ? {} : { reviews: cfg.reviews }),
  });
  const registry = new ApiRegistry({ storage, schema: productionSchema(), authorizer, resources: RESOURCES, ...(cfg.serviceCIDR === undefined ? {} : { serviceCIDR: cfg.serviceCIDR }) });
  const boot = await bootstrapCluster(registry, { rbacPolicy: bootstrapObjects(), apiserverEndpoints: [{ ip: cfg.advertiseAddress, port: cfg.securePort }] });
  if (!boot.ok) {
    storage.stop();
    throw new ApiServerStartError(`Could not create the cluster's built-in objects: ${boot.error.message}`);
  }
  const authn = cfg.authenticator;
  const whoIs = (header: string | undefined): UserInfo | 'anonymous' | 'invalid' => {
    const a = authn.authenticate(header);
    return a.kind === 'user' ? a.user : a.kind;
  };
  const metrics = new ApiServerMetrics();
  const rest: RestServer = createRestServer({
    registry,
    onRequest: (r) => metrics.observe(r),
    metrics: () => metrics.text(),
    authenticate: (header) => {
      const w = whoIs(header);
      return w === 'invalid' ? null : w === 'anonymous' ? ANONYMOUS_USER : w;
    },
    authorizeNonResource: (user, verb, path) => authorizer.authorizeNonResource(user, verb, path),
    impersonate: (user, headers) => impersonate(authorizer.rbac, user, headers),
    ...(cfg.kubeletClientToken === undefined ? {} : { podLogs: podLogsProxy({ registry, authorizer, token: cfg.kubeletClientToken }), podExec: podExecProxy({ registry, authorizer, token: cfg.kubeletClientToken }) }),
    openapi: { v2: openapiV2, v3Index: openapiV3Index, v3: openapiV3 },
    readiness: async () => {
      const rev = await storage.store.currentRevision();
      return [
        { name: 'etcd', ok: rev.ok, ...(rev.ok ? {} : { message: rev.error.message }) },
        { name: 'rbac/bootstrap-roles', ok: mirror.size > 0 },
      ];
    },
    ...(cfg.tls === undefined ? {} : { tls: cfg.tls }),
    log: log.child({ face: 'rest' }),
  });
  let restAddr: { port: number };
  try {
    restAddr = await rest.listen(cfg.securePort, cfg.bindAddress);
  } catch (e: unknown) {
    storage.stop();
    throw new ApiServerStartError(`Cannot listen on ${cfg.bindAddress}:${cfg.securePort}: ${e instanceof Error ? e.message : String(e)}; pick another --secure-port`);
  }
  const face = new GrpcFace({ registry, authenticate: whoIs, anonymous: ANONYMOUS_USER });
  let grpc: Awaited<ReturnType<typeof serveGrpc>>;
  try {
    grpc = await serveGrpc(face, { host: cfg.bindAddress, port: cfg.grpcPort, ...(cfg.tls === undefined ? {} : { tls: cfg.tls }) });
  } catch (e: unknown) {
    await rest.close();
    storage.stop();
    throw new ApiServerStartError(e instanceof Error ? e.message : String(e));
  }
  log.info({ rest: restAddr.port, grpc: grpc.port, groups: groupVersions().length }, 'apiserver serving');
  const stopRepair = startRepairLoop(new ClusterIPRepair(storage.store, registry.core.serviceIPs), REPAIR_INTERVAL_MS, (r) => {
    if (!r.ok) log.warn({ err: r.error.message }, 'ClusterIP repair could not sweep; trying again at the next sweep');
    else if (r.value.released.length > 0 || r.value.restored.length > 0) log.warn({ released: r.value.released, restored: r.value.restored }, 'ClusterIP repair: freed addresses no Service held, took back addresses Services hold (an apiserver stopped between two writes)');
  });
  return {
    restPort: restAddr.port,
    grpcPort: grpc.port,
    registry,
    async stop() {
      stopRepair();
      await rest.close();
      await new Promise<void>((res) => grpc.server.tryShutdown(() => res()));
      mirror.stop();
      storage.stop();
    },
  };
}
