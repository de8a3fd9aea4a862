/**
 * structural: checks a decoded body against the schema catalogue — every value of the type its
 * field declares, and every field one the type knows. Type mismatches come back as field errors
 * worded as Kubernetes words them; unknown fields come back as paths
 * (`spec.containers[0].imagee`) so that the caller can refuse them (fieldValidation=Strict),
 * warn about them (Warn) or drop them (Ignore).
 */
import { typeSchema } from './schema/catalog.js';
import type { FieldSchema, TypeRef } from './schema/format.js';
import type { FieldError } from './types.js';

/** StructureReport is what checkStructure found: type errors and the paths of unknown fields. */
export interface StructureReport {
  readonly errors: FieldError[];
  readonly unknownFields: string[];
}

const fieldMaps = new Map<string, ReadonlyMap<string, FieldSchema>>();

/** fieldsOf returns a type's fields as a Map (no prototype keys such as 'constructor'). */
function fieldsOf(typeName: string): ReadonlyMap<string, FieldSchema> {
  let fields = fieldMaps.get(typeName);
  if (fields === undefined) {
    const schema = typeSchema(typeName);
    if (schema === undefined) throw new Error(`Type ${typeName} is not in the schema catalogue; regenerate it with scripts/gen-schema.ts`);
    fields = new Map(Object.entries(schema.fields));
    fieldMaps.set(typeName, fields);
  }
  return fields;
}

/** jsonTypeOf names a JSON value's type as OpenAPI does. */
function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Checker {
  readonly errors: FieldError[] = [];
  readonly unknownFields: string[] = [];

  typeInvalid(path: string, value: unknown, expected: string): void {
    const field = path === '' ? '<root>' : path;
    this.errors.push({
      type: 'FieldValueTypeInvalid',
      field,
      message: `Invalid value: ${shown(value)}: ${field} in body must be of type ${expected}: "${jsonTypeOf(value)}"`,
    });
  }

  object(typeName: string, value: unknown, path: string): void {
    if (!isRecord(value)) {
      this.typeInvalid(path, value, 'object');
      return;
    }
    const fields = fieldsOf(typeName);
    const prefix = path === '' ? '' : `${path}.`;
    for (const key in value) {
      const v = value[key];
      const field = fields.get(key);
      if (field === undefined) {
        this.unknownFields.push(`${prefix}${key}`);
        continue;
      }
      // NB: null in an optional field decodes as absent in Kubernetes (Go's nil); a required one needs a value.
      if (v === null && !field.required) continue;
      this.value(field.type, v, `${prefix}${key}`);
    }
  }

  value(type: TypeRef, value: unknown, path: string): void {
    switch (type.kind) {
      case 'any':
        return;
      case 'ref':
        this.object(type.name, value, path);
        return;
      case 'array':
        if (!Array.isArray(value)) {
          this.typeInvalid(path, value, 'array');
          return;
        }
        for (let i = 0; i < value.length; i++) this.value(type.items, value[i], `${path}[${i}]`);
        return;
      case 'map':
        if (!isRecord(value)) {
          this.typeInvalid(path, value, 'object');
          return;
        }
        for (const key in value) this.value(type.values, value[key], `${path}[${key}]`);
        return;
      case 'scalar':
        this.scalar(type.scalar, value, path);
        return;
    }
  }

  scalar(scalar: Extract<TypeRef, { kind: 'scalar' }>['scalar'], value: unknown, path: string): void {
    switch (scalar) {
      case 'string':
      case 'time':
        if (typeof value !== 'string') this.typeInvalid(path, value, 'string');
        return;
      case 'bytes':
        if (typeof value !== 'string') this.typeInvalid(path, value, 'string');
        else if (!BASE64.test(value)) {
          this.errors.push({ type: 'FieldValueInvalid', field: path, message: `Invalid value: ${shown(value)}: must be base64-encoded; encode the value (e.g. with \`base64\`) or put it in stringData` });
        }
        return;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) this.typeInvalid(path, value, 'integer');
        return;
      case 'number':
        if (typeof value !== 'number') this.typeInvalid(path, value, 'number');
        return;
      case 'boolean':
        if (typeof value !== 'boolean') this.typeInvalid(path, value, 'boolean');
        return;
      case 'int-or-string':
        if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) this.typeInvalid(path, value, 'integer,string');
        return;
      case 'quantity':
        if (typeof value !== 'string' && typeof value !== 'number') this.typeInvalid(path, value, 'string');
        return;
    }
  }
}

/**
 * checkStructure checks a value (usually a whole object) against the catalogue type `typeName`
 * (e.g. io.k8s.api.core.v1.Pod). It reports type mismatches as FieldValueTypeInvalid errors and
 * fields the type does not know as paths like `spec.containers[0].imagee`; values of quantities,
 * names and the like are the validators' business, not this check's.
 */
export function checkStructure(typeName: string, value: unknown): StructureReport {
  const checker = new Checker();
  checker.object(typeName, value, '');
  return { errors: checker.errors, unknownFields: checker.unknownFields };
}
