/**
 * tcp-balancer: a small TCP load balancer in front of the apiservers (as k3s's agents keep one),
 * so that kubectl, pointed at one address, survives the loss of any master. Connections go to
 * the backends in turn; a backend that refuses a connection is skipped and marked down until a
 * background probe connects to it again. TLS passes through untouched: each apiserver
 * terminates it with the cluster's serving certificate.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Backend is one upstream address. */
export interface Backend {
  readonly host: string;
  readonly port: number;
}

/** BalancerOptions tune the balancer. */
export interface BalancerOptions {
  readonly backends: readonly Backend[];
  /** probeIntervalMs is how often down backends are probed (default 1 s). */
  readonly probeIntervalMs?: number;
  /** connectTimeoutMs bounds one connection attempt to a backend (default 2 s). */
  readonly connectTimeoutMs?: number;
  readonly onEvent?: (e: { readonly kind: 'down' | 'up'; readonly backend: Backend; readonly why?: string }) => void;
}

/** parseBackend reads host:port. */
export function parseBackend(s: string): Backend {
  const m = /^(.+):(\d+)$/.exec(s.trim().replace(/^[a-z]+:\/\//, ''));
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`Bad backend ${JSON.stringify(s)}: give host:port`);
  return { host: m[1]!, port };
}

/** TcpBalancer forwards connections to healthy backends in turn. */
export class TcpBalancer {
  readonly #o: BalancerOptions;
  readonly #down = new Set<number>();
  readonly #sockets = new Set<Socket>();
  #next = 0;
  #server: Server | null = null;
  #probe: NodeJS.Timeout | null = null;

  constructor(o: BalancerOptions) {
    if (o.backends.length === 0) throw new Error('The load balancer needs at least one backend');
    this.#o = o;
  }

  /** healthy lists the backends currently thought up. */
  get healthy(): Backend[] {
    return this.#o.backends.filter((_, i) => !this.#down.has(i));
  }

  #markDown(i: number, why: string): void {
    if (this.#down.has(i)) return;
    this.#down.add(i);
    this.#o.onEvent?.({ kind: 'down', backend: this.#o.backends[i]!, why });
  }

  #markUp(i: number): void {
    if (!this.#down.delete(i)) return;
    this.#o.onEvent?.({ kind: 'up', backend: this.#o.backends[i]! });
  }

  #dial(i: number): Promise<Socket> {
    const b = this.#o.backends[i]!;
    return new Promise((resolve, reject) => {
      const s = connect({ host: b.host, port: b.port });
      const timer = setTimeout(() => s.destroy(new Error('connect timed out')), this.#o.connectTimeoutMs ?? 2_000);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  async #upstream(): Promise<Socket | null> {
    const n = this.#o.backends.length;
    // Healthy backends first, in turn; then the ones marked down, in case all were marked.
    const order = Array.from({ length: n }, (_, k) => (this.#next + k) % n);
    this.#next = (this.#next + 1) % n;
    const tries = [...order.filter((i) => !this.#down.has(i)), ...order.filter((i) => this.#down.has(i))];
    for (const i of tries) {
      try {
        const s = await this.#dial(i);
        this.#markUp(i);
        return s;
      } catch (e: unknown) {
        this.#markDown(i, e instanceof Error ? e.message : String(e));
      }
    }
    return null;
  }

  #track(s: Socket): void {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
  }

  #handle(client: Socket): void {
    this.#track(client);
    client.pause();
    client.on('error', () => client.destroy());
    void this.#upstream().then((up) => {
      if (up === null || client.destroyed) {
        up?.destroy();
        client.destroy();
        return;
      }
      this.#track(up);
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  }

  /** listen starts accepting on host:port and probing down backends; answers the bound port. */
  listen(port: number, host: string): Promise<number> {
    const server = createServer((c) => this.#handle(c));
    this.#server = server;
    this.#probe = setInterval(() => {
      for (const i of [...this.#down]) {
        this.#dial(i).then(
          (s) => {
            s.destroy();
            this.#markUp(i);
          },
          () => undefined,
        );
      }
    }, this.#o.probeIntervalMs ?? 1_000);
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`Cannot listen on ${host}:${port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? '; pick another port' : ''}`)));
      server.listen(port, host, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  }

  /** close stops accepting, ends every connection and the probe. */
  async close(): Promise<void> {
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#probe = null;
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = null;
    if (server !== null) await new Promise<void>((r) => server.close(() => r()));
  }
}
