/**
 * schema-functions: the production `SchemaFunctions` — the one schema catalogue and the modules
 * of src/control-plane/api (structure, defaults, semantic validation, patches, selectors) bound
 * together for the registry.
 */
import { applyDefaults } from '../api/defaults.js';
import { applyPatch } from '../api/patch/index.js';
import { serverSideApply } from '../api/patch/server-side-apply.js';
import { typeNameOf } from '../api/resources.js';
import { schemaCatalog } from '../api/schema/catalog.js';
import { checkFieldSelector, fieldSetOf, isEverything, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../api/selectors/index.js';
import { checkStructure } from '../api/structural.js';
import type { KubeObject, ResourceInfo, Result } from '../api/types.js';
import { err, ok } from '../api/types.js';
import { validateObject } from '../api/validation/index.js';
import type { ObjectFilter, SchemaFunctions } from './registry/ports.js';

function filterFor(res: ResourceInfo, labelSelector: string | undefined, fieldSelector: string | undefined): Result<ObjectFilter, string> {
  const labels = parseLabelSelector(labelSelector ?? '');
  if (!labels.ok) return err(`Bad labelSelector ${JSON.stringify(labelSelector)}: ${labels.error}`);
  const parsedFields = parseFieldSelector(fieldSelector ?? '');
  if (!parsedFields.ok) return err(`Bad fieldSelector ${JSON.stringify(fieldSelector)}: ${parsedFields.error}`);
  const fields = checkFieldSelector(res, parsedFields.value);
  if (!fields.ok) return err(fields.error);
  const noLabels = isEverything(labels.value);
  const noFields = fields.value.requirements.length === 0;
  return ok({
    empty: noLabels && noFields,
    matches: (obj: KubeObject) => (noLabels || matchesLabels(labels.value, obj.metadata.labels)) && (noFields || matchesFields(fields.value, fieldSetOf(res, obj))),
  });
}

/** productionSchema binds the api modules into the registry's SchemaFunctions. */
export function productionSchema(): SchemaFunctions {
  const catalog = schemaCatalog();
  return {
    catalog,
    typeNameOf,
    applyDefaults,
    checkStructure,
    validate: (res, obj, old) => validateObject(res, obj, old),
    applyPatch: (type, original, patch, typeName) => {
      const r = applyPatch(type, original, patch, catalog, typeName);
      return r.ok ? r : err({ message: r.error.message, code: r.error.code });
    },
    serverSideApply: (live, config, typeName, o) => {
      const r = serverSideApply(live, config, catalog, typeName, o);
      return r.ok ? r : err({ message: r.error.message, code: r.error.code });
    },
    filterFor,
  };
}
