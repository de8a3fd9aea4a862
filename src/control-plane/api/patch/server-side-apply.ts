/**
 * server-side-apply: `kubectl apply --server-side` (content type application/apply-patch+yaml)
 * — a manager's whole intent for an object, merged into the live object with the field
 * ownership Kubernetes records in metadata.managedFields.
 *
 * What it does, as Kubernetes does:
 * - the applied configuration merges into the live object (lists with a merge key by key,
 *   `merge` lists of scalars as sets, other lists and values replaced);
 * - the manager then owns exactly the fields of its configuration; a field it applied before
 *   and leaves out now is removed, unless another manager owns it too;
 * - setting a field another manager owns to a different value is a conflict (409) unless
 *   `force`, which takes the field over.
 * What it does not: ownership is recorded for apply operations only. Updates and patches
 * (operation Update) own nothing here, so they never conflict with an apply; and list items are
 * keyed by the patch merge key alone (Kubernetes keys some lists, such as container ports, by
 * two fields).
 */
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import type { FieldSchema, SchemaCatalog, TypeRef } from '../schema/format.js';
import type { KubeObject, Result } from '../types.js';
import { err, ok } from '../types.js';
import type { PatchError } from './error.js';
import { badRequest } from './error.js';
import { applyStrategicMergePatch } from './strategic-merge.js';

/** ApplyOptions are the caller's fieldManager, force flag, the object's apiVersion and the time. */
export interface ApplyOptions {
  readonly manager: string;
  readonly force: boolean;
  readonly apiVersion: string;
  /** time is the RFC 3339 time recorded in the manager's managedFields entry. */
  readonly time: string;
}

/** ApplyConflict is one field another manager owns with a different value. */
export interface ApplyConflict {
  readonly manager: string;
  /** field is the path as Kubernetes prints it, e.g. .spec.replicas or .spec.containers[name="web"].image. */
  readonly field: string;
}

/** ApplyError is a malformed configuration (400) or conflicts with other managers (409). */
export type ApplyError = PatchError | { readonly code: 409; readonly reason: 'Conflict'; readonly message: string; readonly conflicts: readonly ApplyConflict[] };

type JsonObject = Record<string, unknown>;

const SEP = '\n';
/** Fields an applied configuration never owns: identity, system metadata, and status. */
const TOP_IGNORED = new Set(['apiVersion', 'kind', 'status']);
const META_IGNORED = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Manager is one managedFields entry with its field set. */
interface Manager {
  readonly manager: string;
  readonly operation: string;
  readonly apiVersion: string;
  readonly time: string | undefined;
  readonly subresource: string | undefined;
  readonly fields: Set<string>;
}

/**
 * serverSideApply applies `config` (the manager's full configuration) to `live` (absent: the
 * object does not exist yet and the result is created) and returns the object to store, with
 * managedFields updated. `typeName` is the catalogue type of the object.
 */
export function serverSideApply(live: KubeObject | undefined, config: unknown, catalog: SchemaCatalog, typeName: string, opts: ApplyOptions): Result<KubeObject, ApplyError> {
  if (!isObject(config)) return err(badRequest('A server-side apply configuration must be an object (a whole manifest with apiVersion, kind and metadata)'));
  if (opts.manager === '') return err(badRequest('Server-side apply needs a field manager; pass fieldManager (kubectl sets it)'));
  const meta = config['metadata'];
  if (isObject(meta) && meta['managedFields'] !== undefined && meta['managedFields'] !== null) {
    return err(badRequest('metadata.managedFields must be nil in an applied configuration; remove it'));
  }
  const intent = ownedPart(config);
  if (hasDirective(intent)) return err(badRequest('An applied configuration may not carry strategic merge directives ($patch, $setElementOrder, ...); send the plain manifest'));
  const root: TypeRef = { kind: 'ref', name: typeName };
  const owned = new Set<string>();
  const leaves = new Set<string>();
  collectPaths(intent, root, '', catalog, owned, leaves);
  const managers = parseManagedFields(live?.metadata.managedFields);
  const mine = managers.find((m) => m.manager === opts.manager && m.operation === 'Apply' && m.subresource === undefined);
  const others = managers.filter((m) => m !== mine);

  const conflicts: ApplyConflict[] = [];
  if (live !== undefined) {
    for (const p of leaves) {
      for (const o of others) {
        if (!o.fields.has(p)) continue;
        if (deepEqual(valueAt(live, p), valueAt(config, p))) continue;
        if (opts.force) takeFrom(o.fields, p);
        else conflicts.push({ manager: o.manager, field: printPath(p) });
      }
    }
  }
  if (conflicts.length > 0) {
    const list = conflicts.map((c) => `conflict with ${JSON.stringify(c.manager)}: ${c.field}`).join('\n- ');
    const n = conflicts.length === 1 ? '1 conflict' : `${conflicts.length} conflicts`;
    return err({ code: 409, reason: 'Conflict', message: `Apply failed with ${n}: ${conflicts.length === 1 ? list : `\n- ${list}`}\nPass --force-conflicts to take these fields over, or leave them out of the configuration`, conflicts });
  }

  const base: JsonObject = live === undefined ? { apiVersion: config['apiVersion'], kind: config['kind'], metadata: identityOf(config) } : live;
  const merged = applyStrategicMergePatch(base, intent, catalog, typeName);
  if (!merged.ok) return merged;
  let result = merged.value as JsonObject;
  // Fields this manager applied before and leaves out now go, unless someone else holds them.
  // A dropped map that held other applied fields goes only when nothing is left in it (the
  // server may have defaulted fields there); a dropped field or list item goes outright.
  const before = mine?.fields ?? new Set<string>();
  const dropped = [...before].filter((p) => !owned.has(p) && !heldElsewhere(p, owned, others));
  const structural = (p: string): boolean => p.slice(p.lastIndexOf(SEP) + 1).startsWith('f:') && hasDescendant(before, p);
  // Whole values and list items first (shallowest first, skipping what an earlier removal took
  // with it), then the maps that held them, deepest first, if they are left empty.
  const outright = dropped.filter((p) => !structural(p)).sort((a, b) => a.length - b.length);
  const removed: string[] = [];
  for (const p of outright) {
    if (removed.some((q) => p.startsWith(`${q}${SEP}`))) continue;
    result = removeAt(result, p.split(SEP));
    removed.push(p);
  }
  for (const p of dropped.filter(structural).sort((a, b) => b.length - a.length)) {
    if (removed.some((q) => p.startsWith(`${q}${SEP}`))) continue;
    if (isEmpty(valueAt(result, p))) result = removeAt(result, p.split(SEP));
  }
  const entries: ManagedFieldsEntry[] = [];
  for (const o of others) if (o.fields.size > 0) entries.push(entryOf(o.manager, o.operation, o.apiVersion, o.time, o.subresource, o.fields));
  entries.push(entryOf(opts.manager, 'Apply', opts.apiVersion, opts.time, undefined, owned));
  const metadata = isObject(result['metadata']) ? result['metadata'] : {};
  return ok({ ...result, metadata: { ...metadata, managedFields: entries } } as KubeObject);
}

/** ownedPart is the configuration without the fields an apply never owns. */
function ownedPart(config: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(config)) {
    if (TOP_IGNORED.has(k)) continue;
    if (k === 'metadata' && isObject(v)) {
      const m: JsonObject = {};
      for (const [mk, mv] of Object.entries(v)) if (!META_IGNORED.has(mk)) m[mk] = mv;
      if (Object.keys(m).length > 0) out[k] = m;
    } else out[k] = v;
  }
  return out;
}

/** takeFrom removes a forced field from another manager, with the maps that only led to it. */
function takeFrom(fields: Set<string>, p: string): void {
  fields.delete(p);
  for (let cut = p.lastIndexOf(SEP); cut > 0; cut = p.lastIndexOf(SEP, cut - 1)) {
    const parent = p.slice(0, cut);
    if (hasDescendant(fields, parent)) return;
    fields.delete(parent);
  }
}

function identityOf(config: JsonObject): JsonObject {
  const meta = isObject(config['metadata']) ? config['metadata'] : {};
  const out: JsonObject = {};
  for (const k of ['name', 'namespace', 'generateName']) if (meta[k] !== undefined) out[k] = meta[k];
  return out;
}

function hasDirective(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasDirective);
  if (!isObject(v)) return false;
  return Object.entries(v).some(([k, x]) => k.startsWith('$') || hasDirective(x));
}

function fieldOf(catalog: SchemaCatalog, t: TypeRef | undefined, key: string): { type: TypeRef | undefined; schema: FieldSchema | undefined } {
  if (t?.kind === 'map') return { type: t.values, schema: undefined };
  if (t?.kind !== 'ref') return { type: undefined, schema: undefined };
  const f = catalog.types[t.name]?.fields[key];
  return { type: f?.type, schema: f };
}

/**
 * collectPaths records every field path of a configuration in `owned` (segments 'f:<field>',
 * 'k:{"<mergeKey>":<value>}' for an element of a keyed list, 'v:<json>' for a set member) and
 * the paths that carry values (scalars, atomic lists, empty maps) in `leaves`.
 */
function collectPaths(value: JsonObject, t: TypeRef | undefined, prefix: string, catalog: SchemaCatalog, owned: Set<string>, leaves: Set<string>): void {
  for (const [k, v] of Object.entries(value)) {
    const p = prefix === '' ? `f:${k}` : `${prefix}${SEP}f:${k}`;
    owned.add(p);
    const f = fieldOf(catalog, t, k);
    const strategy = f.schema?.patchStrategy;
    if (isObject(v) && Object.keys(v).length > 0 && strategy !== 'replace') {
      collectPaths(v, f.type, p, catalog, owned, leaves);
    } else if (Array.isArray(v) && (strategy === 'merge' || strategy === 'merge,retainKeys')) {
      const mergeKey = f.schema?.patchMergeKey;
      const items = f.type?.kind === 'array' ? f.type.items : undefined;
      for (const el of v) {
        if (mergeKey !== undefined && isObject(el)) {
          const ep = `${p}${SEP}k:${JSON.stringify({ [mergeKey]: el[mergeKey] })}`;
          owned.add(ep);
          collectPaths(el, items, ep, catalog, owned, leaves);
        } else {
          const ep = `${p}${SEP}v:${JSON.stringify(el)}`;
          owned.add(ep);
          leaves.add(ep);
        }
      }
    } else {
      leaves.add(p);
    }
  }
}

/** valueAt reads the value at a path; a missing element or field reads as undefined. */
function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split(SEP)) {
    const body = seg.slice(2);
    if (seg.startsWith('f:')) cur = isObject(cur) ? cur[body] : undefined;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(body) as JsonObject;
      const [[name, want] = ['', undefined]] = Object.entries(key);
      cur = Array.isArray(cur) ? cur.find((e) => isObject(e) && deepEqual(e[name], want)) : undefined;
    } else {
      const want: unknown = JSON.parse(body);
      cur = Array.isArray(cur) && cur.some((e) => deepEqual(e, want)) ? want : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** removeAt returns `obj` without the field, element or member at the path (copying along it). */
function removeAt(obj: JsonObject, segs: readonly string[]): JsonObject {
  const [seg, ...rest] = segs;
  if (seg === undefined || !seg.startsWith('f:')) return obj;
  const name = seg.slice(2);
  if (!Object.hasOwn(obj, name)) return obj;
  if (rest.length === 0) {
    const copy = { ...obj };
    delete copy[name];
    return copy;
  }
  const child = obj[name];
  const next = rest[0] ?? '';
  if (Array.isArray(child) && (next.startsWith('k:') || next.startsWith('v:'))) {
    const list = removeFromList(child, next, rest.slice(1));
    return list === child ? obj : { ...obj, [name]: list };
  }
  if (!isObject(child)) return obj;
  const updated = removeAt(child, rest);
  return updated === child ? obj : { ...obj, [name]: updated };
}

function removeFromList(list: readonly unknown[], seg: string, rest: readonly string[]): unknown[] | readonly unknown[] {
  const body = seg.slice(2);
  if (seg.startsWith('v:')) {
    const want: unknown = JSON.parse(body);
    return rest.length === 0 ? list.filter((e) => !deepEqual(e, want)) : list;
  }
  const key = JSON.parse(body) as JsonObject;
  const [[name, want] = ['', undefined]] = Object.entries(key);
  const matches = (e: unknown): e is JsonObject => isObject(e) && deepEqual(e[name], want);
  if (rest.length === 0) return list.filter((e) => !matches(e));
  return list.map((e) => (matches(e) ? removeAt(e, rest) : e));
}

/** heldElsewhere tells whether a dropped path must stay: still applied below, or owned by another manager. */
function heldElsewhere(p: string, owned: ReadonlySet<string>, others: readonly Manager[]): boolean {
  const below = `${p}${SEP}`;
  for (const q of owned) if (q.startsWith(below)) return true;
  for (const o of others) {
    if (o.fields.has(p)) return true;
    for (const q of o.fields) if (q.startsWith(below)) return true;
  }
  return false;
}

function hasDescendant(fields: ReadonlySet<string>, p: string): boolean {
  const below = `${p}${SEP}`;
  for (const q of fields) if (q.startsWith(below)) return true;
  return false;
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** printPath renders a path as Kubernetes prints conflicting fields. */
function printPath(p: string): string {
  return p
    .split(SEP)
    .map((seg) => {
      const body = seg.slice(2);
      if (seg.startsWith('f:')) return `.${body}`;
      if (seg.startsWith('v:')) return `[=${body}]`;
      const key = JSON.parse(body) as JsonObject;
      return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    })
    .join('');
}

/** parseManagedFields reads managedFields entries into field sets (FieldsV1 trees flattened to paths). */
function parseManagedFields(entries: readonly ManagedFieldsEntry[] | undefined): Manager[] {
  const out: Manager[] = [];
  for (const e of entries ?? []) {
    const fields = new Set<string>();
    flatten(e.fieldsV1, '', fields);
    out.push({ manager: e.manager ?? '', operation: e.operation ?? 'Update', apiVersion: e.apiVersion ?? '', time: e.time, subresource: e.subresource, fields });
  }
  return out;
}

function flatten(tree: unknown, prefix: string, out: Set<string>): void {
  if (!isObject(tree)) return;
  for (const [k, v] of Object.entries(tree)) {
    if (k === '.') continue;
    const p = prefix === '' ? k : `${prefix}${SEP}${k}`;
    out.add(p);
    flatten(v, p, out);
  }
}

/** entryOf builds a managedFields entry with the FieldsV1 tree of a path set. */
function entryOf(manager: string, operation: string, apiVersion: string, time: string | undefined, subresource: string | undefined, fields: ReadonlySet<string>): ManagedFieldsEntry {
  const tree: JsonObject = {};
  for (const p of fields) {
    let node = tree;
    for (const seg of p.split(SEP)) {
      let next = node[seg];
      if (!isObject(next)) {
        next = seg.startsWith('k:') || seg.startsWith('v:') ? { '.': {} } : {};
        node[seg] = next;
      }
      node = next as JsonObject;
    }
  }
  return {
    manager,
    operation,
    apiVersion,
    ...(time === undefined ? {} : { time }),
    fieldsType: 'FieldsV1',
    fieldsV1: tree,
    ...(subresource === undefined ? {} : { subresource }),
  };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  return keys.length === Object.keys(bo).length && keys.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}
