/**
 * api: the public surface of the control plane's API layer — the shared types, the served
 * resources, the schema catalogue, and what is driven by it: structural checks, defaulting and
 * the OpenAPI documents. (Patches, selectors, validation and quantities have their own modules.)
 */
export * from './types.js';
export { ALL_VERBS, RESOURCES, definitionName, findResource, groupVersions, listTypeNameOf, parseApiVersion, resourceByKind, typeNameOf } from './resources.js';
export type { GroupVersions } from './resources.js';
export { schemaCatalog, typeSchema } from './schema/catalog.js';
export type { FieldSchema, PatchStrategy, ScalarKind, SchemaCatalog, TypeRef, TypeSchema } from './schema/format.js';
export { checkStructure } from './structural.js';
export type { StructureReport } from './structural.js';
export { applyDefaults, pullPolicyOf } from './defaults.js';
export { openapiV2, openapiV3, openapiV3Hash, openapiV3Index, openapiV3Json } from './openapi.js';
export type { OpenAPIV3Index } from './openapi.js';
