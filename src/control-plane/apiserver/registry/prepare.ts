/**
 * prepare: the first steps every write takes on a body — decode it as the resource's kind, put
 * it in the request's namespace, apply the request's field validation (Strict refuses unknown
 * fields, Warn reports them, Ignore drops them), prune what the schema does not know, and apply
 * the kind's defaults.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { err, ok } from '../../api/types.js';
import type { ApiError, WriteOptions } from '../registry-api.js';
import type { RegistryCore } from './core.js';
import { checkNamespace, decodeObject, pruneUnknownFields } from './decode.js';
import { badRequest, invalid } from './errors.js';

/** Prepared is a decoded, pruned and defaulted body, with warnings for the client. */
export interface Prepared {
  readonly obj: KubeObject;
  readonly warnings: readonly string[];
}

/** prepareBody decodes, checks, prunes and defaults a request body. */
export function prepareBody(core: RegistryCore, res: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions, keepManagedFields = false): Result<Prepared, ApiError> {
  const d = decodeObject(res, body);
  if (!d.ok) return d;
  const ns = checkNamespace(res, d.value, namespace);
  if (!ns.ok) return ns;
  const typeName = core.schema.typeNameOf(res);
  const s = core.schema.checkStructure(typeName, d.value);
  if (s.errors.length > 0) return err(invalid(res, d.value.metadata.name ?? '', s.errors));
  const warnings: string[] = [];
  if (s.unknownFields.length > 0) {
    const mode = opts.fieldValidation ?? 'Warn';
    if (mode === 'Strict') return err(badRequest(`strict decoding error: ${s.unknownFields.map((f) => `unknown field "${f}"`).join(', ')}`));
    if (mode === 'Warn') for (const f of s.unknownFields) warnings.push(`unknown field "${f}"`);
  }
  const pruned = pruneUnknownFields(core.schema.catalog, typeName, d.value);
  // Only server-side apply writes managedFields; a client's copy is ignored (updates keep the stored one).
  if (!keepManagedFields) delete pruned.metadata.managedFields;
  delete pruned.metadata.selfLink;
  return ok({ obj: core.schema.applyDefaults(res, pruned), warnings });
}
