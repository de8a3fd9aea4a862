/**
 * catalog: the schema catalogue at run time — the generated JSON (see scripts/gen-schema.ts),
 * imported as a JSON module so that the build copies it next to the compiled code.
 */
import generated from './catalog.generated.json' with { type: 'json' };
import type { SchemaCatalog, TypeSchema } from './format.js';

let loaded: SchemaCatalog | undefined;

/** schemaCatalog returns the catalogue of every served type (loaded once, shared, never mutated). */
export function schemaCatalog(): SchemaCatalog {
  if (loaded === undefined) {
    const raw: unknown = generated;
    if (typeof raw !== 'object' || raw === null || !('types' in raw) || typeof raw.types !== 'object' || raw.types === null) {
      throw new Error('The schema catalogue catalog.generated.json is malformed; regenerate it with `npx tsx scripts/gen-schema.ts`');
    }
    // NB: the JSON is generated from format.ts's shapes; checking its top level is enough here.
    loaded = raw as SchemaCatalog;
  }
  return loaded;
}

/** typeSchema returns the catalogue's type of this OpenAPI name (e.g. io.k8s.api.core.v1.Pod), or undefined. */
export function typeSchema(name: string): TypeSchema | undefined {
  return Object.hasOwn(schemaCatalog().types, name) ? schemaCatalog().types[name] : undefined;
}
