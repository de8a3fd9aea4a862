/**
 * gen-schema: regenerates src/control-plane/api/schema/catalog.generated.json, the schema
 * catalogue, from the `kubernetes-types` declarations (read with the TypeScript compiler API)
 * and the strategic-merge table in src/control-plane/api/schema/patch-meta.ts.
 *
 * Run: npx tsx scripts/gen-schema.ts [output path]
 *
 * It keeps every type reachable from the served kinds and their lists, plus Binding, Scale,
 * DeleteOptions, Status, List, ListMeta, WatchEvent and the self-subject reviews. Names are
 * OpenAPI definition names; Quantity, IntOrString (number | string), Time and MicroTime become
 * scalars; empty interfaces (RawExtension, FieldsV1) become free-form JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { FieldSchema, SchemaCatalog, TypeRef, TypeSchema } from '../src/control-plane/api/schema/format.js';
import { PATCH_META } from '../src/control-plane/api/schema/patch-meta.js';
import { RESOURCES, definitionName, listTypeNameOf, typeNameOf } from '../src/control-plane/api/resources.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TYPES_DIR = join(ROOT, 'node_modules', 'kubernetes-types');
const DEFAULT_OUT = join(ROOT, 'src', 'control-plane', 'api', 'schema', 'catalog.generated.json');
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** A declaration file of kubernetes-types: its interfaces, aliases and imported names. */
interface DeclFile {
  /** module is the path under kubernetes-types without extension, e.g. 'core/v1'. */
  readonly module: string;
  readonly interfaces: Map<string, ts.InterfaceDeclaration>;
  readonly aliases: Map<string, ts.TypeAliasDeclaration>;
  /** imports maps an imported name to the module it comes from. */
  readonly imports: Map<string, string>;
}

const files = new Map<string, DeclFile>();

function loadModule(module: string): DeclFile {
  const cached = files.get(module);
  if (cached !== undefined) return cached;
  const path = join(TYPES_DIR, `${module}.d.ts`);
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
  const file: DeclFile = { module, interfaces: new Map(), aliases: new Map(), imports: new Map() };
  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st)) file.interfaces.set(st.name.text, st);
    else if (ts.isTypeAliasDeclaration(st)) file.aliases.set(st.name.text, st);
    else if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const from = join(dirname(module), st.moduleSpecifier.text).replaceAll('\\', '/');
      const bindings = st.importClause?.namedBindings;
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) file.imports.set(el.name.text, from);
      }
    }
  }
  files.set(module, file);
  return file;
}

/** definitionOf names a declaration of a module as OpenAPI does ('core/v1', 'Pod' → io.k8s.api.core.v1.Pod). */
function definitionOf(module: string, name: string): string {
  const [group = '', version = ''] = module.split('/');
  if (group === 'meta') return `${META.slice(0, -'.v1'.length)}.${version}.${name}`;
  return `io.k8s.api.${group}.${version}.${name}`;
}

/** moduleOf is the inverse of definitionOf for the io.k8s.api and meta names. */
function moduleOf(definition: string): { module: string; name: string } {
  const parts = definition.split('.');
  const name = parts.at(-1) ?? '';
  const version = parts.at(-2) ?? '';
  const group = definition.startsWith('io.k8s.apimachinery.pkg.apis.meta.') ? 'meta' : (parts.at(-3) ?? '');
  return { module: `${group}/${version}`, name };
}

function docOf(node: ts.Node): string {
  const parts: string[] = [];
  for (const d of ts.getJSDocCommentsAndTags(node)) {
    if (ts.isJSDoc(d)) {
      const text = ts.getTextOfJSDocComment(d.comment);
      if (text !== undefined) parts.push(text);
    }
  }
  return parts.join('\n').trim();
}

const SCALARS: Readonly<Record<string, TypeRef>> = {
  'meta/v1.Time': { kind: 'scalar', scalar: 'time' },
  'meta/v1.MicroTime': { kind: 'scalar', scalar: 'time' },
  'api/resource.Quantity': { kind: 'scalar', scalar: 'quantity' },
  'runtime.RawExtension': { kind: 'any' },
};

/** Pending type definitions to visit, by definition name. */
const queue: string[] = [];

function resolveReference(file: DeclFile, name: string): TypeRef {
  const module = file.imports.get(name) ?? file.module;
  const scalar = SCALARS[`${module}.${name}`];
  if (scalar !== undefined) return scalar;
  const target = loadModule(module);
  const decl = target.interfaces.get(name);
  if (decl === undefined) throw new Error(`Type ${name} is not declared in kubernetes-types/${module}.d.ts; extend SCALARS in scripts/gen-schema.ts`);
  if (decl.members.length === 0) return { kind: 'any' };
  const definition = definitionOf(module, name);
  queue.push(definition);
  return { kind: 'ref', name: definition };
}

function typeRefOf(file: DeclFile, node: ts.TypeNode, where: string): TypeRef {
  if (node.kind === ts.SyntaxKind.StringKeyword) return { kind: 'scalar', scalar: 'string' };
  if (node.kind === ts.SyntaxKind.NumberKeyword) return { kind: 'scalar', scalar: 'integer' };
  if (node.kind === ts.SyntaxKind.BooleanKeyword) return { kind: 'scalar', scalar: 'boolean' };
  if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return { kind: 'scalar', scalar: 'string' };
  if (ts.isArrayTypeNode(node)) return { kind: 'array', items: typeRefOf(file, node.elementType, where) };
  if (ts.isUnionTypeNode(node)) {
    const kinds = new Set(node.types.map((t) => typeRefOf(file, t, where)).map((t) => (t.kind === 'scalar' ? t.scalar : t.kind)));
    if (kinds.size === 1 && kinds.has('string')) return { kind: 'scalar', scalar: 'string' };
    if (kinds.size === 2 && kinds.has('string') && kinds.has('integer')) return { kind: 'scalar', scalar: 'int-or-string' };
    throw new Error(`Union type at ${where} is not understood; extend typeRefOf in scripts/gen-schema.ts`);
  }
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index !== undefined && node.members.length === 1) return { kind: 'map', values: typeRefOf(file, index.type, where) };
    throw new Error(`Inline object type at ${where} is not understood; extend typeRefOf in scripts/gen-schema.ts`);
  }
  if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
    const name = node.typeName.text;
    const arg = node.typeArguments?.[0];
    if (name === 'Array' && arg !== undefined) return { kind: 'array', items: typeRefOf(file, arg, where) };
    return resolveReference(file, name);
  }
  throw new Error(`Type ${ts.SyntaxKind[node.kind]} at ${where} is not understood; extend typeRefOf in scripts/gen-schema.ts`);
}

/** bytesIfBase64 turns a string (or map of strings) whose doc says base64 into bytes. */
function bytesIfBase64(type: TypeRef, description: string, field: string): TypeRef {
  const base64 = /base64/i.test(description) || field === 'binaryData';
  if (!base64) return type;
  if (type.kind === 'scalar' && type.scalar === 'string') return { kind: 'scalar', scalar: 'bytes' };
  if (type.kind === 'map' && type.values.kind === 'scalar' && type.values.scalar === 'string') return { kind: 'map', values: { kind: 'scalar', scalar: 'bytes' } };
  return type;
}

function typeSchemaOf(definition: string): TypeSchema {
  const { module, name } = moduleOf(definition);
  const file = loadModule(module);
  const decl = file.interfaces.get(name);
  if (decl === undefined) throw new Error(`Type ${definition} is not in kubernetes-types/${module}.d.ts; check the served kinds`);
  const fields: Record<string, FieldSchema> = {};
  for (const m of decl.members) {
    if (!ts.isPropertySignature(m) || m.type === undefined) continue;
    const field = ts.isIdentifier(m.name) || ts.isStringLiteral(m.name) ? m.name.text : m.name.getText();
    const description = docOf(m);
    const type = bytesIfBase64(typeRefOf(file, m.type, `${definition}.${field}`), description, field);
    fields[field] = { type, description, required: m.questionToken === undefined };
  }
  return { name: definition, description: docOf(decl), fields };
}

/** LIST is metav1.List, which kubernetes-types does not declare: a list of objects of any kind. */
const LIST: TypeSchema = {
  name: `${META}.List`,
  description: 'List holds a list of objects, which may not be known by the server.',
  fields: {
    apiVersion: { type: { kind: 'scalar', scalar: 'string' }, required: false, description: 'APIVersion defines the versioned schema of this representation of an object.' },
    items: { type: { kind: 'array', items: { kind: 'any' } }, required: true, description: 'List of objects' },
    kind: { type: { kind: 'scalar', scalar: 'string' }, required: false, description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: { kind: 'ref', name: `${META}.ListMeta` }, required: false, description: 'Standard list metadata.' },
  },
};

function generate(): SchemaCatalog {
  const roots = [
    ...RESOURCES.map(typeNameOf),
    ...RESOURCES.filter((r) => r.verbs.includes('list')).map(listTypeNameOf),
    definitionName('', 'v1', 'Binding'),
    definitionName('autoscaling', 'v1', 'Scale'),
    `${META}.DeleteOptions`,
    `${META}.Status`,
    `${META}.ListMeta`,
    `${META}.WatchEvent`,
  ];
  const types: Record<string, TypeSchema> = { [LIST.name]: LIST };
  queue.push(...roots);
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (types[next] === undefined) types[next] = typeSchemaOf(next);
  }
  for (const pm of PATCH_META) {
    const field = types[pm.type]?.fields[pm.field];
    if (field === undefined) throw new Error(`Patch metadata names ${pm.type}.${pm.field}, which the catalogue lacks; fix patch-meta.ts`);
    const merged: FieldSchema = pm.mergeKey === undefined ? { ...field, patchStrategy: pm.strategy } : { ...field, patchStrategy: pm.strategy, patchMergeKey: pm.mergeKey };
    (types[pm.type]?.fields as Record<string, FieldSchema>)[pm.field] = merged;
  }
  const sorted: Record<string, TypeSchema> = {};
  for (const k of Object.keys(types).sort()) sorted[k] = types[k] as TypeSchema;
  return { types: sorted };
}

const out = process.argv[2] ?? DEFAULT_OUT;
const catalog = generate();
writeFileSync(out, `${JSON.stringify(catalog)}\n`);
console.log(`Wrote ${Object.keys(catalog.types).length} types to ${out}`);
