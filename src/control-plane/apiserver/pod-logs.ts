/**
 * pod-logs: `GET pods/<name>/log` (kubectl logs), proxied to the node agent that runs the pod,
 * as the apiserver proxies to the kubelet: the pod's node is looked up, and its log endpoint
 * (the node's InternalIP and status.daemonEndpoints.kubeletEndpoint.Port) is asked with the
 * cluster's kubelet-client token. Follow streams until the caller goes away.
 */
import { request, type IncomingMessage } from 'node:http';
import type { KubeObject, ResourceInfo, Result } from '../api/types.js';
import { err, ok } from '../api/types.js';
import type { Authorizer } from './registry/ports.js';
import { badRequest, forbidden, notFound, unavailable } from './registry/errors.js';
import { isObject } from './registry/meta.js';
import type { ApiError, Registry, RequestContext } from './registry-api.js';
import type { PodLogOptions, PodLogs } from './rest/logs.js';

const SYSTEM: RequestContext = { user: { username: 'system:apiserver', uid: 'system:apiserver', groups: ['system:masters'] } };

/** containersOf names a pod's containers and init containers. */
export function containersOf(pod: KubeObject): string[] {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  const names = (v: unknown): string[] => (Array.isArray(v) ? v.flatMap((c) => (isObject(c) && typeof c['name'] === 'string' ? [c['name']] : [])) : []);
  return [...names(spec['containers']), ...names(spec['initContainers'])];
}

/** nodeEndpoint is where a node's agent serves logs and exec (null for a node that serves none). */
export function nodeEndpoint(node: KubeObject): { host: string; port: number } | null {
  const status = isObject(node['status']) ? node['status'] : {};
  const de = isObject(status['daemonEndpoints']) ? status['daemonEndpoints'] : {};
  const ke = isObject(de['kubeletEndpoint']) ? de['kubeletEndpoint'] : {};
  const port = typeof ke['Port'] === 'number' ? ke['Port'] : 0;
  const addrs: unknown[] = Array.isArray(status['addresses']) ? (status['addresses'] as unknown[]) : [];
  const ip = addrs.find((a) => isObject(a) && a['type'] === 'InternalIP');
  const host = isObject(ip) && typeof ip['address'] === 'string' ? ip['address'] : '127.0.0.1';
  return port > 0 ? { host, port } : null;
}

/** PodTarget is a pod's container and the node agent that runs it. */
export interface PodTarget {
  readonly pod: KubeObject;
  readonly container: string;
  readonly nodeName: string;
  readonly endpoint: { readonly host: string; readonly port: number };
}

/** TargetAccess says what a caller asks of a pod's node: the RBAC verb and subresource, and what a node without an endpoint lacks. */
export interface TargetAccess {
  readonly verb: 'get' | 'create';
  readonly subresource: 'log' | 'exec';
  /** lacking completes "node <name> …" when the node serves no endpoint (a simulated node). */
  readonly lacking: string;
}

/** PodTargets resolves a pod's container and its node's endpoint, or the ApiError a caller gets. */
export type PodTargets = (ctx: RequestContext, namespace: string, name: string, container: string | undefined, access: TargetAccess) => Promise<Result<PodTarget, ApiError>>;

/**
 * podTargets authorizes the caller for the subresource, then finds the pod, its container (the
 * only one when none is named) and the endpoint of the node it is bound to.
 */
export function podTargets(o: { readonly registry: Registry; readonly authorizer: Authorizer }): PodTargets {
  const find = (plural: string): ResourceInfo => {
    const r = o.registry.resources().find((x) => x.group === '' && x.plural === plural);
    if (r === undefined) throw new Error(`The registry lacks core/v1 ${plural}`);
    return r;
  };
  const pods = find('pods');
  const nodes = find('nodes');
  return async (ctx, namespace, name, wanted, access) => {
    const d = o.authorizer.authorize(ctx.user, { verb: access.verb, apiGroup: '', resource: 'pods', subresource: access.subresource, namespace, name });
    if (!d.allowed) return err(forbidden(d.message, pods, name));
    const pod = await o.registry.get(SYSTEM, pods, namespace, name);
    if (!pod.ok) return pod;
    const names = containersOf(pod.value);
    const container = wanted ?? (names.length === 1 ? names[0] : undefined);
    if (container === undefined) return err(badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`));
    if (!names.includes(container)) return err(badRequest(`container ${container} is not valid for pod ${name}`));
    const spec = isObject(pod.value['spec']) ? pod.value['spec'] : {};
    const nodeName = typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '';
    if (nodeName === '') return err(badRequest(`pod ${name} does not have a host assigned`));
    const node = await o.registry.get(SYSTEM, nodes, undefined, nodeName);
    if (!node.ok) return err(node.error.code === 404 ? notFound(nodes, nodeName) : node.error);
    const endpoint = nodeEndpoint(node.value);
    if (endpoint === null) return err(badRequest(`node ${nodeName} ${access.lacking}`));
    return ok({ pod: pod.value, container, nodeName, endpoint });
  };
}

/** podLogsProxy builds the REST face's PodLogs over the registry and the nodes' log endpoints. */
export function podLogsProxy(o: { readonly registry: Registry; readonly authorizer: Authorizer; readonly token: string }): PodLogs {
  const targets = podTargets(o);
  return async (ctx, namespace, name, opts: PodLogOptions) => {
    const t = await targets(ctx, namespace, name, opts.container, { verb: 'get', subresource: 'log', lacking: 'serves no container logs (a simulated node keeps none)' });
    if (!t.ok) return t;
    const { pod, container, nodeName, endpoint: ep } = t.value;
    const q = new URLSearchParams();
    if (pod.metadata.uid !== undefined) q.set('uid', pod.metadata.uid);
    if (opts.follow === true) q.set('follow', 'true');
    if (opts.previous === true) q.set('previous', 'true');
    if (opts.tailLines !== undefined) q.set('tailLines', String(opts.tailLines));
    if (opts.limitBytes !== undefined) q.set('limitBytes', String(opts.limitBytes));
    if (opts.sinceSeconds !== undefined) q.set('sinceSeconds', String(opts.sinceSeconds));
    if (opts.sinceTime !== undefined) q.set('sinceTime', opts.sinceTime);
    if (opts.timestamps === true) q.set('timestamps', 'true');
    const path = `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${q.toString()}`;
    return await new Promise<Result<AsyncIterable<Uint8Array>, ApiError>>((resolve) => {
      const req = request({ host: ep.host, port: ep.port, path, headers: { authorization: `Bearer ${o.token}` }, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) }, (res: IncomingMessage) => {
        if (res.statusCode === 200) {
          resolve(ok(res));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8').trim();
          resolve(err(res.statusCode === 404 ? { code: 404, reason: 'NotFound', message: text } : badRequest(text)));
        });
      });
      req.on('error', (e) => resolve(err(unavailable(`Cannot reach the node agent of ${nodeName} at ${ep.host}:${ep.port} for logs: ${e.message}`))));
      req.end();
    });
  };
}
