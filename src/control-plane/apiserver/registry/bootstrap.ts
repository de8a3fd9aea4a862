/**
 * bootstrap: the objects every cluster has, created by each apiserver at start-up (idempotently,
 * so several apiservers starting together agree): the default, kube-system, kube-public and
 * kube-node-lease namespaces with their default ServiceAccounts, the built-in RBAC policy, and
 * the `kubernetes` Service in default, whose ClusterIP is the first of the service range.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { apiVersionOf, err, ok } from '../../api/types.js';
import type { ApiError, RequestContext } from '../registry-api.js';
import { ensureDefaultServiceAccount } from './writes.js';
import type { ApiRegistry } from './registry.js';
import { ClusterIPRepair } from './service-ip-repair.js';

/** SYSTEM_NAMESPACES are the namespaces every cluster starts with. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** APISERVER_USER is who bootstrap writes as: a member of system:masters. */
export const APISERVER_CONTEXT: RequestContext = { user: { username: 'system:apiserver', uid: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] } };

function resourceFor(registry: ApiRegistry, obj: KubeObject): ResourceInfo | undefined {
  return registry.resources().find((r) => apiVersionOf(r) === obj.apiVersion && r.kind === obj.kind);
}

/** ensureObject creates an object unless it exists (then it is left as it is). */
export async function ensureObject(registry: ApiRegistry, obj: KubeObject): Promise<Result<void, ApiError>> {
  const res = resourceFor(registry, obj);
  if (res === undefined) return err({ code: 500, reason: 'InternalError', message: `Bootstrap object ${obj.apiVersion} ${obj.kind} is not a served kind` });
  const r = await registry.create(APISERVER_CONTEXT, res, obj.metadata.namespace, obj, { fieldValidation: 'Strict' });
  if (r.ok || r.error.reason === 'AlreadyExists') return ok(undefined);
  // Several apiservers bootstrap at once: another may have made it (and taken its ClusterIP)
  // between our check and our write. Only an object that is still missing is a failure.
  const now = await registry.get(APISERVER_CONTEXT, res, obj.metadata.namespace, obj.metadata.name ?? '');
  return now.ok ? ok(undefined) : err(r.error);
}

/** BootstrapOptions say what the cluster's built-in objects look like. */
export interface BootstrapOptions {
  /** rbacPolicy is the built-in ClusterRoles and ClusterRoleBindings. */
  readonly rbacPolicy: readonly KubeObject[];
  /** apiserverAddresses are the apiservers' IP and port, for the `kubernetes` Endpoints. */
  readonly apiserverEndpoints: readonly { readonly ip: string; readonly port: number }[];
  /**
   * wait pauses between looks for the `kubernetes` Service another apiserver is creating (its
   * ClusterIP already taken, the Service not yet written); a timer unless a test gives one.
   */
  readonly wait?: (ms: number) => Promise<void>;
}

/**
 * SERVICE_WAITS_MS are the pauses, about 9.5 s in all, before bootstrap takes the `kubernetes`
 * Service's ClusterIP to be leaked rather than about to be used by another apiserver.
 */
export const SERVICE_WAITS_MS: readonly number[] = [50, 100, 200, 400, 800, 1600, 3200, 3200];

function timer(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * ensureKubernetesService creates the `kubernetes` Service. Apiservers starting together race for
 * it: one takes the first address of the range and then writes the Service, and another that
 * tries in between finds the address taken (Invalid) and the Service still missing. That one
 * waits for the write instead of failing its start-up. If no Service holds the address after
 * the waits and its allocation has not changed, an apiserver stopped between its two writes:
 * the repair frees the address (see service-ip-repair.ts) and the create is tried once more.
 */
async function ensureKubernetesService(registry: ApiRegistry, make: () => KubeObject, wait: (ms: number) => Promise<void>): Promise<Result<void, ApiError>> {
  let r = await ensureObject(registry, make());
  if (r.ok || r.error.reason !== 'Invalid') return r;
  const repair = new ClusterIPRepair(registry.core.storage.store, registry.core.serviceIPs);
  const first = await repair.sweep();
  for (const ms of SERVICE_WAITS_MS) {
    await wait(ms);
    r = await ensureObject(registry, make());
    if (r.ok || r.error.reason !== 'Invalid') return r;
  }
  const ip = registry.core.serviceIPs.firstAddress;
  const second = first.ok ? await repair.sweep() : first;
  if (second.ok && second.value.released.includes(ip)) {
    r = await ensureObject(registry, make());
    if (r.ok || r.error.reason !== 'Invalid') return r;
  }
  const held = second.ok ? await registry.core.serviceIPs.allocations() : second;
  const holder = held.ok ? held.value.items.find((a) => a.ip === ip) : undefined;
  const why = !held.ok ? `the repair could not read the allocations: ${held.error.message}` : holder === undefined ? 'it is free now; try again' : `it stays allocated, to ${holder.service || 'an unnamed Service'}, at revision ${holder.revision}`;
  return err({ ...r.error, message: `${r.error.message}; no \`kubernetes\` Service took that address within ${SERVICE_WAITS_MS.reduce((a, b) => a + b, 0) / 1000} s, and it was not freed (${why})` });
}

/** bootstrapCluster creates the built-in objects; the first failure is returned. */
export async function bootstrapCluster(registry: ApiRegistry, o: BootstrapOptions): Promise<Result<void, ApiError>> {
  for (const name of SYSTEM_NAMESPACES) {
    const r = await ensureObject(registry, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (!r.ok) return r;
    // A namespace made by an apiserver that died before its ServiceAccount gets one now.
    await ensureDefaultServiceAccount(registry.core, name);
  }
  for (const obj of o.rbacPolicy) {
    const r = await ensureObject(registry, obj);
    if (!r.ok) return r;
  }
  // NB: a fresh object per attempt; a create stamps and defaults the one it is given.
  const svc = await ensureKubernetesService(
    registry,
    () => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: registry.core.serviceIPs.firstAddress, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.apiserverEndpoints[0]?.port ?? 6443 }], sessionAffinity: 'None', type: 'ClusterIP' },
    }),
    o.wait ?? timer,
  );
  if (!svc.ok) return svc;
  if (o.apiserverEndpoints.length > 0) {
    const byPort = new Map<number, string[]>();
    for (const e of o.apiserverEndpoints) byPort.set(e.port, [...(byPort.get(e.port) ?? []), e.ip]);
    const endpoints = registry.resources().find((r) => r.group === '' && r.plural === 'endpoints');
    if (endpoints !== undefined) {
      // Every apiserver writes the same set, so the last writer's view is the cluster's.
      await registry.update(APISERVER_CONTEXT, endpoints, 'default', 'kubernetes', {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'kubernetes', namespace: 'default' },
        subsets: [...byPort.entries()].map(([port, ips]) => ({ addresses: [...new Set(ips)].map((ip) => ({ ip })), ports: [{ name: 'https', port, protocol: 'TCP' }] })),
      }, {});
    }
  }
  return ok(undefined);
}
