/**
 * reads: get, list and watch. A get and a list without a resourceVersion are quorum reads from
 * the etcd layer (pages with continue tokens come from there too); a list at resourceVersion
 * "0" or "at least N" and every watch are served from the resource's watch cache, so a thousand
 * watchers cost the etcd layer one watch.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { apiVersionOf, err, ok } from '../../api/types.js';
import { resourcePrefix } from '../../storage/keys.js';
import type { ApiError, Disposable, KubeList, ListOptions, RequestContext, WatchOptions, WatchSink } from '../registry-api.js';
import { authorize, fromPort, keyOf, type RegistryCore } from './core.js';
import { badRequest, gone, notFound, statusOf } from './errors.js';
import type { ObjectFilter } from './ports.js';
import { scaleOf } from './scale.js';

/** get reads one object (or its status or scale) with a quorum read. */
export async function getObject(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): Promise<Result<KubeObject, ApiError>> {
  const a = authorize(core, ctx, res, 'get', { namespace, name, subresource });
  if (!a.ok) return a;
  const r = await core.storage.store.get(keyOf(res, namespace, name));
  if (!r.ok) return err(fromPort(res, name, r.error));
  if (r.value === null) return err(notFound(res, name));
  if (subresource === 'scale') return ok(scaleOf(res, r.value));
  return ok(r.value);
}

function parseRevision(rv: string | undefined): Result<number | null, ApiError> {
  if (rv === undefined || rv === '') return ok(null);
  if (!/^\d+$/.test(rv)) return err(badRequest(`resourceVersion ${JSON.stringify(rv)} is not a valid resource version: give a number from an earlier response`));
  return ok(Number(rv));
}

function filterOf(core: RegistryCore, res: ResourceInfo, o: ListOptions): Result<ObjectFilter, ApiError> {
  const f = core.schema.filterFor(res, o.labelSelector, o.fieldSelector);
  return f.ok ? f : err(badRequest(f.error));
}

function listOf(res: ResourceInfo, items: readonly KubeObject[], revision: number, cont: string | null, remaining: number): KubeList {
  return {
    apiVersion: apiVersionOf(res),
    kind: res.listKind,
    metadata: { resourceVersion: String(revision), ...(cont === null ? {} : { continue: cont, ...(remaining > 0 ? { remainingItemCount: remaining } : {}) }) },
    items,
  };
}

/** quorumList pages through the store, filtering, until `limit` matching items are found. */
async function quorumList(core: RegistryCore, res: ResourceInfo, o: ListOptions, filter: ObjectFilter, exact: number | null): Promise<Result<KubeList, ApiError>> {
  const prefix = resourcePrefix(res, o.namespace);
  const limit = o.limit !== undefined && o.limit > 0 ? o.limit : undefined;
  const items: KubeObject[] = [];
  let cont = o.continue;
  let revision = exact ?? undefined;
  let remaining = 0;
  for (;;) {
    // An unfiltered page asks for exactly what is missing; a filtered one reads ahead.
    const want = limit === undefined ? undefined : filter.empty ? limit - items.length : Math.max(limit - items.length, 100);
    const page = await core.storage.store.list(prefix, {
      ...(want === undefined ? {} : { limit: want }),
      ...(cont === undefined ? {} : { continueKey: cont }),
      ...(revision === undefined ? {} : { revision }),
    });
    if (!page.ok) {
      if (page.error.kind === 'gone' && o.continue !== undefined) return err(gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.'));
      return err(fromPort(res, '', page.error));
    }
    revision = page.value.revision;
    let cutAt: KubeObject | null = null;
    const its = page.value.items;
    for (let i = 0; i < its.length; i++) {
      const it = its[i]!;
      if (!filter.matches(it)) continue;
      items.push(it);
      if (limit !== undefined && items.length >= limit) {
        if (i < its.length - 1) cutAt = it;
        break;
      }
    }
    if (cutAt !== null) {
      // The page filled up before its end: resume right after the last item returned.
      cont = core.storage.store.continueToken(revision, keyOf(res, cutAt.metadata.namespace, cutAt.metadata.name ?? ''));
      remaining = 0;
    } else {
      cont = page.value.continueKey ?? undefined;
      remaining = page.value.remaining;
    }
    if (cont === undefined || (limit !== undefined && items.length >= limit)) break;
  }
  return ok(listOf(res, items, revision ?? 0, cont ?? null, filter.empty ? remaining : 0));
}

/** list answers a list request from the store or the watch cache per its resourceVersion. */
export async function listObjects(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, o: ListOptions): Promise<Result<KubeList, ApiError>> {
  const a = authorize(core, ctx, res, 'list', { namespace: o.namespace });
  if (!a.ok) return a;
  const f = filterOf(core, res, o);
  if (!f.ok) return f;
  const rv = parseRevision(o.resourceVersion);
  if (!rv.ok) return rv;
  if (o.continue !== undefined && o.continue !== '') {
    if (rv.value !== null) return err(badRequest('specifying resource version is not allowed when using continue'));
    return quorumList(core, res, o, f.value, null);
  }
  if (rv.value === null) return quorumList(core, res, o, f.value, null);
  if (o.resourceVersionMatch === 'Exact') return quorumList(core, res, o, f.value, rv.value);
  const cached = await core.storage.cacheFor(res).list({
    ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
    ...(f.value.empty ? {} : { filter: (x: KubeObject) => f.value.matches(x) }),
    ...(rv.value === 0 ? {} : { minRevision: rv.value }),
  });
  if (!cached.ok) return err(fromPort(res, '', cached.error));
  return ok(listOf(res, cached.value.items, cached.value.revision, null, 0));
}

/**
 * watch streams changes from the watch cache: from resourceVersion N on, or (without one, or
 * with "0") the current state as ADDED events first, as Kubernetes does.
 */
export async function watchObjects(core: RegistryCore, ctx: RequestContext, res: ResourceInfo, o: WatchOptions, sink: WatchSink): Promise<Result<Disposable, ApiError>> {
  const a = authorize(core, ctx, res, 'watch', { namespace: o.namespace });
  if (!a.ok) return a;
  const f = filterOf(core, res, o);
  if (!f.ok) return f;
  const rv = parseRevision(o.resourceVersion);
  if (!rv.ok) return rv;
  const fromScratch = rv.value === null || rv.value === 0;
  const w = core.storage.cacheFor(res).watch(
    {
      ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
      ...(f.value.empty ? {} : { filter: (x: KubeObject) => f.value.matches(x) }),
      fromRevision: fromScratch ? 0 : rv.value ?? 0,
      sendInitialEvents: o.sendInitialEvents ?? fromScratch,
      bookmarks: o.allowWatchBookmarks ?? false,
    },
    {
      event: (ev) => sink.event({ type: ev.type, object: ev.object }),
      closed: (e) => {
        if (e === null) {
          sink.closed(null);
          return;
        }
        const apiErr = fromPort(res, '', e);
        sink.event({ type: 'ERROR', object: statusOf(apiErr) });
        sink.closed(apiErr);
      },
    },
  );
  if (!w.ok) return err(fromPort(res, '', w.error));
  return ok(w.value);
}
