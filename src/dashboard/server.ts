/**
 * server: the dashboard's HTTP server, on loopback only. It serves the page (one HTML document
 * with its script inline: nothing to build), the charting library from the installed uPlot
 * package, the current view as JSON (`/api/state`) and a Server-Sent Events stream
 * (`/events`) that carries every new view as it is collected.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Collector } from './collector.js';
import { dashboardPage } from './page.js';

/** SSE_KEEPALIVE_MS is how often an idle event stream gets a comment line, so proxies and browsers keep it open. */
const SSE_KEEPALIVE_MS = 15_000;

function asset(specifier: string): Buffer {
  return readFileSync(createRequire(import.meta.url).resolve(specifier));
}

/** DashboardServer serves one collector's views. */
export class DashboardServer {
  readonly #server: Server;
  readonly #collector: Collector;
  readonly #streams = new Set<ServerResponse>();
  readonly #page: string;
  readonly #assets: Readonly<Record<string, { readonly type: string; readonly body: Buffer }>>;
  #keepalive: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(collector: Collector, o: { readonly title: string }) {
    this.#collector = collector;
    this.#page = dashboardPage(o.title);
    this.#assets = {
      '/uPlot.js': { type: 'text/javascript; charset=utf-8', body: asset('uplot/dist/uPlot.iife.min.js') },
      '/uPlot.css': { type: 'text/css; charset=utf-8', body: asset('uplot/dist/uPlot.min.css') },
    };
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** listen binds 127.0.0.1:port (0: any free port) and resolves to the page's URL. */
  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#unsubscribe = this.#collector.subscribe((v) => {
      const line = `data: ${JSON.stringify(v)}\n\n`;
      for (const s of this.#streams) s.write(line);
    });
    this.#keepalive = setInterval(() => {
      for (const s of this.#streams) s.write(': keepalive\n\n');
    }, SSE_KEEPALIVE_MS);
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    if (this.#keepalive !== null) clearInterval(this.#keepalive);
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('Only GET is served here\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(this.#page);
      return;
    }
    const a = this.#assets[path];
    if (a !== undefined) {
      res.writeHead(200, { 'content-type': a.type, 'cache-control': 'max-age=3600' }).end(a.body);
      return;
    }
    if (path === '/api/state') {
      const v = this.#collector.view;
      res.writeHead(v === null ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(v ?? { error: 'no view collected yet; try again in a second' }));
      return;
    }
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const v = this.#collector.view;
      if (v !== null) res.write(`data: ${JSON.stringify(v)}\n\n`);
      this.#streams.add(res);
      req.on('close', () => this.#streams.delete(res));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`Nothing at ${path}; the dashboard is at /\n`);
  }
}
