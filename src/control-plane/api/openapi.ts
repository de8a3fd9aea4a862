/**
 * openapi: the OpenAPI documents of the served API, rendered from the schema catalogue and the
 * operations model — Swagger 2.0 for /openapi/v2 and one OpenAPI 3.0 document per group-version
 * for /openapi/v3 (what `kubectl explain` and kubectl's field-validation check read). Each
 * document is built once and cached; the v3 index carries a hash of each document so that
 * clients may cache them.
 */
import { createHash } from 'node:crypto';
import { schemaCatalog } from './schema/catalog.js';
import type { FieldSchema, TypeRef, TypeSchema } from './schema/format.js';
import { BINDING_TYPE, DELETE_OPTIONS_TYPE, SCALE_TYPE, STATUS_TYPE, apiRoot, pathsOf } from './openapi-paths.js';
import type { Gvk, OperationSpec, ParamSpec, PathSpec } from './openapi-paths.js';
import { RESOURCES, groupVersions, listTypeNameOf, typeNameOf } from './resources.js';

type Json = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
/** KUBE_VERSION is the Kubernetes version the documents describe. */
const KUBE_VERSION = 'v1.32.0';

/** gvksOfType: the x-kubernetes-group-version-kind list of each catalogue type that is a kind. */
function gvksOfType(): ReadonlyMap<string, Gvk[]> {
  const out = new Map<string, Gvk[]>();
  const add = (type: string, gvk: Gvk): void => {
    const list = out.get(type) ?? [];
    if (!list.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind)) list.push(gvk);
    out.set(type, list);
  };
  for (const r of RESOURCES) {
    add(typeNameOf(r), { group: r.group, version: r.version, kind: r.kind });
    if (r.verbs.includes('list')) add(listTypeNameOf(r), { group: r.group, version: r.version, kind: r.listKind });
  }
  add(BINDING_TYPE, { group: '', version: 'v1', kind: 'Binding' });
  add(SCALE_TYPE, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  add(STATUS_TYPE, { group: '', version: 'v1', kind: 'Status' });
  for (const gv of groupVersions()) {
    for (const version of gv.versions) {
      add(DELETE_OPTIONS_TYPE, { group: gv.group, version, kind: 'DeleteOptions' });
      add(`${META}.WatchEvent`, { group: gv.group, version, kind: 'WatchEvent' });
    }
  }
  return out;
}

type Dialect = 'v2' | 'v3';

function refTo(dialect: Dialect, name: string): string {
  return dialect === 'v2' ? `#/definitions/${name}` : `#/components/schemas/${name}`;
}

/** schemaOfRef renders a field type as a JSON schema (without description). */
function schemaOfRef(dialect: Dialect, type: TypeRef): Json {
  switch (type.kind) {
    case 'any':
      return { type: 'object' };
    case 'ref':
      return { $ref: refTo(dialect, type.name) };
    case 'array':
      return { type: 'array', items: schemaOfRef(dialect, type.items) };
    case 'map':
      return { type: 'object', additionalProperties: schemaOfRef(dialect, type.values) };
    case 'scalar':
      switch (type.scalar) {
        case 'string':
        case 'quantity':
          return { type: 'string' };
        case 'integer':
          return { type: 'integer', format: 'int64' };
        case 'number':
          return { type: 'number', format: 'double' };
        case 'boolean':
          return { type: 'boolean' };
        case 'time':
          return { type: 'string', format: 'date-time' };
        case 'bytes':
          return { type: 'string', format: 'byte' };
        case 'int-or-string':
          return { type: 'string', format: 'int-or-string' };
      }
  }
}

function propertyOf(dialect: Dialect, field: FieldSchema): Json {
  const base = schemaOfRef(dialect, field.type);
  // NB: OpenAPI 3.0 ignores the siblings of a $ref, so Kubernetes wraps a reference in allOf to keep its description.
  const prop: Json = dialect === 'v3' && field.type.kind === 'ref' ? { allOf: [base] } : { ...base };
  if (field.description !== '') prop['description'] = field.description;
  if (field.patchStrategy !== undefined) prop['x-kubernetes-patch-strategy'] = field.patchStrategy;
  if (field.patchMergeKey !== undefined) prop['x-kubernetes-patch-merge-key'] = field.patchMergeKey;
  return prop;
}

function definitionOf(dialect: Dialect, t: TypeSchema, gvks: readonly Gvk[] | undefined): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const name of Object.keys(t.fields).sort()) {
    const field = t.fields[name];
    if (field === undefined) continue;
    properties[name] = propertyOf(dialect, field);
    if (field.required) required.push(name);
  }
  const def: Json = { description: t.description, type: 'object', properties };
  if (required.length > 0) def['required'] = required;
  if (gvks !== undefined) def['x-kubernetes-group-version-kind'] = gvks;
  return def;
}

/** closureOf lists the catalogue types reachable from `roots`, roots included. */
function closureOf(roots: readonly string[]): string[] {
  const types = schemaCatalog().types;
  const seen = new Set<string>();
  const visit = (t: TypeRef): void => {
    if (t.kind === 'ref') walk(t.name);
    else if (t.kind === 'array') visit(t.items);
    else if (t.kind === 'map') visit(t.values);
  };
  const walk = (name: string): void => {
    if (seen.has(name)) return;
    const schema = types[name];
    if (schema === undefined) return;
    seen.add(name);
    for (const f of Object.values(schema.fields)) visit(f.type);
  };
  for (const r of roots) walk(r);
  return [...seen].sort();
}

function definitionsOf(dialect: Dialect, names: readonly string[]): Json {
  const types = schemaCatalog().types;
  const gvks = gvksOfType();
  const out: Json = {};
  for (const name of names) {
    const t = types[name];
    if (t !== undefined) out[name] = definitionOf(dialect, t, gvks.get(name));
  }
  return out;
}

const MEDIA = ['application/json', 'application/yaml'];
const PATCH_MEDIA = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

function v3Param(p: ParamSpec): Json {
  const out: Json = { name: p.name, in: p.in, description: p.description, schema: { type: p.type, uniqueItems: true } };
  if (p.required === true) out['required'] = true;
  return out;
}

function v3Operation(o: OperationSpec): Json {
  const content = (schema: Json, media: readonly string[]): Json => Object.fromEntries(media.map((m) => [m, { schema }]));
  const op: Json = { tags: [o.tag], description: o.description, operationId: o.operationId, parameters: o.params.map(v3Param) };
  if (o.body === 'patch') op['requestBody'] = { content: content({ type: 'object' }, PATCH_MEDIA), required: true };
  else if (o.body !== undefined) op['requestBody'] = { content: content({ $ref: refTo('v3', o.body) }, ['*/*']), required: o.method !== 'delete' };
  const okBody = o.response === 'text' ? content({ type: 'string' }, ['text/plain']) : content({ $ref: refTo('v3', o.response) }, MEDIA);
  const responses: Json = { '200': { description: 'OK', content: okBody }, '401': { description: 'Unauthorized' } };
  if (o.method === 'post') responses['201'] = { description: 'Created', content: okBody };
  if (o.method === 'post' || o.method === 'delete') responses['202'] = { description: 'Accepted', content: okBody };
  op['responses'] = responses;
  op['x-kubernetes-action'] = o.action;
  op['x-kubernetes-group-version-kind'] = o.gvk;
  return op;
}

function v2Param(p: ParamSpec): Json {
  const out: Json = { name: p.name, in: p.in, description: p.description, type: p.type, uniqueItems: true };
  if (p.required === true) out['required'] = true;
  return out;
}

function v2Operation(o: OperationSpec): Json {
  const parameters = o.params.map(v2Param);
  if (o.body === 'patch') parameters.push({ name: 'body', in: 'body', required: true, schema: { type: 'object' } });
  else if (o.body !== undefined) parameters.push({ name: 'body', in: 'body', required: o.method !== 'delete', schema: { $ref: refTo('v2', o.body) } });
  const ok: Json = o.response === 'text' ? { description: 'OK', schema: { type: 'string' } } : { description: 'OK', schema: { $ref: refTo('v2', o.response) } };
  const op: Json = {
    tags: [o.tag],
    description: o.description,
    operationId: o.operationId,
    consumes: o.body === 'patch' ? PATCH_MEDIA : ['*/*'],
    produces: o.response === 'text' ? ['text/plain'] : MEDIA,
    schemes: ['https'],
    parameters,
    responses: { '200': ok, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': o.action,
    'x-kubernetes-group-version-kind': o.gvk,
  };
  return op;
}

function pathsObject(specs: readonly PathSpec[], render: (o: OperationSpec) => Json): Json {
  const out: Json = {};
  for (const p of specs) out[p.path] = Object.fromEntries(p.ops.map((o) => [o.method, render(o)]));
  return out;
}

/** rootsOf lists the catalogue types a set of resources needs: kinds, lists, and what their operations carry. */
function rootsOf(resources: readonly { readonly specs: readonly PathSpec[] }[]): string[] {
  const roots = new Set<string>([STATUS_TYPE, DELETE_OPTIONS_TYPE, `${META}.WatchEvent`]);
  for (const r of resources) {
    for (const p of r.specs) {
      for (const o of p.ops) {
        if (o.body !== undefined && o.body !== 'patch') roots.add(o.body);
        if (o.response !== 'text') roots.add(o.response);
      }
    }
  }
  return [...roots];
}

let v2Doc: Json | undefined;

/** openapiV2 returns the Swagger 2.0 document of the whole served API (built once, shared: do not mutate). */
export function openapiV2(): object {
  if (v2Doc === undefined) {
    const specs = RESOURCES.flatMap(pathsOf);
    v2Doc = {
      swagger: '2.0',
      info: { title: 'Kubernetes', version: KUBE_VERSION },
      paths: pathsObject(specs, v2Operation),
      definitions: definitionsOf('v2', Object.keys(schemaCatalog().types).sort()),
      securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' } },
      security: [{ BearerToken: [] }],
    };
  }
  return v2Doc;
}

/** V3Doc is one cached OpenAPI v3 document: the object, its JSON and its hash. */
interface V3Doc {
  readonly doc: Json;
  readonly json: string;
  readonly hash: string;
}

let v3Docs: ReadonlyMap<string, V3Doc> | undefined;

/** groupVersionPath is a v3 document's key: 'api/v1' for the core group, else 'apis/<group>/<version>'. */
function groupVersionPath(group: string, version: string): string {
  return apiRoot(group, version).slice(1);
}

function buildV3(): ReadonlyMap<string, V3Doc> {
  const out = new Map<string, V3Doc>();
  for (const gv of groupVersions()) {
    for (const version of gv.versions) {
      const resources = RESOURCES.filter((r) => r.group === gv.group && r.version === version).map((r) => ({ res: r, specs: pathsOf(r) }));
      const doc: Json = {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: KUBE_VERSION },
        paths: pathsObject(resources.flatMap((r) => r.specs), v3Operation),
        components: {
          schemas: definitionsOf('v3', closureOf(rootsOf(resources))),
          securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
        },
        security: [{ BearerToken: [] }],
      };
      const json = JSON.stringify(doc);
      const hash = createHash('sha512').update(json).digest('hex').toUpperCase();
      out.set(groupVersionPath(gv.group, version), { doc, json, hash });
    }
  }
  return out;
}

function v3(): ReadonlyMap<string, V3Doc> {
  v3Docs ??= buildV3();
  return v3Docs;
}

/** OpenAPIV3Index is the /openapi/v3 document: each group-version's document and its URL with hash. */
export interface OpenAPIV3Index {
  readonly paths: Record<string, { readonly serverRelativeURL: string }>;
}

/** openapiV3Index returns /openapi/v3: keys 'api/v1', 'apis/apps/v1', ...; URLs carry the document's hash. */
export function openapiV3Index(): OpenAPIV3Index {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [path, d] of v3()) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${d.hash}` };
  return { paths };
}

/** openapiV3 returns the OpenAPI v3 document of a group-version path ('api/v1', 'apis/apps/v1'), or undefined (shared: do not mutate). */
export function openapiV3(groupVersionPath: string): object | undefined {
  return v3().get(groupVersionPath)?.doc;
}

/** openapiV3Json returns the same document already serialised as JSON, or undefined. */
export function openapiV3Json(groupVersionPath: string): string | undefined {
  return v3().get(groupVersionPath)?.json;
}

/** openapiV3Hash returns the hash of a group-version's document (what ?hash= carries), or undefined. */
export function openapiV3Hash(groupVersionPath: string): string | undefined {
  return v3().get(groupVersionPath)?.hash;
}
