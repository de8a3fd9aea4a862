/**
 * http: a member's HTTP/1 endpoints — /metrics (Prometheus text), /health (etcd's JSON verdict),
 * /livez and /readyz (Kubernetes-style checks, as etcd 3.6 serves them) — and the listeners that
 * serve them: on the client URL beside gRPC, and on --listen-metrics-urls.
 *
 * etcd answers HTTP/1 and gRPC on one client port (cmux). grpc-js owns its sockets, so the
 * client port here is a plain TCP listener that looks at the first bytes of each connection: the
 * HTTP/2 connection preface ("PRI * HTTP/2.0…") goes to the gRPC server (its connection
 * injector), anything else to an HTTP/1 server. The sniff costs one read per connection, nothing
 * per request; once handed over, a connection is the gRPC server's as if it had accepted it.
 *
 * On an https:// URL the listener terminates TLS itself (node:tls) and routes by the protocol
 * negotiated with ALPN: h2 to gRPC, http/1.1 (or none) to HTTP/1. The server prefers http/1.1,
 * so a client offering both (curl, browsers) gets HTTP/1 while gRPC clients, which offer only
 * h2, get gRPC. A refused handshake (no client certificate, one from another CA) is reported
 * through `onRefused` and the connection closed, as etcd does.
 */
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { ServerCredentials } from '@grpc/grpc-js';
import type { MemberMetrics } from '../metrics.js';
import type { MemberTracer } from '../server/tracer.js';
import { directInjector, type ConnectionInjector, type DirectOptions, type DirectRoutes } from '../server/services/direct-unary.js';
import { LINK_ALPN, LINK_MAGIC } from '../transport/frame-codec.js';

/** HealthSource is what the health endpoints ask of the member. */
export interface HealthSource {
  /** leader is the leader's ID, 0 when none is known. */
  leader(): number;
  /** alarms lists raised alarms by etcd's names (NOSPACE, CORRUPT). */
  alarms(): readonly string[];
  /** serializableRead reads the local store; it throws if the store cannot be read. */
  serializableRead(): void;
  /** linearizableRead confirms a read through Raft (ReadIndex); it rejects on failure or timeout. */
  linearizableRead(timeoutMs: number): Promise<void>;
}

/** HEALTH_READ_TIMEOUT_MS bounds the linearizable read a health check makes. */
export const HEALTH_READ_TIMEOUT_MS = 2_000;

/** HealthVerdict is the body of /health, as etcd writes it. */
export interface HealthVerdict {
  readonly health: 'true' | 'false';
  readonly reason: string;
}

/**
 * checkHealth is etcd's /health: false with a raised alarm (unless excluded), without a leader,
 * or when a read fails (linearizable unless `serializable`).
 */
export async function checkHealth(h: HealthSource, o: { readonly exclude: readonly string[]; readonly serializable: boolean }): Promise<HealthVerdict> {
  const alarm = h.alarms().find((a) => !o.exclude.includes(a));
  if (alarm !== undefined) return { health: 'false', reason: `ALARM ${alarm === 'NOSPACE' || alarm === 'CORRUPT' ? alarm : 'UNKNOWN'}` };
  if (h.leader() === 0) return { health: 'false', reason: 'RAFT NO LEADER' };
  try {
    if (o.serializable) h.serializableRead();
    else await h.linearizableRead(HEALTH_READ_TIMEOUT_MS);
  } catch (err: unknown) {
    return { health: 'false', reason: `RANGE ERROR:${err instanceof Error ? err.message : String(err)}` };
  }
  return { health: 'true', reason: '' };
}

type Check = { readonly name: string; readonly run: (h: HealthSource) => Promise<void> };

const serializableRead: Check = { name: 'serializable_read', run: async (h) => h.serializableRead() };
const linearizableRead: Check = { name: 'linearizable_read', run: (h) => h.linearizableRead(HEALTH_READ_TIMEOUT_MS) };
const dataCorruption: Check = {
  name: 'data_corruption',
  run: async (h) => {
    if (h.alarms().includes('CORRUPT')) throw new Error('the CORRUPT alarm is raised');
  },
};

/** LIVEZ_CHECKS and READYZ_CHECKS are etcd's: live = the local store answers; ready = also through Raft. */
const LIVEZ_CHECKS: readonly Check[] = [serializableRead];
const READYZ_CHECKS: readonly Check[] = [dataCorruption, serializableRead, linearizableRead];

async function runChecks(h: HealthSource, path: 'livez' | 'readyz', url: URL): Promise<{ status: number; body: string }> {
  const exclude = url.searchParams.getAll('exclude');
  const verbose = url.searchParams.has('verbose');
  const all = path === 'livez' ? LIVEZ_CHECKS : READYZ_CHECKS;
  // /readyz/<check> runs that check alone.
  const only = url.pathname.split('/')[2];
  const checks = only === undefined || only === '' ? all : all.filter((c) => c.name === only);
  if (checks.length === 0) return { status: 404, body: `No ${path} check is named ${only}\n` };
  const lines: string[] = [];
  let failed = false;
  for (const c of checks) {
    if (exclude.includes(c.name)) {
      lines.push(`[+]${c.name} excluded: ok`);
      continue;
    }
    try {
      await c.run(h);
      lines.push(`[+]${c.name} ok`);
    } catch (err: unknown) {
      failed = true;
      lines.push(`[-]${c.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failed) return { status: 503, body: `${lines.join('\n')}\n${path} check failed\n` };
  return { status: 200, body: verbose ? `${lines.join('\n')}\n${path} check passed\n` : 'ok' };
}

/** HttpEndpoints serves a member's HTTP/1 requests. */
export interface HttpEndpoints {
  readonly metrics: MemberMetrics;
  readonly health: HealthSource;
  /** tracer serves /debug/trace (bench kv --trace); without it that path is 404. */
  readonly tracer?: MemberTracer;
}

/**
 * debugTrace answers /debug/trace: GET returns the recorded events and empties the ring;
 * POST ?enable=true starts recording (with an empty ring), POST ?enable=false stops it.
 */
function debugTrace(tracer: MemberTracer, method: string, url: URL): { status: number; type: string; body: string } {
  const json = (status: number, v: unknown): { status: number; type: string; body: string } => ({ status, type: 'application/json', body: JSON.stringify(v) });
  if (method === 'POST') {
    const enable = url.searchParams.get('enable');
    if (enable === 'true') tracer.enable();
    else if (enable === 'false') tracer.disable();
    else return { status: 400, type: 'text/plain; charset=utf-8', body: 'POST /debug/trace needs ?enable=true or ?enable=false\n' };
    return json(200, { member: tracer.member, enabled: tracer.on });
  }
  return json(200, tracer.drain());
}

/** handleHttp answers one request to /metrics, /health, /livez or /readyz (404 otherwise). */
export function handleHttp(e: HttpEndpoints, req: http.IncomingMessage, res: http.ServerResponse): void {
  const send = (status: number, type: string, body: string): void => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const url = new URL(req.url ?? '/', 'http://member');
  if (url.pathname === '/debug/trace' && e.tracer !== undefined && (req.method === 'GET' || req.method === 'POST')) {
    const r = debugTrace(e.tracer, req.method, url);
    // NB: a POST body, if any, is not read; drain it so keep-alive connections stay usable.
    req.resume();
    send(r.status, r.type, r.body);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    return;
  }
  const reply = async (): Promise<void> => {
    const top = url.pathname.split('/')[1] ?? '';
    switch (top) {
      case 'metrics':
        send(200, e.metrics.contentType, await e.metrics.text());
        return;
      case 'health': {
        const v = await checkHealth(e.health, { exclude: url.searchParams.getAll('exclude'), serializable: url.searchParams.get('serializable') === 'true' });
        send(v.health === 'true' ? 200 : 503, 'application/json', JSON.stringify(v));
        return;
      }
      case 'livez':
      case 'readyz': {
        const r = await runChecks(e.health, top, url);
        send(r.status, 'text/plain; charset=utf-8', r.body);
        return;
      }
      default:
        send(404, 'text/plain; charset=utf-8', `No endpoint ${url.pathname}; try /metrics, /health, /livez or /readyz\n`);
    }
  };
  reply().catch((err: unknown) => {
    if (!res.headersSent) send(500, 'text/plain; charset=utf-8', `${err instanceof Error ? err.message : String(err)}\n`);
    else res.destroy();
  });
}

/**
 * trackHttp1 makes an HTTP/1 server remember its connections so `close` can end them, keep-alive
 * ones included. NB: http.Server#closeAllConnections knows only the connections of a server
 * that listens itself; the client port's HTTP/1 server is handed its connections instead.
 */
function trackHttp1(server: http.Server): { closeAll(): void } {
  const open = new Set<net.Socket>();
  server.on('connection', (sock: net.Socket) => {
    open.add(sock);
    sock.once('close', () => open.delete(sock));
  });
  return {
    closeAll(): void {
      for (const sock of open) sock.destroy();
      open.clear();
    },
  };
}

/** SNIFF_TIMEOUT_MS closes a client connection that sends nothing to tell its protocol by. */
const SNIFF_TIMEOUT_MS = 10_000;

/** Listener is a bound HTTP listener that can be closed. */
export interface Listener {
  close(): Promise<void>;
}

async function listenAll(server: net.Server, url: string): Promise<net.Server[]> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port);
  // NB: a name such as localhost may resolve to several addresses; grpc-js binds them all, so do we.
  const addrs = net.isIP(host) !== 0 ? [host] : [...new Set((await lookup(host, { all: true })).map((a) => a.address))];
  const servers: net.Server[] = [];
  for (const [i, addr] of addrs.entries()) {
    const s = i === 0 ? server : new net.Server((sock) => server.emit('connection', sock));
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, addr, () => {
          s.off('error', reject);
          resolve();
        });
      });
      servers.push(s);
    } catch (err: unknown) {
      if (i === 0) {
        for (const x of servers) x.close();
        throw new Error(`Cannot listen on ${url}: ${err instanceof Error ? err.message : String(err)}; is another member using that port?`);
      }
    }
  }
  return servers;
}

function closeServers(servers: readonly net.Server[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
}

/** ServerTls is how a listener serves its https:// URLs. */
export interface ServerTls {
  /**
   * options are node:tls server options (certificate, key, CA); with requestCert and
   * rejectUnauthorized a connection without a certificate signed by the CA is closed.
   */
  readonly options: tls.TlsOptions;
  /** onRefused hears of each failed handshake: who tried and why it failed. */
  readonly onRefused: (remote: string, reason: string) => void;
}

/**
 * handshakeFailure says in a few words why a TLS handshake failed, from Node's error (whose
 * message is OpenSSL's error stack).
 */
export function handshakeFailure(err: Error & { code?: string }): string {
  if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'it presented no certificate';
  if (err.code === 'ECONNRESET') return 'it closed the connection during the handshake (does it trust this member\'s certificate?)';
  const openssl = /SSL routines:[^:]*:([^:]+):/.exec(err.message)?.[1];
  return openssl ?? err.message.trim();
}

/** TlsListening is a TLS server bound to one URL and the raw connections it holds. */
interface TlsListening {
  readonly servers: net.Server[];
  /** destroyAll ends every connection the server accepted (handshaking or not). */
  destroyAll(): void;
}

/**
 * listenTls binds a node:tls server to `url`; each connection that completes its handshake goes
 * to `onSecure`, each one that fails is reported to `t.onRefused` and closed.
 */
async function listenTls(url: string, t: ServerTls, onSecure: (sock: tls.TLSSocket) => void): Promise<TlsListening> {
  const remoteOf = (sock: tls.TLSSocket): string => (sock.remoteAddress === undefined ? 'an unknown address' : `${sock.remoteAddress}:${sock.remotePort ?? '?'}`);
  // NB: node:tls refuses a certificate from an unknown CA after the handshake without telling
  // the server why, so the listener checks the verdict itself and can say who it refused.
  const demand = t.options.rejectUnauthorized === true;
  const server = tls.createServer({ ...t.options, rejectUnauthorized: false }, (sock: tls.TLSSocket) => {
    if (demand && !sock.authorized) {
      const none = Object.keys(sock.getPeerCertificate()).length === 0;
      t.onRefused(remoteOf(sock), none ? 'it presented no certificate' : `its certificate is not signed by the trusted CA (${String(sock.authorizationError)})`);
      sock.destroy();
      return;
    }
    onSecure(sock);
  });
  const raw = new Set<net.Socket>();
  server.on('connection', (sock: net.Socket) => {
    raw.add(sock);
    sock.once('close', () => raw.delete(sock));
  });
  server.on('tlsClientError', (err: Error & { code?: string }, sock: tls.TLSSocket) => {
    t.onRefused(remoteOf(sock), handshakeFailure(err));
  });
  const servers = await listenAll(server, url);
  return {
    servers,
    destroyAll(): void {
      for (const s of raw) s.destroy();
      raw.clear();
    },
  };
}

/**
 * listenPeer serves a member's peer URLs: the raft link (`onLink`, see peer-transport.ts) and
 * `grpcServer` (snapshots, and the member list a joining member asks for) on each one. On a
 * plain URL the first bytes tell them apart: the link's hello opens with "RKPL", HTTP/2 with
 * "PRI"; anything else is closed. On an https:// URL (with `t`) ALPN decides: LINK_ALPN to the
 * link, h2 (or nothing) to gRPC.
 */
export async function listenPeer(urls: readonly string[], grpcServer: grpc.Server, onLink: (sock: net.Socket) => void, t: ServerTls | null): Promise<Listener> {
  const injector = grpcServer.createConnectionInjector(ServerCredentials.createInsecure());
  const sniffing = new Set<net.Socket>();
  const onConnection = (sock: net.Socket): void =>
    sniff(sock, sniffing, (head) => {
      if (head.subarray(0, SNIFF_BYTES).equals(LINK_MAGIC.subarray(0, SNIFF_BYTES))) onLink(sock);
      else if (head[0] === 0x50 && head[1] === 0x52 && head[2] === 0x49) injector.injectConnection(sock);
      else sock.destroy();
    });
  const onSecure = (sock: tls.TLSSocket): void => {
    if (sock.alpnProtocol === LINK_ALPN) onLink(sock);
    else injector.injectConnection(sock);
  };
  const servers: net.Server[] = [];
  const tlsBound: TlsListening[] = [];
  try {
    for (const url of urls) {
      if (url.startsWith('https://')) {
        if (t === null) throw new Error(`Cannot serve ${url} without a certificate; pass --peer-cert-file and --peer-key-file`);
        const b = await listenTls(url, { ...t, options: { ...t.options, ALPNProtocols: [LINK_ALPN, 'h2'] } }, onSecure);
        tlsBound.push(b);
        servers.push(...b.servers);
      } else {
        servers.push(...(await listenAll(net.createServer(onConnection), url)));
      }
    }
  } catch (err: unknown) {
    await closeServers(servers);
    for (const b of tlsBound) b.destroyAll();
    injector.destroy();
    throw err;
  }
  return {
    async close(): Promise<void> {
      const closed = closeServers(servers);
      for (const b of tlsBound) b.destroyAll();
      for (const sock of sniffing) sock.destroy();
      sniffing.clear();
      await closed;
      injector.destroy();
    },
  };
}

/**
 * sniff reads the first bytes of a plain connection (at least SNIFF_BYTES) and hands the socket,
 * paused and with those bytes put back, to `route`. A connection that sends nothing for
 * SNIFF_TIMEOUT_MS, or fails first, is closed. `sniffing` holds it meanwhile.
 */
function sniff(sock: net.Socket, sniffing: Set<net.Socket>, route: (head: Buffer) => void): void {
  let head: Buffer = Buffer.alloc(0);
  sniffing.add(sock);
  const giveUp = (): void => {
    sniffing.delete(sock);
    sock.destroy();
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (head.length < SNIFF_BYTES) return;
    sniffing.delete(sock);
    sock.off('data', onData);
    sock.off('error', giveUp);
    sock.setTimeout(0);
    sock.off('timeout', giveUp);
    sock.pause();
    sock.unshift(head);
    route(head);
  };
  sock.on('data', onData);
  sock.on('error', giveUp);
  sock.setTimeout(SNIFF_TIMEOUT_MS);
  sock.on('timeout', giveUp);
}

/** SNIFF_BYTES is how many bytes tell the protocols apart: "PRI" (HTTP/2), "RKP" (raft link), an HTTP/1 method. */
const SNIFF_BYTES = 3;

/**
 * DirectCalls are the unary calls a client port serves past grpc-js (direct-unary.ts), their
 * options, and who hears if grpc-js cannot be bypassed.
 */
export interface DirectCalls {
  readonly routes: DirectRoutes;
  readonly options: DirectOptions;
  readonly onUnavailable: () => void;
}

/**
 * listenClient serves `grpcServer` and the HTTP endpoints on each client URL, as etcd does:
 * HTTP/2 connections go to gRPC, the rest to HTTP/1; https:// URLs through TLS with `t`. With
 * `direct`, its calls go straight to their handlers (direct-unary.ts).
 */
export async function listenClient(urls: readonly string[], grpcServer: grpc.Server, e: HttpEndpoints, t: ServerTls | null = null, direct: DirectCalls | null = null): Promise<Listener> {
  const credentials = ServerCredentials.createInsecure();
  let injector: ConnectionInjector;
  if (direct === null) injector = grpcServer.createConnectionInjector(credentials);
  else {
    const d = directInjector(grpcServer, credentials, direct.routes, direct.options);
    if (!d.direct) direct.onUnavailable();
    injector = d.injector;
  }
  const h1 = http.createServer((req, res) => handleHttp(e, req, res));
  const h1Connections = trackHttp1(h1);
  // Connections not yet handed over: closing the listener must end them itself.
  const sniffing = new Set<net.Socket>();
  const onConnection = (sock: net.Socket): void =>
    sniff(sock, sniffing, (head) => {
      // The HTTP/2 preface starts "PRI"; no HTTP/1 method does.
      if (head[0] === 0x50 && head[1] === 0x52 && head[2] === 0x49) {
        injector.injectConnection(sock);
      } else {
        h1.emit('connection', sock);
        // NB: the HTTP/1 server reads through 'data' events once the socket flows again.
        sock.resume();
      }
    });
  // NB: the server prefers http/1.1, so only clients that offer h2 alone (gRPC) get HTTP/2.
  const onSecure = (sock: tls.TLSSocket): void => {
    if (sock.alpnProtocol === 'h2') injector.injectConnection(sock);
    else h1.emit('connection', sock);
  };
  const servers: net.Server[] = [];
  const tlsBound: TlsListening[] = [];
  try {
    for (const url of urls) {
      if (url.startsWith('https://')) {
        if (t === null) throw new Error(`Cannot serve ${url} without a certificate; pass --cert-file and --key-file`);
        const b = await listenTls(url, { ...t, options: { ...t.options, ALPNProtocols: ['http/1.1', 'h2'] } }, onSecure);
        tlsBound.push(b);
        servers.push(...b.servers);
      } else {
        servers.push(...(await listenAll(net.createServer(onConnection), url)));
      }
    }
  } catch (err: unknown) {
    await closeServers(servers);
    injector.destroy();
    throw err;
  }
  return {
    async close(): Promise<void> {
      const closed = closeServers(servers);
      for (const b of tlsBound) b.destroyAll();
      for (const sock of sniffing) sock.destroy();
      sniffing.clear();
      h1Connections.closeAll();
      await closed;
      injector.destroy();
    },
  };
}

/** listenMetrics serves the HTTP endpoints alone on each URL (etcd's --listen-metrics-urls). */
export async function listenMetrics(urls: readonly string[], e: HttpEndpoints): Promise<Listener> {
  const servers: net.Server[] = [];
  const h1s: { closeAll(): void }[] = [];
  try {
    for (const url of urls) {
      const h1 = http.createServer((req, res) => handleHttp(e, req, res));
      h1s.push(trackHttp1(h1));
      servers.push(...(await listenAll(h1, url)));
    }
  } catch (err: unknown) {
    await closeServers(servers);
    throw err;
  }
  return {
    async close(): Promise<void> {
      const closed = closeServers(servers);
      for (const h of h1s) h.closeAll();
      await closed;
    },
  };
}
