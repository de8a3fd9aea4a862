/**
 * kube-rest: the few Kubernetes REST calls raftkube itself makes (the chaos suite's k8s
 * workload, the dashboard), over HTTPS with the cluster CA and a bearer token, as kubectl
 * would. Every call ends in exactly one KubeReply: the status and parsed body of an answer, or
 * `unanswered` when no answer came (refused, reset, past the deadline) — the caller decides
 * what each means.
 */
import { request } from 'node:https';

/** KubeReply is how one call ended. */
export type KubeReply =
  | { readonly kind: 'answered'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'unanswered'; readonly reason: string };

/** KubeRestOptions say where and as whom to call. */
export interface KubeRestOptions {
  /** url is the apiserver's (or balancer's) base URL, https://host:port. */
  readonly url: string;
  readonly caPem: string;
  readonly token: string;
  readonly timeoutMs: number;
}

/** KubeRest makes calls against one base URL. */
export class KubeRest {
  readonly #o: KubeRestOptions;

  constructor(o: KubeRestOptions) {
    this.#o = o;
  }

  get(path: string): Promise<KubeReply> {
    return this.call('GET', path, undefined);
  }

  post(path: string, body: unknown): Promise<KubeReply> {
    return this.call('POST', path, body);
  }

  /** mergePatch sends a JSON merge patch (RFC 7386). */
  mergePatch(path: string, body: unknown): Promise<KubeReply> {
    return this.call('PATCH', path, body, 'application/merge-patch+json');
  }

  delete(path: string): Promise<KubeReply> {
    return this.call('DELETE', path, undefined);
  }

  call(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<KubeReply> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (r: KubeReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const req = request(`${this.#o.url}${path}`, {
        method,
        ca: this.#o.caPem,
        headers: {
          authorization: `Bearer ${this.#o.token}`,
          accept: 'application/json',
          ...(payload === null ? {} : { 'content-type': contentType, 'content-length': payload.length }),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => settle({ kind: 'unanswered', reason: err.message }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text.length === 0 ? null : JSON.parse(text);
          } catch {
            // Not JSON (a proxy's error page, say): keep the text for the message.
          }
          settle({ kind: 'answered', status: res.statusCode ?? 0, body: parsed });
        });
      });
      // The deadline covers the whole exchange, not only idle time on the socket.
      const timer = setTimeout(() => {
        req.destroy();
        settle({ kind: 'unanswered', reason: `no answer within ${this.#o.timeoutMs} ms` });
      }, this.#o.timeoutMs);
      req.on('error', (err) => settle({ kind: 'unanswered', reason: err.message }));
      req.end(payload ?? undefined);
    });
  }
}

/** statusMessage is the `message` of a Kubernetes Status body, or a short rendering of what came back. */
export function statusMessage(r: KubeReply): string {
  if (r.kind === 'unanswered') return r.reason;
  const b = r.body;
  if (typeof b === 'object' && b !== null && typeof (b as { message?: unknown }).message === 'string') return `${r.status}: ${(b as { message: string }).message}`;
  return `${r.status}: ${String(typeof b === 'string' ? b.slice(0, 120) : JSON.stringify(b)).slice(0, 120)}`;
}
