/**
 * pod-exec: `pods/<name>/exec` (kubectl exec), relayed to the node agent that runs the pod as
 * the apiserver relays it to the kubelet: the caller must be allowed to `create pods/exec`; the
 * pod's node is looked up and its agent's exec endpoint opened as a WebSocket with the same
 * subprotocol and the cluster's kubelet-client token. The REST face then joins the two sockets.
 */
import WebSocket from 'ws';
import type { ResourceInfo, Result } from '../api/types.js';
import { err, ok } from '../api/types.js';
import { execQuery, type ExecOptions } from '../api/remote-command.js';
import { containersOf, nodeEndpoint } from './pod-logs.js';
import type { Authorizer } from './registry/ports.js';
import { badRequest, forbidden, notFound, unavailable } from './registry/errors.js';
import { isObject } from './registry/meta.js';
import type { ApiError, Registry, RequestContext } from './registry-api.js';

const SYSTEM: RequestContext = { user: { username: 'system:apiserver', uid: 'system:apiserver', groups: ['system:masters'] } };

/**
 * PodExec opens the node side of an exec: a connected WebSocket speaking `protocol`, or an
 * ApiError (403, 404, 400 for a pod that is not running, 503 for an unreachable node).
 */
export type PodExec = (ctx: RequestContext, namespace: string, name: string, opts: ExecOptions, protocol: string) => Promise<Result<WebSocket, ApiError>>;

/** podExecProxy builds the REST face's PodExec over the registry and the nodes' exec endpoints. */
export function podExecProxy(o: { readonly registry: Registry; readonly authorizer: Authorizer; readonly token: string; readonly connectTimeoutMs?: number }): PodExec {
  const find = (plural: string): ResourceInfo => {
    const r = o.registry.resources().find((x) => x.group === '' && x.plural === plural);
    if (r === undefined) throw new Error(`The registry lacks core/v1 ${plural}`);
    return r;
  };
  const pods = find('pods');
  const nodes = find('nodes');
  return async (ctx, namespace, name, opts, protocol) => {
    const d = o.authorizer.authorize(ctx.user, { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', namespace, name });
    if (!d.allowed) return err(forbidden(d.message, pods, name));
    const pod = await o.registry.get(SYSTEM, pods, namespace, name);
    if (!pod.ok) return pod;
    const names = containersOf(pod.value);
    const container = opts.container ?? (names.length === 1 ? names[0] : undefined);
    if (container === undefined) return err(badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`));
    if (!names.includes(container)) return err(badRequest(`container ${container} is not valid for pod ${name}`));
    const spec = isObject(pod.value['spec']) ? pod.value['spec'] : {};
    const nodeName = typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '';
    if (nodeName === '') return err(badRequest(`pod ${name} does not have a host assigned`));
    const node = await o.registry.get(SYSTEM, nodes, undefined, nodeName);
    if (!node.ok) return err(node.error.code === 404 ? notFound(nodes, nodeName) : node.error);
    const ep = nodeEndpoint(node.value);
    if (ep === null) return err(badRequest(`node ${nodeName} runs no commands in containers (a simulated node has no processes)`));
    const path = `/exec/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${execQuery({ ...opts, container }).toString()}`;
    return await new Promise<Result<WebSocket, ApiError>>((resolve) => {
      const ws = new WebSocket(`ws://${ep.host}:${ep.port}${path}`, [protocol], { headers: { authorization: `Bearer ${o.token}` }, handshakeTimeout: o.connectTimeoutMs ?? 10_000 });
      const onAbort = (): void => ws.terminate();
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => {
        ctx.signal?.removeEventListener('abort', onAbort);
        resolve(ok(ws));
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
