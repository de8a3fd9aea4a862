/**
 * query: a request's query parameters as the registry's options (list, watch, write, delete),
 * refusing values Kubernetes would refuse with a 400 that names the parameter.
 */
import { err, ok, type Result } from '../../api/types.js';
import type {
  ApiError, DeleteOptions, FieldValidation, ListOptions, PropagationPolicy, ResourceVersionMatch, WatchOptions, WriteOptions,
} from '../registry-api.js';
import { badRequest } from './status.js';
import type { IncludeObject } from './negotiate.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** parseBool reads a Go-style boolean ('true', '1', 't', ...); undefined when absent. */
export function parseBool(q: URLSearchParams, name: string): Result<boolean | undefined, ApiError> {
  const v = q.get(name);
  if (v === null) return ok(undefined);
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return ok(true);
  if (['0', 'f', 'F', 'false', 'FALSE', 'False', ''].includes(v)) return ok(false);
  return err(badRequest(`Query parameter ${name}="${v}" is not a boolean; use true or false`));
}

function parseNonNegativeInt(q: URLSearchParams, name: string): Result<number | undefined, ApiError> {
  const v = q.get(name);
  if (v === null || v === '') return ok(undefined);
  if (!/^-?\d+$/.test(v) || Number(v) < 0) return err(badRequest(`Query parameter ${name}="${v}" is not a non-negative integer; give a whole number of ${name === 'limit' ? 'items' : 'seconds'}`));
  return ok(Number(v));
}

/** isWatch tells whether a GET asks for a watch (watch=true or watch=1). */
export function isWatch(q: URLSearchParams): Result<boolean, ApiError> {
  const w = parseBool(q, 'watch');
  return w.ok ? ok(w.value === true) : w;
}

/** listOptions reads list's parameters; `namespace` comes from the path. */
export function listOptions(q: URLSearchParams, namespace: string | undefined): Result<ListOptions, ApiError> {
  const o: Mutable<ListOptions> = {};
  if (namespace !== undefined) o.namespace = namespace;
  const labelSelector = q.get('labelSelector');
  if (labelSelector !== null && labelSelector !== '') o.labelSelector = labelSelector;
  const fieldSelector = q.get('fieldSelector');
  if (fieldSelector !== null && fieldSelector !== '') o.fieldSelector = fieldSelector;
  const limit = parseNonNegativeInt(q, 'limit');
  if (!limit.ok) return limit;
  if (limit.value !== undefined && limit.value > 0) o.limit = limit.value;
  const cont = q.get('continue');
  if (cont !== null && cont !== '') o.continue = cont;
  const rv = q.get('resourceVersion');
  if (rv !== null) o.resourceVersion = rv;
  const rvm = q.get('resourceVersionMatch');
  if (rvm !== null && rvm !== '') {
    if (rvm !== 'NotOlderThan' && rvm !== 'Exact') return err(badRequest(`Query parameter resourceVersionMatch="${rvm}" is not supported; use NotOlderThan or Exact`));
    if (rv === null || rv === '') return err(badRequest('Query parameter resourceVersionMatch needs a resourceVersion; give resourceVersion too or drop resourceVersionMatch'));
    o.resourceVersionMatch = rvm satisfies ResourceVersionMatch;
  }
  return ok(o);
}

/** watchOptions reads watch's parameters on top of list's. */
export function watchOptions(q: URLSearchParams, namespace: string | undefined): Result<WatchOptions, ApiError> {
  const base = listOptions(q, namespace);
  if (!base.ok) return base;
  const o: Mutable<WatchOptions> = { ...base.value };
  const timeout = parseNonNegativeInt(q, 'timeoutSeconds');
  if (!timeout.ok) return timeout;
  if (timeout.value !== undefined && timeout.value > 0) o.timeoutSeconds = timeout.value;
  const bookmarks = parseBool(q, 'allowWatchBookmarks');
  if (!bookmarks.ok) return bookmarks;
  if (bookmarks.value !== undefined) o.allowWatchBookmarks = bookmarks.value;
  const initial = parseBool(q, 'sendInitialEvents');
  if (!initial.ok) return initial;
  if (initial.value !== undefined) o.sendInitialEvents = initial.value;
  return ok(o);
}

function dryRunOf(q: URLSearchParams): Result<boolean | undefined, ApiError> {
  const values = q.getAll('dryRun');
  if (values.length === 0) return ok(undefined);
  for (const v of values) {
    if (v !== 'All') return err(badRequest(`Query parameter dryRun="${v}" is not supported; use dryRun=All`));
  }
  return ok(true);
}

/** writeOptions reads create's, update's and patch's parameters. */
export function writeOptions(q: URLSearchParams): Result<WriteOptions, ApiError> {
  const o: Mutable<WriteOptions> = {};
  const dry = dryRunOf(q);
  if (!dry.ok) return dry;
  if (dry.value !== undefined) o.dryRun = dry.value;
  const fv = q.get('fieldValidation');
  if (fv !== null && fv !== '') {
    if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') return err(badRequest(`Query parameter fieldValidation="${fv}" is not supported; use Strict, Warn or Ignore`));
    o.fieldValidation = fv satisfies FieldValidation;
  }
  const fm = q.get('fieldManager');
  if (fm !== null && fm !== '') {
    if (fm.length > 128) return err(badRequest('Query parameter fieldManager is longer than 128 characters; use a shorter name'));
    o.fieldManager = fm;
  }
  const force = parseBool(q, 'force');
  if (!force.ok) return force;
  if (force.value !== undefined) o.force = force.value;
  return ok(o);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function propagationOf(v: unknown, where: string): Result<PropagationPolicy | undefined, ApiError> {
  if (v === undefined || v === null || v === '') return ok(undefined);
  if (v === 'Orphan' || v === 'Background' || v === 'Foreground') return ok(v);
  return err(badRequest(`${where} propagationPolicy=${JSON.stringify(v)} is not supported; use Orphan, Background or Foreground`));
}

/**
 * deleteOptions merges delete's parameters from the query and from an optional DeleteOptions
 * body (the body wins where both speak). orphanDependents=true means propagationPolicy Orphan.
 */
export function deleteOptions(q: URLSearchParams, body: unknown): Result<DeleteOptions, ApiError> {
  const o: Mutable<DeleteOptions> = {};
  const grace = parseNonNegativeInt(q, 'gracePeriodSeconds');
  if (!grace.ok) return grace;
  if (grace.value !== undefined) o.gracePeriodSeconds = grace.value;
  const orphan = parseBool(q, 'orphanDependents');
  if (!orphan.ok) return orphan;
  if (orphan.value !== undefined) o.propagationPolicy = orphan.value ? 'Orphan' : 'Background';
  const prop = propagationOf(q.get('propagationPolicy') ?? undefined, 'Query parameter');
  if (!prop.ok) return prop;
  if (prop.value !== undefined) o.propagationPolicy = prop.value;
  const dry = dryRunOf(q);
  if (!dry.ok) return dry;
  if (dry.value !== undefined) o.dryRun = dry.value;
  if (body === undefined) return ok(o);
  if (!isRecord(body)) return err(badRequest('The DeleteOptions body must be an object; send a DeleteOptions or no body'));
  if (body['gracePeriodSeconds'] !== undefined && body['gracePeriodSeconds'] !== null) {
    const g = body['gracePeriodSeconds'];
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 0) return err(badRequest('DeleteOptions gracePeriodSeconds must be a non-negative integer; fix the body'));
    o.gracePeriodSeconds = g;
  }
  if (body['orphanDependents'] === true) o.propagationPolicy = 'Orphan';
  if (body['orphanDependents'] === false) o.propagationPolicy = 'Background';
  const bodyProp = propagationOf(body['propagationPolicy'], 'DeleteOptions');
  if (!bodyProp.ok) return bodyProp;
  if (bodyProp.value !== undefined) o.propagationPolicy = bodyProp.value;
  const pre = body['preconditions'];
  if (isRecord(pre)) {
    const p: { uid?: string; resourceVersion?: string } = {};
    if (typeof pre['uid'] === 'string') p.uid = pre['uid'];
    if (typeof pre['resourceVersion'] === 'string') p.resourceVersion = pre['resourceVersion'];
    o.preconditions = p;
  }
  const dr = body['dryRun'];
  if (Array.isArray(dr) && dr.length > 0) {
    if (!dr.every((x) => x === 'All')) return err(badRequest('DeleteOptions dryRun must be ["All"]; fix the body'));
    o.dryRun = true;
  }
  return ok(o);
}

/** includeObjectOf reads the Table's includeObject parameter (default Metadata). */
export function includeObjectOf(q: URLSearchParams): Result<IncludeObject, ApiError> {
  const v = q.get('includeObject');
  if (v === null || v === '') return ok('Metadata');
  if (v === 'None' || v === 'Metadata' || v === 'Object') return ok(v);
  return err(badRequest(`Query parameter includeObject="${v}" is not supported; use None, Metadata or Object`));
}
