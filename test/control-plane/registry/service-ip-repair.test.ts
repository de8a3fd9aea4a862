// ClusterIP allocations against Services: a Service frees only its own allocation, and the
// repair frees an allocation no Service holds once two sweeps find it unchanged, and takes back
// the address of a Service whose allocation is missing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findResource, RESOURCES } from '../../../src/control-plane/api/resources.js';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import { bootstrapCluster } from '../../../src/control-plane/apiserver/registry/bootstrap.js';
import { ApiRegistry } from '../../../src/control-plane/apiserver/registry/registry.js';
import { ClusterIPRepair, startRepairLoop, type RepairReport } from '../../../src/control-plane/apiserver/registry/service-ip-repair.js';
import type { PortError } from '../../../src/control-plane/apiserver/registry/storage-port.js';
import type { Result } from '../../../src/control-plane/api/types.js';
import type { RequestContext } from '../../../src/control-plane/apiserver/registry-api.js';
import { productionSchema } from '../../../src/control-plane/apiserver/schema-functions.js';
import { objectKey } from '../../../src/control-plane/storage/keys.js';
import { memoryStorage } from './memory-storage.js';

const ADMIN: RequestContext = { user: { username: 'admin', uid: 'admin', groups: ['system:masters'] } };
const SERVICES = findResource('', 'v1', 'services') as ResourceInfo;

async function setup(): Promise<{ registry: ApiRegistry; storage: ReturnType<typeof memoryStorage>; repair: ClusterIPRepair }> {
  const storage = memoryStorage();
  const registry = new ApiRegistry({ storage, schema: productionSchema(), authorizer: { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'not here' }) }, resources: RESOURCES });
  expect(await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [] })).toEqual({ ok: true, value: undefined });
  return { registry, storage, repair: new ClusterIPRepair(storage.store, registry.core.serviceIPs) };
}

function service(name: string, clusterIP?: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...(clusterIP === undefined ? {} : { clusterIP }) } };
}

async function create(registry: ApiRegistry, obj: KubeObject): Promise<KubeObject> {
  const r = await registry.create(ADMIN, SERVICES, 'default', obj, {});
  if (!r.ok) throw new Error(`create failed: ${r.error.message}`);
  return r.value.object;
}

async function allocated(registry: ApiRegistry): Promise<Record<string, string | null>> {
  const r = await registry.core.serviceIPs.allocations();
  if (!r.ok) throw new Error(r.error.message);
  return Object.fromEntries(r.value.items.map((a) => [a.ip, a.uid]));
}

describe('ClusterIP allocations and their repair', () => {
  it('names the Service\'s uid in its allocation, and frees it when the Service is deleted', async () => {
    const { registry } = await setup();
    const web = await create(registry, service('web', '127.96.0.10'));
    expect((await allocated(registry))['127.96.0.10']).toBe(web.metadata.uid);
    const d = await registry.delete(ADMIN, SERVICES, 'default', 'web', {});
    expect(d.ok).toBe(true);
    expect(Object.keys(await allocated(registry))).toEqual(['127.96.0.1']);
  });

  it('never frees an allocation for another Service than the one releasing', async () => {
    const { registry } = await setup();
    const ips = registry.core.serviceIPs;
    expect((await ips.reserve('127.96.0.20', { service: 'default/a', uid: 'uid-a' })).ok).toBe(true);
    // A create that failed after its address was freed and taken by another Service since.
    expect(await ips.release('127.96.0.20', 'uid-b')).toEqual({ ok: true, value: 'not-held' });
    expect((await allocated(registry))['127.96.0.20']).toBe('uid-a');
    expect(await ips.release('127.96.0.20', 'uid-a')).toEqual({ ok: true, value: 'released' });
    expect(await ips.release('127.96.0.20', 'uid-a')).toEqual({ ok: true, value: 'not-held' });
  });

  it('frees what a failed create took: a Service created twice leaves one allocation', async () => {
    const { registry } = await setup();
    await create(registry, service('twice', '127.96.0.30'));
    const again = await registry.create(ADMIN, SERVICES, 'default', service('twice', '127.96.0.31'), {});
    expect(again.ok ? null : again.error.reason).toBe('AlreadyExists');
    expect(Object.keys(await allocated(registry)).sort()).toEqual(['127.96.0.1', '127.96.0.30']);
  });

  it('frees an allocation no Service holds only when the next sweep finds it unchanged', async () => {
    const { registry, repair } = await setup();
    // An apiserver stopped after taking the address and before writing its Service.
    expect((await registry.core.serviceIPs.reserve('127.96.0.40', { service: 'default/ghost', uid: 'uid-ghost' })).ok).toBe(true);
    expect(await repair.sweep()).toEqual({ ok: true, value: { released: [], restored: [], suspects: 1 } });
    expect(await repair.sweep()).toEqual({ ok: true, value: { released: ['127.96.0.40'], restored: [], suspects: 0 } });
    expect(Object.keys(await allocated(registry))).toEqual(['127.96.0.1']);
    // Free again: a Service can have it.
    await create(registry, service('next', '127.96.0.40'));
    expect(await repair.sweep()).toEqual({ ok: true, value: { released: [], restored: [], suspects: 0 } });
  });

  it('leaves alone an address whose Service is written between two sweeps, or that is taken again in between', async () => {
    const { registry, storage, repair } = await setup();
    const ips = registry.core.serviceIPs;
    expect((await ips.reserve('127.96.0.50', { service: 'default/slow', uid: 'uid-slow' })).ok).toBe(true);
    expect((await ips.reserve('127.96.0.51', { service: 'default/gone', uid: 'uid-gone' })).ok).toBe(true);
    expect((await repair.sweep()).ok).toBe(true);
    // The slow apiserver's second write lands; the other address is freed and taken again.
    const slow = { ...service('slow', '127.96.0.50'), metadata: { name: 'slow', namespace: 'default', uid: 'uid-slow' } };
    expect((await storage.store.create(objectKey(SERVICES, 'default', 'slow'), slow)).ok).toBe(true);
    expect(await ips.release('127.96.0.51', 'uid-gone')).toEqual({ ok: true, value: 'released' });
    expect((await ips.reserve('127.96.0.51', { service: 'default/new', uid: 'uid-new' })).ok).toBe(true);
    expect(await repair.sweep()).toEqual({ ok: true, value: { released: [], restored: [], suspects: 1 } });
    const now = await allocated(registry);
    expect(Object.keys(now).sort()).toEqual(['127.96.0.1', '127.96.0.50', '127.96.0.51']);
    expect([now['127.96.0.50'], now['127.96.0.51']]).toEqual(['uid-slow', 'uid-new']);
    // Still no Service for .51 a sweep later, at the same revision: now it is freed.
    expect(await repair.sweep()).toEqual({ ok: true, value: { released: ['127.96.0.51'], restored: [], suspects: 0 } });
  });

  it('takes back the address of a Service whose allocation is missing, for that Service', async () => {
    const { registry, storage, repair } = await setup();
    const web = await create(registry, service('web'));
    const ip = (web['spec'] as { clusterIP: string }).clusterIP;
    expect(registry.core.serviceIPs.contains(ip)).toBe(true);
    // An allocation lost to a failed create's rollback from before allocations named their Service.
    expect((await storage.store.delete(`/registry/ranges/serviceips/${ip}`)).ok).toBe(true);
    expect(await repair.sweep()).toEqual({ ok: true, value: { released: [], restored: [ip], suspects: 0 } });
    expect((await allocated(registry))[ip]).toBe(web.metadata.uid);
    const dup = await registry.create(ADMIN, SERVICES, 'default', service('copy', ip), {});
    expect(dup.ok ? null : dup.error.message).toContain(`provided IP ${ip} is already allocated`);
  });

  it('frees a Service\'s address when its last finalizer goes, as on a plain delete', async () => {
    const { registry } = await setup();
    await create(registry, { ...service('held', '127.96.0.60'), metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    expect((await registry.delete(ADMIN, SERVICES, 'default', 'held', {})).ok).toBe(true);
    expect(Object.keys(await allocated(registry))).toContain('127.96.0.60');
    const cur = await registry.get(ADMIN, SERVICES, 'default', 'held');
    if (!cur.ok) throw new Error(cur.error.message);
    const done = await registry.update(ADMIN, SERVICES, 'default', 'held', { ...cur.value, metadata: { ...cur.value.metadata, finalizers: [] } }, {});
    expect(done.ok).toBe(true);
    expect((await registry.get(ADMIN, SERVICES, 'default', 'held')).ok).toBe(false);
    expect(Object.keys(await allocated(registry))).toEqual(['127.96.0.1']);
  });
});

describe('the repair loop', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps every interval, timed from the end of the last sweep, reports each outcome and stops when told', async () => {
    vi.useFakeTimers();
    const report: RepairReport = { released: ['127.96.0.9'], restored: [], suspects: 0 };
    let sweeps = 0;
    let release: (() => void) | null = null;
    const repair = {
      sweep: async (): Promise<Result<RepairReport, PortError>> => {
        sweeps += 1;
        if (sweeps === 2) throw new Error('store gone');
        if (sweeps === 3) await new Promise<void>((r) => (release = r));
        return { ok: true, value: report };
      },
    };
    const seen: Result<RepairReport, PortError>[] = [];
    const stop = startRepairLoop(repair, 1000, (r) => seen.push(r));
    await vi.advanceTimersByTimeAsync(999);
    expect(sweeps).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([{ ok: true, value: report }]);
    // A sweep that throws is reported as an error, and the loop goes on.
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen[1]).toEqual({ ok: false, error: { kind: 'internal', message: 'store gone' } });
    // A slow sweep: no second one starts while it runs.
    await vi.advanceTimersByTimeAsync(1000);
    expect(sweeps).toBe(3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sweeps).toBe(3);
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toHaveLength(3);
    stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sweeps).toBe(3);
  });
});
