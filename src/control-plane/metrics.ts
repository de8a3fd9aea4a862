/**
 * metrics: Prometheus metrics of the control plane's processes. Each process owns one
 * prom-client Registry (never the global one), with the Node.js runtime and process metrics on
 * it. The apiserver adds Kubernetes' request figures and serves them at /metrics on its HTTPS
 * port; the scheduler, controller manager and node agent serve their registry on
 * `--metrics-bind-address` over plain HTTP, as Kubernetes components do.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** processRegistry is a new registry holding the process and Node.js runtime metrics. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * registerLeaderStatus adds Kubernetes' leader_election_master_status{name} gauge: 1 while
 * `isLeader()` says this instance holds the lease `name`, else 0 (read when scraped).
 */
export function registerLeaderStatus(registry: Registry, name: string, isLeader: () => boolean): void {
  new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      this.set({ name }, isLeader() ? 1 : 0);
    },
  });
}

/** ApiRequest is a finished apiserver request (the REST server's onRequest record). */
export interface ApiRequest {
  readonly verb: string;
  readonly group: string | undefined;
  readonly resource: string | undefined;
  readonly subresource: string | undefined;
  readonly code: number;
  readonly seconds: number;
}

/** LONG_RUNNING_VERBS are left out of the latency histogram (Kubernetes does so too). */
const LONG_RUNNING_VERBS: ReadonlySet<string> = new Set(['WATCH', 'CONNECT']);

/** ApiServerMetrics holds an apiserver's request counters and latencies under Kubernetes' names. */
export class ApiServerMetrics {
  readonly registry = processRegistry();
  readonly #requests: Counter<'verb' | 'group' | 'resource' | 'subresource' | 'code'>;
  readonly #latency: Histogram<'verb' | 'group' | 'resource' | 'subresource'>;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, resource, subresource and HTTP response code.',
      labelNames: ['verb', 'group', 'resource', 'subresource', 'code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, group, resource and subresource (watches and connects excluded).',
      labelNames: ['verb', 'group', 'resource', 'subresource'],
      // Kubernetes' buckets for this histogram.
      buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
      registers,
    });
  }

  /** observe records one finished request. */
  observe(r: ApiRequest): void {
    const labels = { verb: r.verb, group: r.group ?? '', resource: r.resource ?? '', subresource: r.subresource ?? '' };
    this.#requests.inc({ ...labels, code: String(r.code) });
    if (!LONG_RUNNING_VERBS.has(r.verb)) this.#latency.observe(labels, r.seconds);
  }

  /** text renders the registry in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** MetricsServer is a running `--metrics-bind-address` listener. */
export interface MetricsServer {
  /** port is the port bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * parseBindAddress reads `host:port` (or `[v6]:port`); it returns an error message for anything
 * else, naming the flag.
 */
export function parseBindAddress(s: string, flag = '--metrics-bind-address'): { ok: true; host: string; port: number } | { ok: false; error: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, error: `${flag} must be host:port (e.g. 127.0.0.1:10251), not "${s}"` };
  return { ok: true, host: m[1] ?? m[2]!, port };
}

/**
 * serveMetrics serves `registry` at /metrics and a liveness answer at /healthz (and /livez) over
 * plain HTTP on host:port, as a Kubernetes component's --metrics-bind-address does.
 */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    const path = new URL(req.url ?? '/', 'http://component').pathname;
    if (path === '/healthz' || path === '/livez') return send(200, 'text/plain; charset=utf-8', 'ok');
    if (path !== '/metrics') return send(404, 'text/plain; charset=utf-8', `No endpoint ${path}; try /metrics or /healthz\n`);
    registry.metrics().then(
      (text) => send(200, registry.contentType, text),
      (err: unknown) => send(500, 'text/plain; charset=utf-8', `${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new Error(`Cannot serve metrics on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}; pick another --metrics-bind-address`);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
