/**
 * service-proxy: Services of type ClusterIP (and NodePort) in user space, as kube-proxy's
 * userspace mode did. It watches Services and Endpoints; for every TCP port of a Service with a
 * ClusterIP it listens on ClusterIP:port (ClusterIPs are loopback addresses, so no routing is
 * needed), and on the node's IP at the nodePort for NodePort Services, and forwards each
 * connection to the next ready endpoint, round-robin. Endpoints are read at connect time, so an
 * endpoint that turns not-ready gets no new connection as soon as the Endpoints change arrives.
 * The `kubernetes` Service is proxied too, to the apiservers its Endpoints list.
 * Several agents on one machine may all run a proxy: the first to bind an address serves it;
 * the others retry, so one takes over when that agent goes away.
 */
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Endpoints, EndpointPort, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../control-plane/api/types.js';
import type { Clock, ListWatcher, ResourceDescriptor, TimerHandle } from '../control-plane/client/index.js';
import { Informer, keyOf, systemClock } from '../control-plane/client/index.js';

/** SERVICES addresses core/v1 services. */
export const SERVICES: ResourceDescriptor = { group: '', version: 'v1', plural: 'services', namespaced: true };
/** ENDPOINTS addresses core/v1 endpoints. */
export const ENDPOINTS: ResourceDescriptor = { group: '', version: 'v1', plural: 'endpoints', namespaced: true };

type ServiceObject = KubeObject & Omit<Service, 'apiVersion' | 'kind' | 'metadata'>;
type EndpointsObject = KubeObject & Omit<Endpoints, 'apiVersion' | 'kind' | 'metadata'>;

/** ServiceProxyOptions configure a proxy. */
export interface ServiceProxyOptions {
  readonly client: ListWatcher;
  /** nodeIP is where NodePorts listen (default 127.0.0.1). */
  readonly nodeIP?: string;
  readonly clock?: Clock;
  /** retryMs: how often an address another process holds is tried again (default 2 s). */
  readonly retryMs?: number;
  readonly onError?: (what: string, e: unknown) => void;
}

interface Listener {
  readonly service: string;
  readonly port: ServicePort;
  readonly host: string;
  readonly portNumber: number;
  server: Server | null;
  retry: TimerHandle | null;
  next: number;
  readonly sockets: Set<Socket>;
}

function targetsOf(ep: EndpointsObject | undefined, port: ServicePort): { ip: string; port: number }[] {
  const out: { ip: string; port: number }[] = [];
  for (const subset of ep?.subsets ?? []) {
    const p: EndpointPort | undefined = (subset.ports ?? []).find((x) => (x.name ?? '') === (port.name ?? '')) ?? (subset.ports?.length === 1 ? subset.ports[0] : undefined);
    if (p === undefined) continue;
    for (const a of subset.addresses ?? []) out.push({ ip: a.ip, port: p.port });
  }
  return out;
}

/** ServiceProxy forwards Services' traffic to their ready endpoints; see the module doc. */
export class ServiceProxy {
  readonly #o: ServiceProxyOptions;
  readonly #clock: Clock;
  readonly #services: Informer<ServiceObject>;
  readonly #endpoints: Informer<EndpointsObject>;
  /** listeners by 'host:port'. */
  readonly #listeners = new Map<string, Listener>();
  #stopped = false;

  constructor(o: ServiceProxyOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#services = new Informer<ServiceObject>({ client: o.client, resource: SERVICES, clock: this.#clock });
    this.#endpoints = new Informer<EndpointsObject>({ client: o.client, resource: ENDPOINTS, clock: this.#clock });
    const sync = (): void => this.#sync();
    this.#services.addEventHandler({ onAdd: sync, onUpdate: sync, onDelete: sync });
  }

  /** start begins watching and serving. */
  start(): void {
    this.#services.start();
    this.#endpoints.start();
  }

  /** waitForSync resolves once both caches have synced. */
  async waitForSync(): Promise<boolean> {
    return (await this.#services.waitForSync()) && (await this.#endpoints.waitForSync());
  }

  /** serving lists the 'host:port' addresses this proxy is listening on. */
  serving(): string[] {
    return [...this.#listeners.entries()].filter(([, l]) => l.server !== null).map(([k]) => k);
  }

  #want(): Map<string, { service: string; port: ServicePort; host: string; portNumber: number }> {
    const want = new Map<string, { service: string; port: ServicePort; host: string; portNumber: number }>();
    for (const svc of this.#services.list()) {
      const ip = svc.spec?.clusterIP;
      if (ip === undefined || ip === '' || ip === 'None') continue;
      for (const p of svc.spec?.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        want.set(`${ip}:${p.port}`, { service: keyOf(svc), port: p, host: ip, portNumber: p.port });
        if (svc.spec?.type === 'NodePort' && p.nodePort !== undefined) {
          const host = this.#o.nodeIP ?? '127.0.0.1';
          want.set(`${host}:${p.nodePort}`, { service: keyOf(svc), port: p, host, portNumber: p.nodePort });
        }
      }
    }
    return want;
  }

  #sync(): void {
    if (this.#stopped) return;
    const want = this.#want();
    for (const [k, l] of [...this.#listeners]) {
      const w = want.get(k);
      if (w === undefined || w.service !== l.service) this.#close(k, l);
    }
    for (const [k, w] of want) {
      if (this.#listeners.has(k)) continue;
      const l: Listener = { ...w, server: null, retry: null, next: 0, sockets: new Set() };
      this.#listeners.set(k, l);
      this.#listen(k, l);
    }
  }

  #listen(k: string, l: Listener): void {
    const server = createServer((client) => this.#forward(l, client));
    server.once('error', (e: NodeJS.ErrnoException) => {
      server.close();
      if (this.#listeners.get(k) !== l || this.#stopped) return;
      // Another agent's proxy holds the address (or it is not up yet): try again later.
      if (e.code !== 'EADDRINUSE') this.#o.onError?.(`listen on ${k}`, e);
      l.retry = this.#clock.setTimeout(() => {
        l.retry = null;
        if (this.#listeners.get(k) === l && !this.#stopped) this.#listen(k, l);
      }, this.#o.retryMs ?? 2000);
    });
    server.listen(l.portNumber, l.host, () => {
      if (this.#listeners.get(k) !== l || this.#stopped) {
        server.close();
        return;
      }
      l.server = server;
    });
  }

  /**
   * forward connects a client to the next endpoint, round-robin; an endpoint that refuses the
   * connection (its process died, and the Endpoints do not say so yet) is passed over for the
   * next one, as kube-proxy's userspace mode did, so a dead endpoint costs no failed request
   * while another one answers.
   */
  #forward(l: Listener, client: Socket): void {
    const targets = targetsOf(this.#endpoints.get(l.service), l.port);
    if (targets.length === 0) {
      client.destroy();
      return;
    }
    const first = l.next++;
    let upstream: Socket | null = null;
    l.sockets.add(client);
    const done = (): void => {
      l.sockets.delete(client);
      client.destroy();
      if (upstream !== null) {
        l.sockets.delete(upstream);
        upstream.destroy();
      }
    };
    client.on('error', done);
    client.on('close', done);
    const attempt = (i: number): void => {
      const t = targets[(first + i) % targets.length]!;
      const u = connect({ host: t.ip, port: t.port });
      upstream = u;
      l.sockets.add(u);
      const refused = (): void => {
        l.sockets.delete(u);
        u.destroy();
        if (i + 1 < targets.length && !client.destroyed) attempt(i + 1);
        else done();
      };
      u.once('error', refused);
      u.once('connect', () => {
        u.removeListener('error', refused);
        u.on('error', done);
        u.on('close', done);
        client.pipe(u);
        u.pipe(client);
      });
    };
    attempt(0);
  }

  #close(k: string, l: Listener): void {
    this.#listeners.delete(k);
    if (l.retry !== null) this.#clock.clearTimeout(l.retry);
    l.server?.close();
    for (const s of l.sockets) s.destroy();
  }

  /** stop closes every listener and connection and stops the informers. */
  stop(): void {
    this.#stopped = true;
    this.#services.stop();
    this.#endpoints.stop();
    for (const [k, l] of [...this.#listeners]) this.#close(k, l);
  }
}
