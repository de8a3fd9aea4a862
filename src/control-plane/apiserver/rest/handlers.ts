/**
 * handlers: a resource request — collection, object or subresource — as one Registry verb:
 * pick the verb from the method, decode the query and the body, call the registry, and render
 * the Result (the object, a list, a Table, or the ApiError as a Status).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import type { ApiError, KubeList, Registry, RequestContext } from '../registry-api.js';
import { decodeBody, objectBodyFormat, patchTypeOf, readBody, type BodyFormat } from './body.js';
import { servePodLogs, type PodLogs } from './logs.js';
import { chooseOutput, type MediaRange, type OutputForm } from './negotiate.js';
import { deleteOptions, includeObjectOf, isWatch, listOptions, watchOptions, writeOptions } from './query.js';
import { sendBody, sendError, type BodyForm } from './respond.js';
import type { ResourceTarget } from './routes.js';
import { badRequest, methodNotAllowed, notAcceptable } from './status.js';
import { partialObject, table } from './tables.js';
import { serveWatch, type WatchStreams } from './watch.js';

/** ResourceDeps are what resource handlers need from the server. */
export interface ResourceDeps {
  readonly registry: Registry;
  readonly maxBodyBytes: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly streams: WatchStreams;
  /** watchTimeoutMs is the default watch length when the client gives no timeoutSeconds. */
  readonly watchTimeoutMs: () => number;
  /** maxWatchBufferBytes ends a watch whose client leaves this much output unread. */
  readonly maxWatchBufferBytes: number;
  /** podLogs serves pods/<name>/log, when given. */
  readonly podLogs: PodLogs | undefined;
}

/** ResourceRequest is one decoded request for a resource path. */
export interface ResourceRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly accept: readonly MediaRange[];
  readonly ctx: RequestContext;
  readonly abort: AbortController;
  readonly target: ResourceTarget;
}

type Action =
  | { readonly verb: 'list' | 'watch' | 'get' | 'create' | 'deletecollection' | 'update' | 'patch' | 'delete'; readonly checkVerb: boolean }
  | { readonly verb: 'bind' }
  | { readonly verb: 'log' }
  | { readonly verb: 'exec' };

function actionOf(method: string, t: ResourceTarget, watch: boolean): Action | undefined {
  if (t.name === undefined) {
    if (method === 'GET') return { verb: watch ? 'watch' : 'list', checkVerb: true };
    if (method === 'POST') return { verb: 'create', checkVerb: true };
    if (method === 'DELETE') return { verb: 'deletecollection', checkVerb: true };
    return undefined;
  }
  switch (t.subresource) {
    case undefined:
      if (method === 'GET') return { verb: watch ? 'watch' : 'get', checkVerb: true };
      if (method === 'PUT') return { verb: 'update', checkVerb: true };
      if (method === 'PATCH') return { verb: 'patch', checkVerb: true };
      if (method === 'DELETE') return { verb: 'delete', checkVerb: true };
      return undefined;
    case 'status':
    case 'scale':
      if (method === 'GET') return { verb: 'get', checkVerb: false };
      if (method === 'PUT') return { verb: 'update', checkVerb: false };
      if (method === 'PATCH') return { verb: 'patch', checkVerb: false };
      return undefined;
    case 'binding':
      return method === 'POST' ? { verb: 'bind' } : undefined;
    case 'log':
      return method === 'GET' ? { verb: 'log' } : undefined;
    case 'exec':
      return method === 'GET' || method === 'POST' ? { verb: 'exec' } : undefined;
  }
}

function bodyForm(out: OutputForm): BodyForm {
  return out.kind === 'yaml' ? 'yaml' : 'json';
}

async function readObject(r: ResourceRequest, deps: ResourceDeps, format: Result<BodyFormat, ApiError>, allowArray: boolean, optional: boolean): Promise<Result<unknown, ApiError>> {
  if (!format.ok) return format;
  const raw = await readBody(r.req, deps.maxBodyBytes);
  if (!raw.ok) {
    if (raw.error.closeConnection) r.res.setHeader('Connection', 'close');
    return { ok: false, error: raw.error.error };
  }
  if (optional && raw.value.toString('utf8').trim() === '') return { ok: true, value: undefined };
  return decodeBody(raw.value, format.value, allowArray);
}

/** serveResource answers a request for a resource path; it never throws for expected failures. */
export async function serveResource(r: ResourceRequest, deps: ResourceDeps): Promise<void> {
  const { target: t, url, res } = r;
  const q = url.searchParams;
  const watch = isWatch(q);
  if (!watch.ok) return sendError(res, watch.error);
  const action = actionOf(r.req.method ?? 'GET', t, watch.value);
  if (action === undefined) return sendError(res, methodNotAllowed(r.req.method ?? '', url.pathname));
  if (action.verb === 'exec') {
    return sendError(res, badRequest('exec needs a connection upgrade to a WebSocket (v5.channel.k8s.io); raftkube does not speak SPDY — use kubectl 1.30 or newer'));
  }
  if (action.verb !== 'bind' && action.verb !== 'log' && action.checkVerb && !t.resource.verbs.includes(action.verb)) {
    return sendError(res, methodNotAllowed(r.req.method ?? '', url.pathname));
  }
  if (action.verb === 'log') {
    return servePodLogs(res, deps.podLogs, { ctx: r.ctx, namespace: t.namespace, name: t.name ?? '', query: q, log: deps.log });
  }
  const readsTable = (action.verb === 'get' || action.verb === 'list' || action.verb === 'watch') && t.subresource !== 'binding';
  const partial = action.verb === 'list' ? 'PartialObjectMetadataList' : action.verb === 'get' || action.verb === 'watch' ? 'PartialObjectMetadata' : undefined;
  const out = chooseOutput(r.accept, { table: readsTable, yaml: action.verb !== 'watch', ...(partial !== undefined && t.subresource === undefined ? { partial } : {}) });
  if (out === undefined) return sendError(res, notAcceptable(r.req.headers.accept ?? ''));
  const form = bodyForm(out);
  const fail = (e: ApiError): void => sendError(res, e, form);
  const { registry } = deps;
  const res0 = t.resource;

  switch (action.verb) {
    case 'get': {
      const got = await registry.get(r.ctx, res0, t.namespace, t.name!, t.subresource === 'status' || t.subresource === 'scale' ? t.subresource : undefined);
      if (!got.ok) return fail(got.error);
      return renderRead(r, deps, out, [got.value], undefined);
    }
    case 'list': {
      const opts = listOptions(q, t.namespace);
      if (!opts.ok) return fail(opts.error);
      const list = await registry.list(r.ctx, res0, opts.value);
      if (!list.ok) return fail(list.error);
      return renderRead(r, deps, out, list.value.items, list.value);
    }
    case 'watch': {
      const opts = watchOptions(q, t.namespace);
      if (!opts.ok) return fail(opts.error);
      let wopts = opts.value;
      if (t.name !== undefined) {
        // A watch on an object path watches that one object.
        const byName = `metadata.name=${t.name}`;
        wopts = { ...wopts, fieldSelector: wopts.fieldSelector === undefined ? byName : `${wopts.fieldSelector},${byName}` };
      }
      const include = includeObjectOf(q);
      if (!include.ok) return fail(include.error);
      return serveWatch(res, {
        registry, ctx: r.ctx, resource: res0, opts: wopts, now: deps.now, log: deps.log,
        asTable: out.kind === 'table' ? { apiVersion: out.apiVersion, includeObject: include.value } : undefined,
        asPartial: out.kind === 'partial' ? out.apiVersion : undefined,
        timeoutMs: wopts.timeoutSeconds !== undefined ? wopts.timeoutSeconds * 1000 : deps.watchTimeoutMs(),
        maxBufferedBytes: deps.maxWatchBufferBytes,
      }, deps.streams, r.abort);
    }
    case 'create':
    case 'bind': {
      const opts = writeOptions(q);
      if (!opts.ok) return fail(opts.error);
      const body = await readObject(r, deps, objectBodyFormat(r.req.headers['content-type']), false, false);
      if (!body.ok) return fail(body.error);
      const written = action.verb === 'bind'
        ? await registry.create(r.ctx, res0, t.namespace, body.value, opts.value, { subresource: 'binding', name: t.name! })
        : await registry.create(r.ctx, res0, t.namespace, body.value, opts.value);
      if (!written.ok) return fail(written.error);
      return sendBody(res, 201, written.value.object, form, { warnings: written.value.warnings });
    }
    case 'update': {
      const opts = writeOptions(q);
      if (!opts.ok) return fail(opts.error);
      const body = await readObject(r, deps, objectBodyFormat(r.req.headers['content-type']), false, false);
      if (!body.ok) return fail(body.error);
      const sub = t.subresource === 'status' || t.subresource === 'scale' ? t.subresource : undefined;
      const written = await registry.update(r.ctx, res0, t.namespace, t.name!, body.value, opts.value, sub);
      if (!written.ok) return fail(written.error);
      return sendBody(res, written.value.created ? 201 : 200, written.value.object, form, { warnings: written.value.warnings });
    }
    case 'patch': {
      const type = patchTypeOf(r.req.headers['content-type']);
      if (!type.ok) return fail(type.error);
      const opts = writeOptions(q);
      if (!opts.ok) return fail(opts.error);
      if (type.value === 'apply' && opts.value.fieldManager === undefined) {
        return fail(badRequest('Server-side apply needs a fieldManager; add ?fieldManager=<your tool> to the request'));
      }
      const body = await readObject(r, deps, { ok: true, value: type.value === 'apply' ? 'yaml' : 'json' }, type.value === 'json', false);
      if (!body.ok) return fail(body.error);
      if (type.value === 'json' && !Array.isArray(body.value)) return fail(badRequest('A JSON patch must be an array of operations; send [{"op": ..., "path": ...}]'));
      const sub = t.subresource === 'status' || t.subresource === 'scale' ? t.subresource : undefined;
      const written = await registry.patch(r.ctx, res0, t.namespace, t.name!, type.value, body.value, opts.value, sub);
      if (!written.ok) return fail(written.error);
      return sendBody(res, written.value.created ? 201 : 200, written.value.object, form, { warnings: written.value.warnings });
    }
    case 'delete': {
      const body = await readObject(r, deps, objectBodyFormat(r.req.headers['content-type']), false, true);
      if (!body.ok) return fail(body.error);
      const opts = deleteOptions(q, body.value);
      if (!opts.ok) return fail(opts.error);
      const deleted = await registry.delete(r.ctx, res0, t.namespace, t.name!, opts.value);
      if (!deleted.ok) return fail(deleted.error);
      return sendBody(res, deleted.value.gone ? 200 : 202, deleted.value.object, form);
    }
    case 'deletecollection': {
      const body = await readObject(r, deps, objectBodyFormat(r.req.headers['content-type']), false, true);
      if (!body.ok) return fail(body.error);
      const del = deleteOptions(q, body.value);
      if (!del.ok) return fail(del.error);
      const opts = listOptions(q, t.namespace);
      if (!opts.ok) return fail(opts.error);
      const list = await registry.deleteCollection(r.ctx, res0, opts.value, del.value);
      if (!list.ok) return fail(list.error);
      return sendBody(res, 200, list.value, form);
    }
  }
}

const SCALE_RESOURCE: ResourceInfo = {
  group: 'autoscaling', version: 'v1', kind: 'Scale', listKind: 'ScaleList', plural: 'scales', singular: 'scale',
  namespaced: true, shortNames: [], categories: [], subresources: [], verbs: ['get', 'update', 'patch'],
};

function renderRead(r: ResourceRequest, deps: ResourceDeps, out: OutputForm, objects: readonly KubeObject[], list: KubeList | undefined): void {
  if (out.kind === 'partial') {
    const items = objects.map((o) => partialObject(o, out.apiVersion));
    const body = list === undefined ? items[0] : { kind: 'PartialObjectMetadataList', apiVersion: out.apiVersion, metadata: list.metadata, items };
    return sendBody(r.res, 200, body, 'json');
  }
  if (out.kind !== 'table') return sendBody(r.res, 200, list ?? objects[0], bodyForm(out));
  const include = includeObjectOf(r.url.searchParams);
  if (!include.ok) return sendError(r.res, include.error);
  const meta = list?.metadata ?? { resourceVersion: objects[0]?.metadata.resourceVersion ?? '' };
  // The scale subresource answers a Scale, whose table is Scale's; status answers the object.
  const shown = r.target.subresource === 'scale' ? SCALE_RESOURCE : r.target.resource;
  return sendBody(r.res, 200, table(shown, objects, {
    apiVersion: out.apiVersion,
    includeObject: include.value,
    now: deps.now(),
    resourceVersion: meta.resourceVersion,
    ...(list?.metadata.continue !== undefined ? { continue: list.metadata.continue } : {}),
    ...(list?.metadata.remainingItemCount !== undefined ? { remainingItemCount: list.metadata.remainingItemCount } : {}),
  }), 'json');
}
