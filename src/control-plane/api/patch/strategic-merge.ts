/**
 * strategic-merge: Kubernetes' strategic merge patch, as `kubectl apply`, `edit`, `label`,
 * `annotate` and `patch --type strategic` send it, driven by the schema catalogue's patch
 * metadata (patchStrategy, patchMergeKey).
 *
 * Semantics (those of k8s.io/apimachinery's strategicpatch, with the apiserver's options: null
 * values in the patch never reach the stored object, parallel directive lists are honoured):
 * - objects merge recursively; `key: null` deletes the key;
 * - a list whose field has strategy `merge` and a merge key merges element-wise by that key
 *   (matching elements merge, new ones are added); a `merge` list of scalars merges as a set;
 *   every other list is replaced;
 * - after a list merge, elements named by the patch come in the patch's order and the others
 *   keep their place from the stored list as well as they can (Kubernetes' mergeSortedSlice);
 * - directives: `$patch: replace|delete|merge` in an object or a list element,
 *   `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.
 *
 * NB: neither input is mutated; the result shares the subtrees the patch did not touch with
 * `original`, so a caller that edits the result in place must copy first.
 */
import type { FieldSchema, SchemaCatalog, TypeRef } from '../schema/format.js';
import type { Result } from '../types.js';
import { err, ok } from '../types.js';
import type { PatchError } from './error.js';
import { badRequest, unprocessable } from './error.js';

type JsonObject = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Failure carries a PatchError out of the recursion; only applyStrategicMergePatch catches it. */
class Failure extends Error {
  constructor(readonly patchError: PatchError) {
    super(patchError.message);
  }
}

function fail(e: PatchError): never {
  throw new Failure(e);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** shapeOf tells the JSON shape of a value, as Go's reflect.Kind tells it for decoded JSON. */
function shapeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/**
 * applyStrategicMergePatch applies a strategic merge patch to `original`, an object of the
 * catalogue type `typeName` (e.g. 'io.k8s.api.core.v1.Pod'). A patch that is not an object, or
 * uses an unknown directive, is a 400; one whose directives do not fit the object is a 422.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown, catalog: SchemaCatalog, typeName: string): Result<unknown, PatchError> {
  if (!isObject(patch)) {
    return err(badRequest(`The strategic merge patch must be a JSON object, not ${shapeOf(patch)}; send e.g. {"metadata":{"labels":{"app":"web"}}}`));
  }
  try {
    const base = isObject(original) ? original : undefined;
    return ok(new Merger(catalog).mergeObject(base, patch, { kind: 'ref', name: typeName }));
  } catch (e) {
    if (e instanceof Failure) return err(e.patchError);
    throw e;
  }
}

/** ListTrace records, for `$setElementOrder`, the stored list after deletions and the elements a merge added. */
interface ListTrace {
  base: readonly unknown[];
  readonly appended: unknown[];
}

/** FieldMeta is what the schema says about one key of an object. */
interface FieldMeta {
  readonly type: TypeRef | undefined;
  readonly schema: FieldSchema | undefined;
}

const NO_META: FieldMeta = { type: undefined, schema: undefined };

class Merger {
  readonly #catalog: SchemaCatalog;

  constructor(catalog: SchemaCatalog) {
    this.#catalog = catalog;
  }

  /** fieldMeta looks up `key` in an object of type `t`; unknown types and keys have none. */
  fieldMeta(t: TypeRef | undefined, key: string): FieldMeta {
    if (t === undefined) return NO_META;
    if (t.kind === 'map') return { type: t.values, schema: undefined };
    if (t.kind !== 'ref') return NO_META;
    const field = this.#catalog.types[t.name]?.fields[key];
    return field === undefined ? NO_META : { type: field.type, schema: field };
  }

  /** mergeObject merges `patch` into `original` (absent: an empty object); see the module comment. */
  mergeObject(original: JsonObject | undefined, patch: JsonObject, t: TypeRef | undefined): JsonObject {
    let body = patch;
    if (Object.hasOwn(patch, DIRECTIVE)) {
      const d = patch[DIRECTIVE];
      if (d === 'delete') return {};
      if (d === 'replace') return cleanObject(withoutKey(patch, DIRECTIVE));
      if (d !== 'merge') fail(badRequest(`Unknown patch directive $patch: ${show(d)} in ${show(patch)}; use replace, delete or merge`));
      body = withoutKey(patch, DIRECTIVE);
    }
    const out: JsonObject = original === undefined ? {} : { ...original };
    if (Object.hasOwn(body, RETAIN_KEYS)) retainKeys(out, body);
    const done = new Set<string>();
    for (const key of Object.keys(body)) {
      if (key.startsWith(SET_ORDER)) this.#setElementOrder(out, body, key, t, done);
    }
    for (const key of Object.keys(body)) {
      const pv = body[key];
      if (done.has(key) || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
      if (key.startsWith(DELETE_PRIMITIVE)) {
        deleteFromPrimitiveList(out, key.slice(DELETE_PRIMITIVE.length), pv);
        continue;
      }
      if (key.startsWith('$')) fail(badRequest(`Unknown patch directive ${key}; use $patch, $retainKeys, $setElementOrder/<list> or $deleteFromPrimitiveList/<list>`));
      if (pv === null) {
        delete out[key];
        continue;
      }
      const ov = out[key];
      if (!Object.hasOwn(out, key) || shapeOf(ov) !== shapeOf(pv)) {
        const v = clean(pv);
        if (v === DROP) delete out[key];
        else out[key] = v;
        continue;
      }
      const meta = this.fieldMeta(t, key);
      if (isObject(pv) && isObject(ov)) {
        out[key] = meta.schema?.patchStrategy === 'replace' ? cleanObject(pv) : this.mergeObject(ov, pv, meta.type);
      } else if (Array.isArray(pv) && Array.isArray(ov)) {
        out[key] = this.mergeListField(ov, pv, meta);
      } else {
        out[key] = pv;
      }
    }
    return out;
  }

  /** mergeListField combines a stored list with a patch list according to the field's strategy. */
  mergeListField(original: readonly unknown[], patch: readonly unknown[], meta: FieldMeta, trace?: ListTrace): unknown[] {
    const strategy = meta.schema?.patchStrategy;
    if (strategy !== 'merge' && strategy !== 'merge,retainKeys') return cleanArray(patch);
    const items = meta.type?.kind === 'array' ? meta.type.items : undefined;
    return this.mergeList(original, patch, meta.schema?.patchMergeKey ?? '', items, trace);
  }

  /** mergeList merges a patch list into a stored one: by `mergeKey` for objects, as a set for scalars. */
  mergeList(original: readonly unknown[], patch: readonly unknown[], mergeKey: string, items: TypeRef | undefined, trace?: ListTrace): unknown[] {
    if (original.length === 0 && patch.length === 0) return [];
    // Special elements ({$patch: ...}) first: they delete from or replace the stored list.
    const plain: unknown[] = [];
    const deleted = new Set<unknown>();
    let replace = false;
    for (const pe of patch) {
      if (!isObject(pe) || !Object.hasOwn(pe, DIRECTIVE)) {
        plain.push(pe);
        continue;
      }
      const d = pe[DIRECTIVE];
      if (d === 'replace') replace = true;
      else if (d === 'delete') {
        if (mergeKey === '') fail(badRequest(`A $patch: delete element needs a merge key, and this list has none: ${show(pe)}`));
        if (!Object.hasOwn(pe, mergeKey)) fail(badRequest(`The element ${show(pe)} does not contain the declared merge key ${mergeKey}; add it`));
        deleted.add(pe[mergeKey]);
      } else if (d !== 'merge') fail(badRequest(`Unknown patch directive $patch: ${show(d)} in list element ${show(pe)}; use replace, delete or merge`));
    }
    if (replace) return cleanArray(plain);
    const base = deleted.size === 0 ? original : original.filter((e) => !(isObject(e) && deleted.has(e[mergeKey])));
    const objects = firstShape(base, plain) === 'object';
    if (!objects) {
      const merged = dedupe([...base, ...plain]);
      return normalizeOrder(merged, identityIndex(plain), identityIndex(base), identity);
    }
    if (mergeKey === '') {
      fail(badRequest('This list of objects has no merge key, so it cannot be merged; send the whole list with "$patch": "replace" or use a JSON merge patch'));
    }
    const keyOf = (e: unknown): unknown => (isObject(e) ? e[mergeKey] : undefined);
    if (trace !== undefined) trace.base = base;
    const merged = [...base];
    const at = new Map<unknown, number>();
    merged.forEach((e, i) => {
      const k = keyOf(e);
      if (k !== undefined && !at.has(k)) at.set(k, i);
    });
    for (const pe of plain) {
      if (!isObject(pe)) fail(badRequest(`Every element of a merged list of objects must be an object, not ${show(pe)}`));
      if (!Object.hasOwn(pe, mergeKey)) fail(badRequest(`The element ${show(pe)} does not contain the declared merge key ${mergeKey}; add it`));
      const k = pe[mergeKey];
      const i = at.get(k);
      if (i === undefined) {
        at.set(k, merged.length);
        merged.push(this.mergeObject(undefined, pe, items));
        trace?.appended.push(merged[merged.length - 1]);
      } else {
        const cur = merged[i];
        merged[i] = this.mergeObject(isObject(cur) ? cur : undefined, pe, items);
      }
    }
    return normalizeOrder(merged, keyIndex(plain, keyOf), keyIndex(base, keyOf), keyOf);
  }

  /** #setElementOrder merges the list `$setElementOrder/<f>` names and puts it in that order. */
  #setElementOrder(out: JsonObject, patch: JsonObject, key: string, t: TypeRef | undefined, done: Set<string>): void {
    const field = key.slice(SET_ORDER.length);
    const order = patch[key];
    if (!Array.isArray(order)) fail(unprocessable(`Invalid patch type of setElementOrder list: ${key} must be a list, not ${shapeOf(order)}`));
    const meta = this.fieldMeta(t, field);
    const mergeKey = meta.schema?.patchMergeKey ?? '';
    const orig = out[field];
    const pl = patch[field];
    const foundOriginal = Array.isArray(orig);
    const foundPatch = Array.isArray(pl);
    if (Object.hasOwn(out, field) && !foundOriginal && orig !== null) fail(unprocessable(`Invalid patch: ${field} is not a list in the object, but ${key} orders it`));
    if (Object.hasOwn(patch, field) && !foundPatch) {
      if (pl === null) return;
      fail(unprocessable(`Invalid patch: ${field} must be a list when ${key} is given, not ${shapeOf(pl)}`));
    }
    const keyOf = mergeKey === '' ? identity : (e: unknown): unknown => (isObject(e) ? e[mergeKey] : undefined);
    const orderIndex = keyIndex(order, keyOf);
    if (foundPatch) checkPatchAgainstOrder(pl, orderIndex, keyOf, field);
    let merged: unknown[];
    let serverOrder: readonly unknown[] = foundOriginal ? orig : [];
    if (foundOriginal && foundPatch) {
      const trace: ListTrace = { base: orig, appended: [] };
      merged = this.mergeListField(orig, pl, meta, trace);
      // NB: Kubernetes orders this merge by the stored list as its merge left it in memory:
      // deletions shift the survivors forward and added elements land in the freed slots (Go
      // slices share one array), so the positions it compares are those of this view.
      if (trace.base !== orig) serverOrder = [...trace.base, ...trace.appended].slice(0, orig.length);
    } else if (foundPatch) merged = cleanArray(pl);
    else if (foundOriginal) merged = orig;
    else return;
    out[field] = normalizeOrder(merged, orderIndex, keyIndex(serverOrder, keyOf), keyOf);
    done.add(field);
  }
}

function identity(v: unknown): unknown {
  return v;
}

function withoutKey(o: JsonObject, key: string): JsonObject {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

/** keyIndex maps each element's key to its first position. */
function keyIndex(list: readonly unknown[], keyOf: (e: unknown) => unknown): Map<unknown, number> {
  const m = new Map<unknown, number>();
  list.forEach((e, i) => {
    const k = keyOf(e);
    if (k !== undefined && !m.has(k)) m.set(k, i);
  });
  return m;
}

function identityIndex(list: readonly unknown[]): Map<unknown, number> {
  return keyIndex(list, identity);
}

function dedupe(list: readonly unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const v of list) {
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

/** firstShape is the shape of the first element of either list, or 'none'. */
function firstShape(a: readonly unknown[], b: readonly unknown[]): string {
  const first = a.length > 0 ? a[0] : b[0];
  return a.length === 0 && b.length === 0 ? 'none' : shapeOf(first);
}

/**
 * normalizeOrder puts a merged list in Kubernetes' order: the elements the patch names (keys in
 * `patchOrder`) in the patch's order, the others (server-only) in their stored order, and the
 * two interleaved by their positions in the stored list where both have one.
 */
function normalizeOrder(merged: readonly unknown[], patchOrder: ReadonlyMap<unknown, number>, serverOrder: ReadonlyMap<unknown, number>, keyOf: (e: unknown) => unknown): unknown[] {
  const fromPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const e of merged) (patchOrder.has(keyOf(e)) ? fromPatch : serverOnly).push(e);
  const rank = (m: ReadonlyMap<unknown, number>, e: unknown): number => m.get(keyOf(e)) ?? -1;
  fromPatch.sort((a, b) => rank(patchOrder, a) - rank(patchOrder, b));
  serverOnly.sort((a, b) => rank(serverOrder, a) - rank(serverOrder, b));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < fromPatch.length) {
    if (j >= fromPatch.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(fromPatch[j++]);
    else {
      const li = rank(serverOrder, serverOnly[i]);
      const ri = rank(serverOrder, fromPatch[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(fromPatch[j++]);
    }
  }
  return out;
}

/** checkPatchAgainstOrder refuses a patch list whose elements are missing from, or out of, the order list. */
function checkPatchAgainstOrder(patch: readonly unknown[], order: ReadonlyMap<unknown, number>, keyOf: (e: unknown) => unknown, field: string): void {
  let last = -1;
  for (const e of patch) {
    if (isObject(e) && Object.hasOwn(e, DIRECTIVE)) continue;
    const at = order.get(keyOf(e));
    if (at === undefined || at < last) {
      fail(unprocessable(`Invalid patch type of setElementOrder list: the order of ${field} in the patch does not match $setElementOrder/${field}; list every element of ${field} there, in order`));
    }
    last = at;
  }
}

/** retainKeys applies `$retainKeys`: keys of the object not listed are cleared. */
function retainKeys(out: JsonObject, patch: JsonObject): void {
  const list = patch[RETAIN_KEYS];
  if (!Array.isArray(list)) fail(unprocessable('Invalid patch format of retainKeys: $retainKeys must be a list of field names'));
  const keep = new Set<unknown>(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith('$')) continue;
    if (!keep.has(k)) fail(unprocessable(`Invalid patch format of retainKeys: ${k} is in the patch but not in $retainKeys; add it to $retainKeys`));
  }
  for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
}

/** deleteFromPrimitiveList applies `$deleteFromPrimitiveList/<field>`: the listed scalars leave the list. */
function deleteFromPrimitiveList(out: JsonObject, field: string, values: unknown): void {
  if (!Array.isArray(values)) fail(unprocessable(`Invalid patch format of primitive list: $deleteFromPrimitiveList/${field} must be a list`));
  const cur = out[field];
  if (!Array.isArray(cur)) return;
  const gone = new Set<unknown>(values);
  out[field] = cur.filter((v) => !gone.has(v));
}

/** DROP marks a patch value that is itself a deletion ({$patch: delete}) and so is not stored. */
const DROP: unique symbol = Symbol('drop');

/**
 * clean turns a patch value that lands where the object had nothing into a stored value:
 * nulls and directive keys go, `{$patch: delete}` elements disappear.
 */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return cleanArray(v);
  if (!isObject(v)) return v;
  if (v[DIRECTIVE] === 'delete') return DROP;
  return cleanObject(v);
}

function cleanObject(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || k.startsWith('$')) continue;
    const c = clean(v);
    if (c !== DROP) out[k] = c;
  }
  return out;
}

function cleanArray(a: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of a) {
    if (isObject(v) && Object.hasOwn(v, DIRECTIVE) && Object.keys(v).length === 1) continue;
    const c = clean(v);
    if (c !== DROP) out.push(c);
  }
  return out;
}
