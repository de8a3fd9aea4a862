/**
 * The endpoints controller's reconcile: Endpoints and EndpointSlices from a Service's selector,
 * ready and not-ready pod IPs, named target ports resolved per pod (split into subsets and
 * slices when they differ), no writes when nothing changed, and shrinking when a pod goes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoints, EndpointSlice, Service } from '../../../src/control-plane/controllers/endpoints.js';
import { ENDPOINTS, ENDPOINTSLICES, EndpointsController, SERVICES } from '../../../src/control-plane/controllers/endpoints.js';
import type { Pod } from '../../../src/control-plane/controllers/objects.js';
import { PODS } from '../../../src/control-plane/controllers/objects.js';
import type { Fixture } from './fixture.js';
import { newFixture } from './fixture.js';

let f: Fixture;
let ec: EndpointsController;

afterEach(() => {
  ec.stop();
  f.close();
});

async function runningPod(name: string, labels: Record<string, string>, ip: string | null, ready: boolean, port: number): Promise<void> {
  const p = await f.create<Pod>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: port }] }] } });
  const status = { phase: 'Running', ...(ip === null ? {} : { podIP: ip }), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
  const r = await f.client.updateStatus<Pod>(PODS, { ...p, status });
  if (!r.ok) throw new Error(r.error.message);
}

async function setup(): Promise<void> {
  f = await newFixture();
  await f.create<Service>(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
  await runningPod('a', { app: 'web' }, '10.0.0.2', true, 8080);
  await runningPod('b', { app: 'web' }, '10.0.0.1', false, 8080);
  await runningPod('c', { app: 'web' }, '10.0.0.3', true, 9090);
  await runningPod('d', { app: 'web' }, null, false, 8080);
  await runningPod('e', { app: 'other' }, '10.0.0.9', true, 8080);
  ec = new EndpointsController(f.ctx);
  f.informers.start();
  await f.settle();
  f.clear();
}

const addr = (name: string, ip: string, uid: string | undefined): unknown => ({ ip, targetRef: { kind: 'Pod', namespace: 'default', name, uid } });

describe('EndpointsController', () => {
  it('writes Endpoints and one slice per resolved port set, then nothing while nothing changes', async () => {
    await setup();
    expect(await ec.reconcile('default/web')).toBe('done');
    expect(f.client.writes()).toEqual(['create endpoints default/web', 'create endpointslices default/web-', 'create endpointslices default/web-']);
    const pods = new Map((await f.list<Pod>(PODS, 'default')).map((p) => [p.metadata.name, p.metadata.uid]));
    const ep = await f.get<Endpoints>(ENDPOINTS, 'default', 'web');
    expect(ep?.subsets).toEqual([
      { addresses: [addr('a', '10.0.0.2', pods.get('a'))], notReadyAddresses: [addr('b', '10.0.0.1', pods.get('b'))], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [addr('c', '10.0.0.3', pods.get('c'))], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
    ]);
    const slices = await f.list<EndpointSlice>(ENDPOINTSLICES, 'default');
    expect(slices.map((s) => [s.metadata.labels?.['kubernetes.io/service-name'], s.ports?.[0]?.port, (s.endpoints ?? []).map((e) => [e.addresses[0], e.conditions?.ready])]).sort()).toEqual([
      ['web', 8080, [['10.0.0.1', false], ['10.0.0.2', true]]],
      ['web', 9090, [['10.0.0.3', true]]],
    ]);
    await f.settle();
    f.clear();
    expect(await ec.reconcile('default/web')).toBe('done');
    expect(f.client.writes()).toEqual([]);
  });

  it('shrinks when a pod goes, and leaves Services without a selector alone', async () => {
    await setup();
    await ec.reconcile('default/web');
    await f.client.delete(PODS, { namespace: 'default', name: 'c' });
    await f.settle();
    f.clear();
    expect(await ec.reconcile('default/web')).toBe('done');
    // The 8080 slice is unchanged; the 9090 one goes.
    expect(f.client.writes().map((w) => w.replace(/web-\w+$/, 'web-*'))).toEqual(['update endpoints default/web', 'delete endpointslices default/web-*']);
    expect((await f.get<Endpoints>(ENDPOINTS, 'default', 'web'))?.subsets?.map((s) => s.ports?.[0]?.port)).toEqual([8080]);
    expect(await f.list(ENDPOINTSLICES, 'default')).toHaveLength(1);
    f.clear();
    expect(await ec.reconcile('default/kubernetes')).toBe('done');
    expect(f.client.writes()).toEqual([]);
  });
});
