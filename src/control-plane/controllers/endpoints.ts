/**
 * endpoints: the Endpoints and EndpointSlice controller. For every Service with a selector it
 * writes an Endpoints object of the same name and EndpointSlices labelled
 * kubernetes.io/service-name, listing the IPs of the selected pods (ready ones as addresses,
 * the others as notReadyAddresses / ready: false) and the service's ports resolved against each
 * pod (a named targetPort becomes that container port's number). Pods whose named ports
 * resolve differently land in separate subsets and slices, as in Kubernetes.
 */
import type { EndpointAddress, EndpointSubset, Service as K8sService } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice as K8sEndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { findResource } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { Reconciled } from '../client/work-queue.js';
import type { Controller, ControllerContext } from './controller.js';
import { isGone, QueueLoop } from './controller.js';
import type { Pod } from './objects.js';
import { canonicalJson, isPodReady, isTerminal, objectKey, ownerReferenceTo, PODS } from './objects.js';

/** Service is a core/v1 Service as the controller reads it. */
export type Service = KubeObject & { spec?: K8sService['spec'] };
/** Endpoints is a core/v1 Endpoints object. */
export type Endpoints = KubeObject & { subsets?: EndpointSubset[] };
/** SliceBody is what an EndpointSlice carries besides its metadata. */
export type SliceBody = Pick<K8sEndpointSlice, 'addressType' | 'endpoints' | 'ports'>;
/** EndpointSlice is a discovery.k8s.io/v1 EndpointSlice. */
export type EndpointSlice = KubeObject & SliceBody;

function served(group: string, plural: string): NonNullable<ReturnType<typeof findResource>> {
  const r = findResource(group, 'v1', plural);
  if (r === undefined) throw new Error(`The resource table lacks ${plural}; the endpoints controller needs it`);
  return r;
}

/** SERVICES is core/v1 services. */
export const SERVICES = served('', 'services');
/** ENDPOINTS is core/v1 endpoints. */
export const ENDPOINTS = served('', 'endpoints');
/** ENDPOINTSLICES is discovery.k8s.io/v1 endpointslices. */
export const ENDPOINTSLICES = served('discovery.k8s.io', 'endpointslices');
/** SERVICE_NAME_LABEL ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** MANAGED_BY_LABEL marks the slices this controller manages. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const MANAGED_BY = 'endpointslice-controller.k8s.io';

interface Port {
  readonly name?: string;
  readonly port: number;
  readonly protocol: string;
}

/** resolvePorts resolves a service's ports against one pod; null when a named port is missing. */
export function resolvePorts(svc: Service, pod: Pod): Port[] | null {
  const out: Port[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof target === 'number') port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else port = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).find((p) => p.name === target && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'))?.containerPort;
    if (port === undefined) return null;
    out.push({ ...(sp.name === undefined || sp.name === '' ? {} : { name: sp.name }), port, protocol: sp.protocol ?? 'TCP' });
  }
  return out;
}

interface Group {
  readonly ports: Port[];
  readonly pods: Pod[];
}

/** EndpointsController is the Endpoints and EndpointSlice controller. */
export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  readonly #ctx: ControllerContext;
  readonly #loop: QueueLoop;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #endpoints: Informer<Endpoints>;
  readonly #slices: Informer<EndpointSlice>;

  constructor(ctx: ControllerContext) {
    this.#ctx = ctx;
    this.#loop = new QueueLoop(this.name, ctx);
    this.#services = ctx.informers.informerFor<Service>(SERVICES);
    this.#pods = ctx.informers.informerFor<Pod>(PODS);
    this.#endpoints = ctx.informers.informerFor<Endpoints>(ENDPOINTS);
    this.#slices = ctx.informers.informerFor<EndpointSlice>(ENDPOINTSLICES, { [SERVICE_NAME_LABEL]: (s: EndpointSlice) => (s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? [`${s.metadata.namespace ?? ''}/${s.metadata.labels[SERVICE_NAME_LABEL] ?? ''}`] : []) });
    const q = this.#loop.queue;
    this.#loop.watch(this.#services, { onAdd: (s) => q.add(keyOf(s)), onUpdate: (_o, s) => q.add(keyOf(s)), onDelete: (s) => q.add(keyOf(s)) });
    const podChanged = (p: Pod): void => {
      for (const s of this.#services.byIndex('namespace', p.metadata.namespace ?? '')) if (this.#selects(s, p)) q.add(keyOf(s));
    };
    this.#loop.watch(this.#pods, {
      onAdd: podChanged,
      onUpdate: (old, p) => {
        podChanged(old);
        podChanged(p);
      },
      onDelete: podChanged,
    });
  }

  #selects(s: Service, p: Pod): boolean {
    const sel = s.spec?.selector;
    if (sel === undefined || Object.keys(sel).length === 0) return false;
    return Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v);
  }

  /** reconcile writes one Service's Endpoints and EndpointSlices. */
  async reconcile(key: string): Promise<Reconciled> {
    const svc = this.#services.get(key);
    if (svc === undefined) {
      // The slices carry an owner reference and go with the Service; Endpoints do not.
      const [ns, name] = key.split('/');
      if (this.#endpoints.get(key) === undefined) return 'done';
      const d = await this.#ctx.client.delete(ENDPOINTS, { namespace: ns ?? '', name: name ?? '' });
      return d.ok || isGone(d.error) ? 'done' : 'retry';
    }
    const sel = svc.spec?.selector;
    if (sel === undefined || Object.keys(sel).length === 0) return 'done';
    const groups: Group[] = [];
    for (const p of this.#pods.byIndex('namespace', svc.metadata.namespace ?? '')) {
      if (!this.#selects(svc, p) || isTerminal(p) || p.metadata.deletionTimestamp !== undefined || (p.status?.podIP ?? '') === '') continue;
      const ports = resolvePorts(svc, p);
      if (ports === null) continue;
      const g = groups.find((x) => canonicalJson(x.ports) === canonicalJson(ports));
      if (g === undefined) groups.push({ ports, pods: [p] });
      else g.pods.push(p);
    }
    for (const g of groups) g.pods.sort((a, b) => (a.status?.podIP ?? '').localeCompare(b.status?.podIP ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const a = await this.#writeEndpoints(svc, groups);
    const b = await this.#writeSlices(svc, groups);
    return a && b ? 'done' : 'retry';
  }

  async #writeEndpoints(svc: Service, groups: readonly Group[]): Promise<boolean> {
    const ref = (p: Pod): EndpointAddress => ({ ip: p.status?.podIP ?? '', ...(p.spec?.nodeName === undefined ? {} : { nodeName: p.spec.nodeName }), targetRef: { kind: 'Pod', namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '', uid: p.metadata.uid ?? '' } });
    const subsets = groups.map((g) => {
      const ready = g.pods.filter(isPodReady).map(ref);
      const notReady = g.pods.filter((p) => !isPodReady(p)).map(ref);
      const subset: EndpointSubset = { ...(ready.length === 0 ? {} : { addresses: ready }), ...(notReady.length === 0 ? {} : { notReadyAddresses: notReady }), ...(g.ports.length === 0 ? {} : { ports: g.ports }) };
      return subset;
    });
    const labels = svc.metadata.labels;
    const cur = this.#endpoints.get(keyOf(svc));
    if (cur !== undefined && canonicalJson(cur.subsets ?? []) === canonicalJson(subsets) && canonicalJson(cur.metadata.labels ?? {}) === canonicalJson(labels ?? {})) return true;
    const client = this.#ctx.client;
    if (cur === undefined) {
      const r = await client.create<Endpoints>(ENDPOINTS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name ?? '', namespace: svc.metadata.namespace ?? 'default', ...(labels === undefined ? {} : { labels: { ...labels } }) }, subsets });
      return r.ok || r.error.code === 409;
    }
    const next = structuredClone(cur);
    next.subsets = subsets;
    if (labels === undefined) delete next.metadata.labels;
    else next.metadata.labels = { ...labels };
    const r = await client.update<Endpoints>(ENDPOINTS, next);
    return r.ok;
  }

  async #writeSlices(svc: Service, groups: readonly Group[]): Promise<boolean> {
    const client = this.#ctx.client;
    const name = svc.metadata.name ?? '';
    const want = groups.map((g): SliceBody => ({
      addressType: 'IPv4',
      endpoints: g.pods.map((p) => ({
        addresses: [p.status?.podIP ?? ''],
        conditions: { ready: isPodReady(p), serving: isPodReady(p), terminating: false },
        ...(p.spec?.nodeName === undefined ? {} : { nodeName: p.spec.nodeName }),
        targetRef: { kind: 'Pod', namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '', uid: p.metadata.uid ?? '' },
      })),
      ports: g.ports,
    }));
    // A Service without any endpoint still gets one (empty) slice, as in Kubernetes.
    if (want.length === 0) want.push({ addressType: 'IPv4', endpoints: [], ports: (svc.spec?.ports ?? []).map((p) => ({ ...(p.name === undefined || p.name === '' ? {} : { name: p.name }), port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP' })) });
    const existing = this.#slices.byIndex(SERVICE_NAME_LABEL, keyOf(svc)).sort((x, y) => (x.metadata.name ?? '').localeCompare(y.metadata.name ?? ''));
    let ok = true;
    // Pair each wanted slice with an existing one of the same ports, then with any left over.
    const unused = [...existing];
    const take = (body: SliceBody): EndpointSlice | undefined => {
      const i = unused.findIndex((x) => canonicalJson(x.ports ?? []) === canonicalJson(body.ports ?? []));
      return i >= 0 ? unused.splice(i, 1)[0] : undefined;
    };
    const paired = want.map((body) => ({ body, cur: take(body) }));
    for (const pair of paired) {
      const body = pair.body;
      const cur = pair.cur ?? unused.shift();
      if (cur === undefined) {
        const slice: EndpointSlice = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { generateName: `${name}-`, namespace: svc.metadata.namespace ?? 'default', labels: { [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY }, ownerReferences: [ownerReferenceTo(SERVICES, svc)] },
          ...body,
        };
        const r = await client.create(ENDPOINTSLICES, slice);
        ok &&= r.ok;
        continue;
      }
      if (canonicalJson({ addressType: cur.addressType, endpoints: cur.endpoints, ports: cur.ports ?? [] }) === canonicalJson(body)) continue;
      const r = await client.update(ENDPOINTSLICES, { ...structuredClone(cur), ...body });
      ok &&= r.ok;
    }
    for (const extra of unused) {
      const r = await client.delete(ENDPOINTSLICES, objectKey(extra));
      ok &&= r.ok || isGone(r.error);
    }
    return ok;
  }

  /** run processes the queue. */
  run(workers: number): Promise<void> {
    return this.#loop.run(workers, (k) => this.reconcile(k));
  }

  /** stop stops the queue and unregisters the handlers. */
  stop(): void {
    this.#loop.stop();
  }
}
