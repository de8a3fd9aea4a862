/**
 * rest: the benchmark's own small client of the Kubernetes REST API — JSON requests over a
 * keep-alive agent (HTTPS with the cluster CA, or plain HTTP), a bearer token on every request,
 * and watch streams read line by line (one JSON event per line, as the apiserver sends them).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** RestResponse is a finished request: the HTTP status and the whole body as text. */
export interface RestResponse {
  readonly status: number;
  readonly body: string;
}

/** WatchLines receive a watch stream's lines and, once, its end. */
export interface WatchLines {
  readonly line: (line: string, receivedAt: number) => void;
  readonly end: (error: Error | null) => void;
}

/** RestWatch is an open watch stream; dispose closes its connection. */
export interface RestWatch {
  dispose(): void;
}

/** RestClient sends authenticated requests to any of the apiservers by base URL. */
export class RestClient {
  readonly #https: HttpsAgent;
  readonly #http: HttpAgent;
  readonly #watchHttps: HttpsAgent;
  readonly #watchHttp: HttpAgent;
  readonly #auth: string;

  constructor(o: { readonly caPem: string | null; readonly token: string }) {
    const tls = o.caPem === null ? {} : { ca: o.caPem };
    this.#https = new HttpsAgent({ keepAlive: true, maxSockets: Infinity, ...tls });
    this.#http = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
    // Watches hold their connection for good; they get agents of their own so they never share a socket pool with requests.
    this.#watchHttps = new HttpsAgent({ keepAlive: false, maxSockets: Infinity, ...tls });
    this.#watchHttp = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
    this.#auth = `Bearer ${o.token}`;
  }

  #open(baseURL: string, method: string, path: string, headers: Record<string, string | number>, watch: boolean): ClientRequest {
    const url = new URL(path, baseURL);
    const https = url.protocol === 'https:';
    const agent = https ? (watch ? this.#watchHttps : this.#https) : watch ? this.#watchHttp : this.#http;
    const opts = { method, agent, headers: { authorization: this.#auth, accept: 'application/json', ...headers } };
    return https ? httpsRequest(url, opts) : httpRequest(url, opts);
  }

  /** request sends one JSON request and reads the whole response (rejecting only on transport errors or the timeout). */
  request(baseURL: string, method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<RestResponse> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.#open(baseURL, method, path, payload === null ? {} : { 'content-type': 'application/json', 'content-length': payload.length }, false);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} on ${baseURL} took longer than ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(payload ?? undefined);
    });
  }

  /**
   * watch opens a watch stream (`path` carries `watch=1`) and resolves once the apiserver
   * answered 200; every complete line then goes to `h.line` with the time it was read. It
   * rejects on any other status or a transport error before the answer.
   */
  watch(baseURL: string, path: string, h: WatchLines, timeoutMs = 30_000): Promise<RestWatch> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let ended = false;
      const end = (e: Error | null): void => {
        if (ended) return;
        ended = true;
        if (settled) h.end(e);
      };
      const req = this.#open(baseURL, 'GET', path, {}, true);
      const timer = setTimeout(() => req.destroy(new Error(`The watch ${path} on ${baseURL} got no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (e: Error) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          ended = true;
          reject(e);
        } else end(e);
      });
      req.on('response', (res: IncomingMessage) => {
        clearTimeout(timer);
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            settled = true;
            ended = true;
            reject(new Error(`The watch ${path} on ${baseURL} answered ${res.statusCode ?? '?'}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
          });
          return;
        }
        settled = true;
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          rest += chunk;
          let nl = rest.indexOf('\n');
          while (nl >= 0) {
            const line = rest.slice(0, nl);
            rest = rest.slice(nl + 1);
            if (line !== '') h.line(line, at);
            nl = rest.indexOf('\n');
          }
        });
        res.on('error', (e: Error) => end(e));
        res.on('end', () => end(null));
        resolve({
          dispose: () => {
            ended = true;
            req.destroy();
          },
        });
      });
      req.end();
    });
  }

  /** close ends every idle connection. */
  close(): void {
    this.#https.destroy();
    this.#http.destroy();
    this.#watchHttps.destroy();
    this.#watchHttp.destroy();
  }
}

/** expectStatus throws a readable error when a response's status is not one of `ok`. */
export function expectStatus(r: RestResponse, ok: readonly number[], what: string): void {
  if (ok.includes(r.status)) return;
  let message = r.body.slice(0, 300);
  try {
    const s = JSON.parse(r.body) as { message?: unknown };
    if (typeof s.message === 'string') message = s.message;
  } catch {
    // not a Status: keep the raw text
  }
  throw new Error(`${what} failed with HTTP ${r.status}: ${message}`);
}
