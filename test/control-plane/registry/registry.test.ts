/**
 * The registry's semantics on an in-memory store: metadata, CAS, status and scale
 * subresources, patches, binding, graceful deletion, finalizers, ClusterIPs, namespaces.
 */
import { describe, expect, it } from 'vitest';
import { findResource, RESOURCES } from '../../../src/control-plane/api/resources.js';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import { ApiRegistry } from '../../../src/control-plane/apiserver/registry/registry.js';
import { bootstrapCluster, SERVICE_WAITS_MS } from '../../../src/control-plane/apiserver/registry/bootstrap.js';
import type { Authorizer, SchemaFunctions } from '../../../src/control-plane/apiserver/registry/ports.js';
import type { RequestContext } from '../../../src/control-plane/apiserver/registry-api.js';
import { productionSchema } from '../../../src/control-plane/apiserver/schema-functions.js';
import { memoryStorage } from './memory-storage.js';

const ADMIN: RequestContext = { user: { username: 'admin', uid: 'admin', groups: ['system:masters'] } };
const JANE: RequestContext = { user: { username: 'jane', uid: 'jane', groups: ['system:authenticated'] } };

function res(group: string, plural: string): ResourceInfo {
  const r = findResource(group, 'v1', plural);
  if (r === undefined) throw new Error(`no ${plural}`);
  return r;
}

const PODS = res('', 'pods');
const NAMESPACES = res('', 'namespaces');
const SERVICES = res('', 'services');
const DEPLOYMENTS = res('apps', 'deployments');
const SERVICE_ACCOUNTS = res('', 'serviceaccounts');

// Semantic validation and selectors have their own suites; here they accept everything, so
// that each test sees the registry's own behaviour.
const schema: SchemaFunctions = { ...productionSchema(), validate: () => [] };

// Only jane is refused, and only deletes: enough to see authorization applied.
const authorizer: Authorizer = {
  authorize: (user, attrs) => (user.username === 'jane' && attrs.verb === 'delete' ? { allowed: false, message: `${attrs.resource} "${attrs.name ?? ''}" is forbidden: User "jane" cannot delete resource "${attrs.resource}"` } : { allowed: true }),
  review: () => ({ ok: false, error: 'not in these tests' }),
};

async function setup(): Promise<{ registry: ApiRegistry; storage: ReturnType<typeof memoryStorage> }> {
  const storage = memoryStorage();
  const registry = new ApiRegistry({ storage, schema, authorizer, resources: RESOURCES, clock: { now: () => new Date('2026-11-30T10:00:00Z') } });
  const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
  expect(b).toEqual({ ok: true, value: undefined });
  return { registry, storage };
}

function pod(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '100'] }] }, ...extra };
}

async function created(p: Promise<{ ok: boolean }>): Promise<KubeObject> {
  const r = (await p) as { ok: true; value: { object: KubeObject } } | { ok: false; error: unknown };
  if (!r.ok) throw new Error(`write failed: ${JSON.stringify(r.error)}`);
  return r.value.object;
}

describe('registry', () => {
  it('bootstraps the system namespaces, default service accounts and the kubernetes service', async () => {
    const { registry } = await setup();
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      const r = await registry.get(ADMIN, NAMESPACES, undefined, ns);
      expect(r.ok).toBe(true);
      const sa = await registry.get(ADMIN, SERVICE_ACCOUNTS, ns, 'default');
      expect(sa.ok).toBe(true);
    }
    const svc = await registry.get(ADMIN, SERVICES, 'default', 'kubernetes');
    expect(svc.ok && (svc.value['spec'] as { clusterIP: string }).clusterIP).toBe('127.96.0.1');
  });

  it('waits, on bootstrap, for the kubernetes Service of another apiserver that has taken its ClusterIP but not yet written it', async () => {
    const storage = memoryStorage();
    const make = (): ApiRegistry => new ApiRegistry({ storage, schema, authorizer, resources: RESOURCES, clock: { now: () => new Date('2026-11-30T10:00:00Z') } });
    const mine = make();
    const other = make();
    const ip = other.core.serviceIPs.firstAddress;
    // The other apiserver is between its two writes: the address is taken, the Service missing.
    expect((await other.core.serviceIPs.reserve(ip, { service: 'default/kubernetes', uid: 'other-apiserver' })).ok).toBe(true);
    const waits: number[] = [];
    const b = await bootstrapCluster(mine, {
      rbacPolicy: [],
      apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }],
      wait: async (ms) => {
        waits.push(ms);
        if (waits.length !== 2) return;
        // Its second write lands during our second wait.
        expect(await other.core.serviceIPs.release(ip, 'other-apiserver')).toEqual({ ok: true, value: 'released' });
        await created(other.create(ADMIN, SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes' }, spec: { clusterIP: ip, ports: [{ port: 443 }] } }, {}));
      },
    });
    expect(b).toEqual({ ok: true, value: undefined });
    expect(waits).toEqual(SERVICE_WAITS_MS.slice(0, 2));
    const svc = await mine.get(ADMIN, SERVICES, 'default', 'kubernetes');
    expect(svc.ok && (svc.value['spec'] as { clusterIP: string }).clusterIP).toBe(ip);
  });

  it('frees, on bootstrap, the kubernetes Service\'s ClusterIP that an apiserver stopped between its two writes left taken', async () => {
    const storage = memoryStorage();
    const registry = new ApiRegistry({ storage, schema, authorizer, resources: RESOURCES, clock: { now: () => new Date('2026-11-30T10:00:00Z') } });
    const ip = registry.core.serviceIPs.firstAddress;
    expect((await registry.core.serviceIPs.reserve(ip, { service: 'default/kubernetes', uid: 'killed-apiserver' })).ok).toBe(true);
    const waits: number[] = [];
    const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [], wait: async (ms) => void waits.push(ms) });
    expect(b).toEqual({ ok: true, value: undefined });
    // Every pause was taken first: a slow apiserver gets the whole wait to write its Service.
    expect(waits).toEqual(SERVICE_WAITS_MS);
    const svc = await registry.get(ADMIN, SERVICES, 'default', 'kubernetes');
    expect(svc.ok && (svc.value['spec'] as { clusterIP: string }).clusterIP).toBe(ip);
    const held = await registry.core.serviceIPs.allocations();
    expect(held.ok && held.value.items.filter((a) => a.ip === ip).map((a) => a.uid)).toEqual([svc.ok ? svc.value.metadata.uid : 'missing']);
  });

  it('gives up on bootstrap, saying why, when another Service holds the kubernetes Service\'s ClusterIP', async () => {
    const storage = memoryStorage();
    const registry = new ApiRegistry({ storage, schema, authorizer, resources: RESOURCES, clock: { now: () => new Date('2026-11-30T10:00:00Z') } });
    const ip = registry.core.serviceIPs.firstAddress;
    await created(registry.create(ADMIN, NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, {}));
    await created(registry.create(ADMIN, SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'squatter' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } }, {}));
    const waits: number[] = [];
    const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [], wait: async (ms) => void waits.push(ms) });
    expect(waits).toEqual(SERVICE_WAITS_MS);
    expect(b.ok).toBe(false);
    if (!b.ok) {
      expect(b.error.reason).toBe('Invalid');
      expect(b.error.message).toContain(`failed to allocate IP ${ip}`);
      expect(b.error.message).toMatch(/no `kubernetes` Service took that address within 9.55 s, and it was not freed \(it stays allocated, to default\/squatter, at revision \d+\)$/);
    }
  });

  it('stamps metadata on create and defaults the spec', async () => {
    const { registry } = await setup();
    const p = await created(registry.create(ADMIN, PODS, 'default', pod('web'), {}));
    expect(p.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.metadata.creationTimestamp).toBe('2026-11-30T10:00:00Z');
    expect(p.metadata.namespace).toBe('default');
    expect(Number(p.metadata.resourceVersion)).toBeGreaterThan(0);
    expect((p['spec'] as { restartPolicy: string }).restartPolicy).toBe('Always');
    expect(p['status']).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('generates names, refuses duplicates and writes into missing namespaces', async () => {
    const { registry } = await setup();
    const g = await created(registry.create(ADMIN, PODS, 'default', { ...pod(''), metadata: { generateName: 'web-' } }, {}));
    expect(g.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    await created(registry.create(ADMIN, PODS, 'default', pod('a'), {}));
    const dup = await registry.create(ADMIN, PODS, 'default', pod('a'), {});
    expect(dup.ok ? null : dup.error).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'pods "a" already exists' });
    const missing = await registry.create(ADMIN, PODS, 'nowhere', pod('a'), {});
    expect(missing.ok ? null : missing.error).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
  });

  it('refuses unknown fields under Strict, warns under Warn, and prunes them', async () => {
    const { registry } = await setup();
    const bad = { ...pod('x'), spec: { containers: [{ name: 'c', image: 'busybox', imagee: 'typo' }] } };
    const strict = await registry.create(ADMIN, PODS, 'default', bad, { fieldValidation: 'Strict' });
    expect(strict.ok ? null : strict.error).toMatchObject({ code: 400, message: 'strict decoding error: unknown field "spec.containers[0].imagee"' });
    const warn = await registry.create(ADMIN, PODS, 'default', bad, { fieldValidation: 'Warn' });
    expect(warn.ok && warn.value.warnings).toEqual(['unknown field "spec.containers[0].imagee"']);
    expect(warn.ok && (warn.value.object['spec'] as { containers: Record<string, unknown>[] }).containers[0]!['imagee']).toBe(undefined);
  });

  it('updates with compare-and-swap and keeps status out of main updates', async () => {
    const { registry } = await setup();
    const p = await created(registry.create(ADMIN, PODS, 'default', pod('web'), {}));
    const stale = { ...p, metadata: { ...p.metadata, resourceVersion: '1' } };
    const c = await registry.update(ADMIN, PODS, 'default', 'web', stale, {});
    expect(c.ok ? null : c.error).toMatchObject({ code: 409, reason: 'Conflict' });
    const withStatus = { ...p, metadata: { ...p.metadata, labels: { a: 'b' } }, status: { phase: 'Running' } };
    const u = await created(registry.update(ADMIN, PODS, 'default', 'web', withStatus, {}));
    expect(u.metadata.labels).toEqual({ a: 'b' });
    expect((u['status'] as { phase: string }).phase).toBe('Pending');
    const s = await created(registry.update(ADMIN, PODS, 'default', 'web', { ...u, status: { phase: 'Running' } }, {}, 'status'));
    expect((s['status'] as { phase: string }).phase).toBe('Running');
    expect(s.metadata.uid).toBe(p.metadata.uid);
  });

  it('leaves a no-op update unwritten and bumps generation on spec changes', async () => {
    const { registry, storage } = await setup();
    const d = await created(registry.create(ADMIN, DEPLOYMENTS, 'default', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    }, {}));
    expect(d.metadata.generation).toBe(1);
    const before = storage.store.revision;
    const same = await created(registry.update(ADMIN, DEPLOYMENTS, 'default', 'web', d, {}));
    expect(storage.store.revision).toBe(before);
    expect(same.metadata.resourceVersion).toBe(d.metadata.resourceVersion);
    const scaled = await created(registry.patch(ADMIN, DEPLOYMENTS, 'default', 'web', 'merge', { spec: { replicas: 3 } }, {}));
    expect(scaled.metadata.generation).toBe(2);
    const labelled = await created(registry.patch(ADMIN, DEPLOYMENTS, 'default', 'web', 'strategic', { metadata: { labels: { tier: 'front' } } }, {}));
    expect(labelled.metadata.generation).toBe(2);
  });

  it('reads and writes the scale subresource', async () => {
    const { registry } = await setup();
    await created(registry.create(ADMIN, DEPLOYMENTS, 'default', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    }, {}));
    const sc = await registry.get(ADMIN, DEPLOYMENTS, 'default', 'web', 'scale');
    expect(sc.ok && sc.value).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 2 }, status: { selector: 'app=web' } });
    const up = await registry.patch(ADMIN, DEPLOYMENTS, 'default', 'web', 'merge', { spec: { replicas: 5 } }, {}, 'scale');
    expect(up.ok && up.value.object).toMatchObject({ kind: 'Scale', spec: { replicas: 5 } });
    const d = await registry.get(ADMIN, DEPLOYMENTS, 'default', 'web');
    expect(d.ok && (d.value['spec'] as { replicas: number }).replicas).toBe(5);
  });

  it('binds a pod once', async () => {
    const { registry } = await setup();
    await created(registry.create(ADMIN, PODS, 'default', pod('web'), {}));
    const b = await registry.create(ADMIN, PODS, 'default', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web' }, target: { kind: 'Node', name: 'n1' } }, {}, { subresource: 'binding', name: 'web' });
    expect(b.ok).toBe(true);
    const p = await registry.get(ADMIN, PODS, 'default', 'web');
    expect(p.ok && p.value['spec']).toMatchObject({ nodeName: 'n1' });
    expect(p.ok && (p.value['status'] as { conditions: unknown[] }).conditions).toEqual([expect.objectContaining({ type: 'PodScheduled', status: 'True' })]);
    const again = await registry.create(ADMIN, PODS, 'default', { kind: 'Binding', target: { name: 'n2' } }, {}, { subresource: 'binding', name: 'web' });
    expect(again.ok ? null : again.error).toMatchObject({ code: 409, message: expect.stringContaining('already assigned to node "n1"') as unknown });
  });

  it('deletes bound pods gracefully, unbound ones at once', async () => {
    const { registry } = await setup();
    await created(registry.create(ADMIN, PODS, 'default', pod('loose'), {}));
    const d1 = await registry.delete(ADMIN, PODS, 'default', 'loose', {});
    expect(d1.ok && d1.value.gone).toBe(true);
    await created(registry.create(ADMIN, PODS, 'default', pod('bound', { spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } }), {}));
    const d2 = await registry.delete(ADMIN, PODS, 'default', 'bound', {});
    expect(d2.ok && d2.value.gone).toBe(false);
    expect(d2.ok && d2.value.object.metadata).toMatchObject({ deletionGracePeriodSeconds: 30, deletionTimestamp: '2026-11-30T10:00:30Z' });
    const force = await registry.delete(ADMIN, PODS, 'default', 'bound', { gracePeriodSeconds: 0 });
    expect(force.ok && force.value.gone).toBe(true);
    expect((await registry.get(ADMIN, PODS, 'default', 'bound')).ok).toBe(false);
  });

  it('keeps an object with finalizers until the last one goes, and records propagation', async () => {
    const { registry } = await setup();
    const p = await created(registry.create(ADMIN, PODS, 'default', { ...pod('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } }, {}));
    const d = await registry.delete(ADMIN, PODS, 'default', 'held', { propagationPolicy: 'Foreground' });
    expect(d.ok && d.value.gone).toBe(false);
    expect(d.ok && d.value.object.metadata.finalizers).toEqual(['example.com/hold', 'foregroundDeletion']);
    const cur = await registry.get(ADMIN, PODS, 'default', 'held');
    expect(cur.ok).toBe(true);
    const cleared = await registry.patch(ADMIN, PODS, 'default', 'held', 'merge', { metadata: { finalizers: null } }, {});
    expect(cleared.ok).toBe(true);
    expect((await registry.get(ADMIN, PODS, 'default', 'held')).ok).toBe(false);
    expect(p.metadata.finalizers).toEqual(['example.com/hold']);
  });

  it('checks delete preconditions and authorization', async () => {
    const { registry } = await setup();
    await created(registry.create(ADMIN, PODS, 'default', pod('p'), {}));
    const pre = await registry.delete(ADMIN, PODS, 'default', 'p', { preconditions: { uid: 'other' } });
    expect(pre.ok ? null : pre.error).toMatchObject({ code: 409, message: expect.stringContaining('Precondition failed: UID in precondition: other') as unknown });
    const denied = await registry.delete(JANE, PODS, 'default', 'p', {});
    expect(denied.ok ? null : denied.error).toMatchObject({ code: 403, reason: 'Forbidden' });
  });

  it('allocates distinct ClusterIPs from the loopback range and keeps them across updates', async () => {
    const { registry } = await setup();
    const svc = (name: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
    const a = await created(registry.create(ADMIN, SERVICES, 'default', svc('a'), {}));
    const b = await created(registry.create(ADMIN, SERVICES, 'default', svc('b'), {}));
    const ipA = (a['spec'] as { clusterIP: string }).clusterIP;
    const ipB = (b['spec'] as { clusterIP: string }).clusterIP;
    expect(ipA).toMatch(/^127\.96\.\d+\.\d+$/);
    expect(ipA).not.toBe(ipB);
    const updated = await created(registry.update(ADMIN, SERVICES, 'default', 'a', { ...svc('a'), metadata: { name: 'a', labels: { x: 'y' } } }, {}));
    expect((updated['spec'] as { clusterIP: string }).clusterIP).toBe(ipA);
    const taken = await registry.create(ADMIN, SERVICES, 'default', { ...svc('c'), spec: { clusterIP: ipA, ports: [{ port: 80 }] } }, {});
    expect(taken.ok ? null : taken.error).toMatchObject({ code: 422 });
    expect((await registry.delete(ADMIN, SERVICES, 'default', 'a', {})).ok).toBe(true);
    const reuse = await created(registry.create(ADMIN, SERVICES, 'default', { ...svc('c'), spec: { clusterIP: ipA, ports: [{ port: 80 }] } }, {}));
    expect((reuse['spec'] as { clusterIP: string }).clusterIP).toBe(ipA);
  });

  it('marks a deleted namespace Terminating and refuses new content in it', async () => {
    const { registry } = await setup();
    await created(registry.create(ADMIN, NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } }, {}));
    const sa = await registry.get(ADMIN, SERVICE_ACCOUNTS, 'team', 'default');
    expect(sa.ok).toBe(true);
    const d = await registry.delete(ADMIN, NAMESPACES, undefined, 'team', {});
    expect(d.ok && d.value.gone).toBe(false);
    expect(d.ok && d.value.object['status']).toEqual({ phase: 'Terminating' });
    const c = await registry.create(ADMIN, PODS, 'team', pod('late'), {});
    expect(c.ok ? null : c.error).toMatchObject({ code: 403, message: expect.stringContaining('because it is being terminated') as unknown });
  });

  it('pages a quorum list with continue tokens', async () => {
    const { registry } = await setup();
    for (let i = 0; i < 5; i++) await created(registry.create(ADMIN, PODS, 'default', pod(`p${i}`), {}));
    const first = await registry.list(ADMIN, PODS, { namespace: 'default', limit: 2 });
    expect(first.ok && first.value.items.map((x) => x.metadata.name)).toEqual(['p0', 'p1']);
    const cont = first.ok ? first.value.metadata.continue : undefined;
    expect(cont).toBeTypeOf('string');
    const second = await registry.list(ADMIN, PODS, { namespace: 'default', limit: 10, continue: cont! });
    expect(second.ok && second.value.items.map((x) => x.metadata.name)).toEqual(['p2', 'p3', 'p4']);
    expect(second.ok && second.value.metadata.continue).toBe(undefined);
  });

  it('watches from a resourceVersion and from scratch', async () => {
    const { registry } = await setup();
    const a = await created(registry.create(ADMIN, PODS, 'default', pod('a'), {}));
    const seen: string[] = [];
    const w = await registry.watch(ADMIN, PODS, { namespace: 'default', resourceVersion: a.metadata.resourceVersion! }, { event: (e) => seen.push(`${e.type} ${e.type === 'ERROR' ? '' : e.object.metadata.name ?? ''}`), closed: () => undefined });
    expect(w.ok).toBe(true);
    await created(registry.create(ADMIN, PODS, 'default', pod('b'), {}));
    await registry.delete(ADMIN, PODS, 'default', 'a', {});
    expect(seen).toEqual(['ADDED b', 'DELETED a']);
    if (w.ok) w.value.dispose();
  });

  it('applies server-side: creates, records the manager, refuses a conflicting manager unless forced', async () => {
    const { registry } = await setup();
    const cm = (v: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data: { level: v } });
    const first = await registry.patch(ADMIN, res('', 'configmaps'), 'default', 'ssa', 'apply', cm('1'), { fieldManager: 'alice' });
    expect(first.ok && first.value.created).toBe(true);
    expect(first.ok && first.value.object.metadata.managedFields?.map((f) => f.manager)).toEqual(['alice']);
    const clash = await registry.patch(ADMIN, res('', 'configmaps'), 'default', 'ssa', 'apply', cm('2'), { fieldManager: 'bob' });
    expect(clash.ok ? null : clash.error).toMatchObject({ code: 409, reason: 'Conflict' });
    const forced = await registry.patch(ADMIN, res('', 'configmaps'), 'default', 'ssa', 'apply', cm('2'), { fieldManager: 'bob', force: true });
    expect(forced.ok && forced.value.object['data']).toEqual({ level: '2' });
    const noManager = await registry.patch(ADMIN, res('', 'configmaps'), 'default', 'ssa', 'apply', cm('3'), {});
    expect(noManager.ok ? null : noManager.error).toMatchObject({ code: 400 });
  });
});
