/**
 * pod-exec: `pods/<name>/exec` (kubectl exec), relayed to the node agent that runs the pod as
 * the apiserver relays it to the kubelet: the caller must be allowed to `create pods/exec`; the
 * pod's node is looked up and its agent's exec endpoint opened as a WebSocket with the same
 * subprotocol and the cluster's kubelet-client token. The REST face then joins the two sockets.
 */
import WebSocket, { type RawData } from 'ws';
import type { Result } from '../api/types.js';
import { err, ok } from '../api/types.js';
import { execQuery, type ExecOptions } from '../api/remote-command.js';
import { podTargets } from './pod-logs.js';
import type { Authorizer } from './registry/ports.js';
import { badRequest, unavailable } from './registry/errors.js';
import type { ApiError, Registry, RequestContext } from './registry-api.js';

/**
 * HeldSocket is the node side of an exec from the moment it opens: a quick command (`echo`)
 * can send its output, its exit Status and the close before the client's upgrade is complete
 * and the relay is listening, so everything it sends is held until `release` hands it on, in
 * order, and every later message and the close with it.
 */
export class HeldSocket {
  readonly ws: WebSocket;
  #held: { readonly data: RawData; readonly isBinary: boolean }[] = [];
  #closed = false;
  #onMessage: ((data: RawData, isBinary: boolean) => void) | null = null;
  #onClose: (() => void) | null = null;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (this.#onMessage === null) this.#held.push({ data, isBinary });
      else this.#onMessage(data, isBinary);
    });
    ws.once('close', () => {
      if (this.#onClose === null) this.#closed = true;
      else this.#onClose();
    });
  }

  /** release replays what arrived so far, then passes on every later message and the close. */
  release(onMessage: (data: RawData, isBinary: boolean) => void, onClose: () => void): void {
    for (const m of this.#held) onMessage(m.data, m.isBinary);
    this.#held = [];
    this.#onMessage = onMessage;
    if (this.#closed) onClose();
    else this.#onClose = onClose;
  }
}

/**
 * PodExec opens the node side of an exec: a connected WebSocket speaking `protocol`, held until
 * the relay takes it, or an ApiError (403, 404, 400 for a pod that is not running, 503 for an
 * unreachable node).
 */
export type PodExec = (ctx: RequestContext, namespace: string, name: string, opts: ExecOptions, protocol: string) => Promise<Result<HeldSocket, ApiError>>;

/** podExecProxy builds the REST face's PodExec over the registry and the nodes' exec endpoints. */
export function podExecProxy(o: { readonly registry: Registry; readonly authorizer: Authorizer; readonly token: string; readonly connectTimeoutMs?: number }): PodExec {
  const targets = podTargets(o);
  return async (ctx, namespace, name, opts, protocol) => {
    const t = await targets(ctx, namespace, name, opts.container, { verb: 'create', subresource: 'exec', lacking: 'runs no commands in containers (a simulated node has no processes)' });
    if (!t.ok) return t;
    const { container, nodeName, endpoint: ep } = t.value;
    const path = `/exec/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${execQuery({ ...opts, container }).toString()}`;
    return await new Promise<Result<HeldSocket, ApiError>>((resolve) => {
      const ws = new WebSocket(`ws://${ep.host}:${ep.port}${path}`, [protocol], { headers: { authorization: `Bearer ${o.token}` }, handshakeTimeout: o.connectTimeoutMs ?? 10_000 });
      const onAbort = (): void => ws.terminate();
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => {
        ctx.signal?.removeEventListener('abort', onAbort);
        resolve(ok(new HeldSocket(ws)));
      });
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8').trim();
          resolve(err(res.statusCode === 404 ? { code: 404, reason: 'NotFound', message: text } : badRequest(text)));
        });
      });
      ws.once('error', (e) => resolve(err(unavailable(`Cannot reach the node agent of ${nodeName} at ${ep.host}:${ep.port} for exec: ${e.message}`))));
    });
  };
}
