/**
 * server: the Kubernetes REST face of the apiserver — an HTTP or HTTPS server that routes each
 * request to discovery, health, version, OpenAPI or a resource handler, authenticates the
 * caller, logs one line per request, and turns every exception into a 500 Status so that no
 * input can crash it.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Result } from '../../api/types.js';
import type { ApiError, Registry, RequestContext, UserInfo } from '../registry-api.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE, aggregatedDiscovery, apiGroupDocument, apiGroupList, apiResourceList, apiVersions,
} from './discovery.js';
import { serveResource, type ResourceDeps } from './handlers.js';
import type { PodLogs } from './logs.js';
import { ExecSockets, refuseUpgrade } from './exec.js';
import type { PodExec } from '../pod-exec.js';
import { chooseProtocol, parseExecOptions } from '../../api/remote-command.js';
import type { Duplex } from 'node:stream';
import { chooseOutput, parseAccept, type MediaRange, type OutputForm } from './negotiate.js';
import { sendBody, sendError, sendText } from './respond.js';
import { route, type ResourceTarget, type Route } from './routes.js';
import { badRequest, forbiddenPath, internalError, methodNotAllowed, notAcceptable, notFound, unauthorized } from './status.js';
import { WatchStreams } from './watch.js';

/**
 * Authenticate turns the Authorization header (absent: undefined) into a user, or null when the
 * credentials are missing or invalid (401). Anonymous access, if allowed, is its decision.
 */
export type Authenticate = (authorization: string | undefined) => Promise<UserInfo | null> | UserInfo | null;

/** AuthorizeNonResource says whether a user may use a verb on a non-resource path (discovery, OpenAPI). */
export type AuthorizeNonResource = (user: UserInfo, verb: string, path: string) => Promise<boolean> | boolean;

/** OpenApiSource serves the OpenAPI documents; v3 answers undefined for an unknown path (404). */
export interface OpenApiSource {
  readonly v2: () => unknown;
  readonly v3Index: () => unknown;
  readonly v3: (path: string) => unknown;
}

/** VersionInfo is /version's document (version.Info). */
export interface VersionInfo {
  readonly major: string;
  readonly minor: string;
  readonly gitVersion: string;
  readonly gitCommit: string;
  readonly gitTreeState: string;
  readonly buildDate: string;
  readonly goVersion: string;
  readonly compiler: string;
  readonly platform: string;
}

/** HealthCheck is one named readiness check's outcome. */
export interface HealthCheck {
  readonly name: string;
  readonly ok: boolean;
  /** message says why a failing check fails (shown with ?verbose). */
  readonly message?: string;
}

/** RestServerOptions configure createRestServer. */
export interface RestServerOptions {
  readonly registry: Registry;
  readonly authenticate: Authenticate;
  /**
   * impersonate reads the Impersonate-* headers of an authenticated caller: undefined to act as
   * the caller, the user to act as, or an error (403 when impersonating it is not allowed).
   */
  readonly impersonate?: (user: UserInfo, headers: Readonly<Record<string, string | readonly string[] | undefined>>) => Result<UserInfo | undefined, ApiError>;
  readonly authorizeNonResource?: AuthorizeNonResource;
  readonly openapi?: OpenApiSource;
  /** version overrides fields of /version (defaults: v1.32.0-raftkube). */
  readonly version?: Partial<VersionInfo>;
  /** readiness reports the checks /readyz and /healthz add to 'ping' (e.g. etcd reachable). */
  readonly readiness?: () => Promise<readonly HealthCheck[]> | readonly HealthCheck[];
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** maxBodyBytes is the largest request body accepted (default 3 MiB); larger gets 413. */
  readonly maxBodyBytes?: number;
  readonly log: Logger;
  /** now is the clock for AGE columns (default Date.now). */
  readonly now?: () => number;
  /** watchTimeoutMs picks a watch's length when the client gives none (default: 30–60 min at random). */
  readonly watchTimeoutMs?: () => number;
  /** maxWatchBufferBytes ends a watch whose client leaves this much output unread (default 16 MiB). */
  readonly maxWatchBufferBytes?: number;
  /** podLogs serves pods/<name>/log (kubectl logs); without it the subresource answers 404. */
  readonly podLogs?: PodLogs;
  /** podExec opens pods/<name>/exec on the pod's node (kubectl exec); without it exec answers 404. */
  readonly podExec?: PodExec;
  /** onRequest is told of every finished request (for latency metrics). */
  readonly onRequest?: (r: RequestRecord) => void;
  /** metrics renders /metrics in the Prometheus text format; without it /metrics is 404. */
  readonly metrics?: () => Promise<string> | string;
}

/** RequestRecord describes a finished request, for metrics (apiserver_request_duration_seconds). */
export interface RequestRecord {
  /** verb is Kubernetes' request verb: LIST, WATCH, GET, POST, PUT, PATCH, DELETE, DELETECOLLECTION, or the method for non-resource paths. */
  readonly verb: string;
  readonly group: string | undefined;
  readonly resource: string | undefined;
  readonly subresource: string | undefined;
  readonly code: number;
  /** seconds is how long the request took (a watch: how long it was open). */
  readonly seconds: number;
}

function requestVerb(method: string, target: ResourceTarget | undefined, watch: boolean): string {
  if (target === undefined) return method;
  if (method === 'GET') return watch ? 'WATCH' : target.name === undefined ? 'LIST' : 'GET';
  if (method === 'DELETE' && target.name === undefined) return 'DELETECOLLECTION';
  return method;
}

/** RestServer is a running (or ready to run) REST face. */
export interface RestServer {
  /** listen binds to host:port (port 0 picks a free one) and answers the bound address. */
  listen(port: number, host: string): Promise<{ readonly host: string; readonly port: number }>;
  /** close stops accepting, ends every open watch and closes idle connections. */
  close(): Promise<void>;
  /** openWatches is how many watch streams are open. */
  readonly openWatches: number;
}

function defaultVersion(): VersionInfo {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-raftkube',
    gitCommit: 'unknown',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${arch}`,
  };
}

const PUBLIC_ROUTES: ReadonlySet<Route['kind']> = new Set(['version', 'health']);

class Rest {
  readonly #o: RestServerOptions;
  readonly #deps: ResourceDeps;
  readonly #version: VersionInfo;
  readonly #exec = new ExecSockets();

  constructor(o: RestServerOptions, streams: WatchStreams) {
    this.#o = o;
    this.#version = { ...defaultVersion(), ...o.version };
    this.#deps = {
      registry: o.registry,
      maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      now: o.now ?? Date.now,
      log: o.log,
      streams,
      watchTimeoutMs: o.watchTimeoutMs ?? (() => Math.floor((1 + Math.random()) * 1800 * 1000)),
      maxWatchBufferBytes: o.maxWatchBufferBytes ?? 16 * 1024 * 1024,
      podLogs: o.podLogs,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let user = '';
    let target: ResourceTarget | undefined;
    let watch = false;
    try {
      const url = requestUrl(req.url ?? '/');
      if (url === undefined) return sendError(res, badRequest(`The request target "${req.url ?? ''}" is not a valid URL path; send a path such as /api/v1`));
      const r = route(url.pathname, this.#o.registry.resources());
      const accept = parseAccept(req.headers.accept);
      // Health and version are public, but credentials that are present must be valid (a bad
      // token is refused everywhere, as Kubernetes authenticates before it authorizes).
      const isPublic = PUBLIC_ROUTES.has(r.kind);
      if (isPublic && req.headers.authorization === undefined) return await this.#nonResource(req, res, url, r, accept);
      const who = await this.#user(req);
      if (!who.ok) return sendError(res, who.error);
      const u = who.value;
      if (isPublic) return await this.#nonResource(req, res, url, r, accept);
      user = u.username;
      if (r.kind === 'resource') {
        target = r.target;
        watch = /^(1|t|true)$/i.test(url.searchParams.get('watch') ?? '');
        const abort = new AbortController();
        res.on('close', () => { if (!res.writableFinished) abort.abort(); });
        const ctx: RequestContext = { user: u, signal: abort.signal };
        return await serveResource({ req, res, url, accept, ctx, abort, target: r.target }, this.#deps);
      }
      if (r.kind !== 'not-found' && this.#o.authorizeNonResource !== undefined) {
        const allowed = await this.#o.authorizeNonResource(u, 'get', url.pathname);
        if (!allowed) return sendError(res, forbiddenPath(u.username, 'get', url.pathname));
      }
      return await this.#nonResource(req, res, url, r, accept);
    } catch (e: unknown) {
      this.#o.log.error({ err: e, method: req.method, url: req.url }, 'request failed with an exception');
      if (!res.headersSent) sendError(res, internalError());
      else res.destroy();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const verb = requestVerb(req.method ?? '', target, watch);
      const fields = {
        method: req.method, url: req.url, code: res.statusCode, ms: Math.round(seconds * 1000), user,
        ...(target !== undefined ? { verb, resource: target.resource.plural } : {}),
      };
      this.#o.log.info(fields, 'request');
      this.#o.onRequest?.({
        verb,
        group: target?.resource.group,
        resource: target?.resource.plural,
        subresource: target?.subresource,
        code: res.statusCode,
        seconds,
      });
    }
  }

  /** #user authenticates a request and applies impersonation (kubectl --as / --as-group). */
  async #user(req: IncomingMessage): Promise<Result<UserInfo, ApiError>> {
    const authenticated = await this.#o.authenticate(req.headers.authorization);
    if (authenticated === null) return { ok: false, error: unauthorized() };
    if (this.#o.impersonate === undefined) return { ok: true, value: authenticated };
    const imp = this.#o.impersonate(authenticated, req.headersDistinct);
    if (!imp.ok) return imp;
    return { ok: true, value: imp.value ?? authenticated };
  }

  /**
   * upgrade serves the one upgraded request there is, pods/<name>/exec over a WebSocket
   * (kubectl exec), answering anything else with a Status.
   */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    let user = '';
    let code = 101;
    const refuse = (e: ApiError): void => {
      code = e.code;
      refuseUpgrade(socket, e);
    };
    socket.on('error', () => undefined);
    try {
      const url = requestUrl(req.url ?? '/');
      if (url === undefined) return refuse(badRequest(`The request target "${req.url ?? ''}" is not a valid URL path`));
      const r = route(url.pathname, this.#o.registry.resources());
      const t = r.kind === 'resource' ? r.target : undefined;
      if (t === undefined || t.resource.group !== '' || t.resource.plural !== 'pods' || t.subresource !== 'exec' || t.name === undefined || t.namespace === undefined) {
        return refuse(badRequest(`Only pods/<name>/exec takes a connection upgrade; ${url.pathname} does not`));
      }
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        // NB: kubectl 1.30 and newer ask for a WebSocket first and come here with SPDY only
        // when that failed, and then print this refusal instead of the first reason.
        return refuse(badRequest(`exec is served over WebSocket (v5.channel.k8s.io) only, not ${req.headers.upgrade ?? 'this upgrade'}. kubectl 1.30 and newer try a WebSocket first and fall back to SPDY only when that fails: check that the container of pod ${t.name} is running (kubectl get pod ${t.name} -n ${t.namespace}); older kubectl cannot exec here`));
      }
      const who = await this.#user(req);
      if (!who.ok) return refuse(who.error);
      user = who.value.username;
      const opts = parseExecOptions(url.searchParams);
      if (!opts.ok) return refuse(badRequest(opts.error));
      const protocol = chooseProtocol((req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()));
      if (protocol === null) return refuse(badRequest('exec speaks the v5.channel.k8s.io and v4.channel.k8s.io WebSocket subprotocols only'));
      if (this.#o.podExec === undefined) return refuse(notFound(`Pods' exec is not served by this apiserver`));
      const abort = new AbortController();
      socket.once('close', () => abort.abort());
      const node = await this.#o.podExec({ user: who.value, signal: abort.signal }, t.namespace, t.name, opts.value, protocol);
      if (!node.ok) return refuse(node.error);
      if (socket.destroyed) {
        node.value.ws.terminate();
        return;
      }
      this.#exec.accept(req, socket, head, node.value);
    } catch (e: unknown) {
      this.#o.log.error({ err: e, url: req.url }, 'upgrade failed with an exception');
      refuse(internalError());
    } finally {
      this.#o.log.info({ method: req.method, url: req.url, code, ms: Math.round(performance.now() - started), user, verb: 'CREATE', resource: 'pods', subresource: 'exec' }, 'request');
    }
  }

  /** closeExec ends every open exec session. */
  closeExec(): void {
    this.#exec.closeAll();
  }

  async #nonResource(req: IncomingMessage, res: ServerResponse, url: URL, r: Route, accept: readonly MediaRange[]): Promise<void> {
    if (r.kind === 'not-found') return sendError(res, notFound());
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, methodNotAllowed(req.method ?? '', url.pathname));
    if (r.kind === 'health') return this.#health(res, url, r.check);
    // Prometheus asks for text formats only; metrics are text whatever the Accept says.
    if (r.kind === 'metrics') return this.#metrics(res);
    const out = chooseOutput(accept, { aggregatedDiscovery: r.kind === 'core-versions' || r.kind === 'groups' });
    if (out === undefined) return sendError(res, notAcceptable(req.headers.accept ?? ''));
    const form = out.kind === 'yaml' ? 'yaml' : 'json';
    const resources = this.#o.registry.resources();
    const send = (body: unknown): void => sendBody(res, 200, body, form);
    switch (r.kind) {
      case 'version':
        return send(this.#version);
      case 'core-versions':
        res.setHeader('Vary', 'Accept');
        if (isAggregated(out)) return sendBody(res, 200, aggregatedDiscovery(resources, true), 'json', { contentType: AGGREGATED_DISCOVERY_CONTENT_TYPE });
        return send(apiVersions(resources, serverAddress(req)));
      case 'groups':
        res.setHeader('Vary', 'Accept');
        if (isAggregated(out)) return sendBody(res, 200, aggregatedDiscovery(resources, false), 'json', { contentType: AGGREGATED_DISCOVERY_CONTENT_TYPE });
        return send(apiGroupList(resources));
      case 'group':
        return send(apiGroupDocument(resources, r.group));
      case 'resource-list':
        return send(apiResourceList(resources, { group: r.group, version: r.version }));
      case 'openapi-v2':
        return this.#o.openapi === undefined ? sendError(res, notFound()) : send(await this.#o.openapi.v2());
      case 'openapi-v3-index':
        return this.#o.openapi === undefined ? sendError(res, notFound()) : send(await this.#o.openapi.v3Index());
      case 'openapi-v3': {
        const doc: unknown = this.#o.openapi === undefined ? undefined : await this.#o.openapi.v3(r.path);
        return doc === undefined ? sendError(res, notFound()) : send(doc);
      }
      case 'resource':
        // Resource paths are served by serveResource before this point.
        return sendError(res, internalError());
    }
  }

  async #metrics(res: ServerResponse): Promise<void> {
    if (this.#o.metrics === undefined) return sendError(res, notFound());
    const text = await this.#o.metrics();
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }

  async #health(res: ServerResponse, url: URL, check: 'healthz' | 'livez' | 'readyz'): Promise<void> {
    const checks: HealthCheck[] = [{ name: 'ping', ok: true }];
    if (check !== 'livez' && this.#o.readiness !== undefined) checks.push(...(await this.#o.readiness()));
    const excluded = new Set(url.searchParams.getAll('exclude'));
    const counted = checks.filter((c) => !excluded.has(c.name));
    const healthy = counted.every((c) => c.ok);
    if (!url.searchParams.has('verbose') && healthy) return sendText(res, 200, 'ok');
    const lines = checks.map((c) => (excluded.has(c.name) ? `[+]${c.name} excluded: ok` : c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${c.message ?? 'reason withheld'}`));
    lines.push(`${check} check ${healthy ? 'passed' : 'failed'}`);
    return sendText(res, healthy ? 200 : 500, `${lines.join('\n')}\n`);
  }
}

/** requestUrl parses a request target (origin form '/path?q', or absolute form) or answers undefined. */
function requestUrl(target: string): URL | undefined {
  try {
    // NB: not new URL(target, base): a target starting with '//' would be read as a host.
    return target.startsWith('/') ? new URL(`http://apiserver${target}`) : new URL(target);
  } catch {
    return undefined;
  }
}

function isAggregated(out: OutputForm): boolean {
  return out.kind === 'discovery-v2';
}

function serverAddress(req: IncomingMessage): string {
  const { localAddress, localPort } = req.socket;
  if (localAddress === undefined || localPort === undefined) return req.headers.host ?? '';
  return localAddress.includes(':') ? `[${localAddress}]:${localPort}` : `${localAddress}:${localPort}`;
}

/** createRestServer builds the REST face over a registry; call listen() to serve. */
export function createRestServer(o: RestServerOptions): RestServer {
  const streams = new WatchStreams();
  const rest = new Rest(o, streams);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    rest.handle(req, res).catch((e: unknown) => {
      o.log.error({ err: e }, 'request handler failed');
      res.destroy();
    });
  };
  const server: Server = o.tls === undefined ? createHttpServer(onRequest) : createHttpsServer({ cert: o.tls.certPem, key: o.tls.keyPem }, onRequest);
  // NB: Go clients (kubectl) keep idle connections for 90 s; a server that closes them sooner
  // races the client's next request on the same connection, which a POST cannot retry.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    rest.upgrade(req, socket, head).catch((e: unknown) => {
      o.log.error({ err: e }, 'upgrade handler failed');
      socket.destroy();
    });
  });
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    o.log.debug({ err: e }, 'client error');
    const status = e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  return {
    listen(port: number, host: string) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        streams.endAll();
        rest.closeExec();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    get openWatches() {
      return streams.size;
    },
  };
}

