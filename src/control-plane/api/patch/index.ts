/**
 * patch: the surface of the patch module — apply a JSON patch (RFC 6902), a JSON merge patch
 * (RFC 7396) or a strategic merge patch to a stored object. Server-side apply needs the field
 * manager and the force flag, so it has its own entry point, `serverSideApply`.
 */
import jsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import * as mergePatch from 'json-merge-patch';
import type { PatchType } from '../../apiserver/registry-api.js';
import type { SchemaCatalog } from '../schema/format.js';
import type { KubeObject, Result } from '../types.js';
import { err, ok } from '../types.js';
import type { PatchError } from './error.js';
import { badRequest, unprocessable } from './error.js';
import { applyStrategicMergePatch } from './strategic-merge.js';

export type { PatchError } from './error.js';
export { applyStrategicMergePatch } from './strategic-merge.js';
export { serverSideApply } from './server-side-apply.js';
export type { ApplyConflict, ApplyError, ApplyOptions } from './server-side-apply.js';

/**
 * applyPatch applies `patch` of the given type to `original` (an object of the catalogue type
 * `typeName`, used only by strategic merge) and returns the patched JSON, which the caller
 * decodes and validates. Inputs are never mutated.
 */
export function applyPatch(type: PatchType, original: KubeObject, patch: unknown, catalog: SchemaCatalog, typeName: string): Result<unknown, PatchError> {
  switch (type) {
    case 'json':
      return applyJsonPatch(original, patch);
    case 'merge':
      return applyMergePatch(original, patch);
    case 'strategic':
      return applyStrategicMergePatch(original, patch, catalog, typeName);
    case 'apply':
      // Server-side apply needs the field manager and force flag: the caller uses serverSideApply.
      return err(badRequest('Server-side apply is not handled by applyPatch; send a strategic merge, JSON merge or JSON patch, or use kubectl apply without --server-side'));
  }
}

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** MAX_JSON_PATCH_OPERATIONS is the most operations one JSON patch may carry, as in Kubernetes. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** applyJsonPatch applies an RFC 6902 JSON patch; a failing `test` or a missing path is a 422. */
export function applyJsonPatch(original: unknown, patch: unknown): Result<unknown, PatchError> {
  if (!Array.isArray(patch)) {
    return err(badRequest('A JSON patch must be a JSON array of operations, e.g. [{"op":"replace","path":"/spec/replicas","value":3}]'));
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    return err(unprocessable(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}; split the patch`));
  }
  const ops: Operation[] = [];
  for (const [i, op] of patch.entries()) {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) return err(badRequest(`JSON patch operation ${i} must be an object with "op" and "path"`));
    const kind: unknown = (op as Record<string, unknown>)['op'];
    const path: unknown = (op as Record<string, unknown>)['path'];
    if (typeof kind !== 'string' || !OPS.has(kind)) return err(badRequest(`JSON patch operation ${i} has an unknown op ${JSON.stringify(kind) ?? 'undefined'}; use add, remove, replace, move, copy or test`));
    if (typeof path !== 'string') return err(badRequest(`JSON patch operation ${i} (${kind}) needs a "path" string`));
    ops.push(op as Operation);
  }
  let doc: unknown = structuredClone(original);
  for (const [i, op] of ops.entries()) {
    try {
      // NB: an op on the root path ('') replaces the whole document, so carry newDocument on.
      doc = jsonPatch.applyOperation(doc, op, true, true, true, i).newDocument;
    } catch (e) {
      if (e instanceof jsonPatch.JsonPatchError) return err(unprocessable(describeJsonPatchError(e, i)));
      throw e;
    }
  }
  return ok(doc);
}

const JSON_PATCH_FAILURES: Readonly<Record<string, string>> = {
  TEST_OPERATION_FAILED: 'failed: the value at the path differs from the test value; fetch the object again and rebuild the patch',
  OPERATION_PATH_UNRESOLVABLE: 'failed: the path does not exist in the object; check it against the object (kubectl get -o json)',
  OPERATION_PATH_CANNOT_ADD: 'failed: the parent of the path does not exist in the object; add the parent first',
  OPERATION_FROM_UNRESOLVABLE: 'failed: the "from" path does not exist in the object',
  OPERATION_VALUE_REQUIRED: 'needs a "value"',
  OPERATION_VALUE_OUT_OF_BOUNDS: 'failed: the array index is past the end of the list',
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'failed: a list index in the path is not a number',
};

function describeJsonPatchError(e: InstanceType<typeof jsonPatch.JsonPatchError>, i: number): string {
  const op = e.operation as { op?: unknown; path?: unknown } | undefined;
  const what = `JSON patch operation ${i} (${String(op?.op)} ${String(op?.path)})`;
  const why = JSON_PATCH_FAILURES[e.name];
  return why === undefined ? `${what} is invalid: ${e.message.split('\n')[0] ?? e.name}` : `${what} ${why}`;
}

/** applyMergePatch applies an RFC 7396 JSON merge patch; the patch must be an object. */
export function applyMergePatch(original: unknown, patch: unknown): Result<unknown, PatchError> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    return err(badRequest('A JSON merge patch must be a JSON object, e.g. {"spec":{"replicas":3}}'));
  }
  return ok(mergePatch.apply(structuredClone(original), patch));
}
