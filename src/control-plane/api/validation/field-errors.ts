/**
 * field-errors: builders for FieldError values with Kubernetes' wording, so a Status cause reads
 * as it does from a real apiserver: `Required value`, `Invalid value: "Foo_1": <detail>`,
 * `Unsupported value: "x": supported values: "a", "b"`, `Duplicate value: "x"`, `Forbidden: ...`.
 * A path is built with `child` and `index` ('spec' → 'spec.containers' → 'spec.containers[0]').
 */
import type { FieldError } from '../types.js';

/** renderValue writes a bad value as Kubernetes quotes it: strings quoted, numbers bare. */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

/** child extends a field path with a field name: child('spec', 'containers') is 'spec.containers'. */
export function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** index extends a field path with a list index: index('spec.containers', 0) is 'spec.containers[0]'. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** key extends a field path with a map key: key('data', 'a.b') is 'data[a.b]'. */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** required says a field must be set. */
export function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, message: detail === '' ? 'Required value' : `Required value: ${detail}` };
}

/** invalid says a value is wrong and why. */
export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, message: `Invalid value: ${renderValue(value)}${detail === '' ? '' : `: ${detail}`}` };
}

/** notSupported says a value is not one of the allowed ones, and lists them. */
export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return { type: 'FieldValueNotSupported', field, message: `Unsupported value: ${renderValue(value)}${list === '' ? '' : `: supported values: ${list}`}` };
}

/** duplicate says a value that must be unique appears twice. */
export function duplicate(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, message: `Duplicate value: ${renderValue(value)}` };
}

/** forbidden says a field may not be set or changed, and why. */
export function forbidden(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

/** tooLong says a value exceeds a size limit in bytes. */
export function tooLong(field: string, max: number): FieldError {
  return { type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${max} bytes` };
}

/** notFound says a referenced thing does not exist. */
export function notFound(field: string, value: unknown): FieldError {
  return { type: 'FieldValueNotFound', field, message: `Not found: ${renderValue(value)}` };
}

/** typeInvalid says a value has the wrong JSON type. */
export function typeInvalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueTypeInvalid', field, message: `Invalid value: ${renderValue(value)}: ${detail}` };
}

/** formatFieldError renders one error as Kubernetes prints it: 'metadata.name: Required value'. */
export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${e.message}`;
}

/** formatFieldErrors joins several errors as Kubernetes' aggregate does: '[a: x, b: y]' for more than one. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  if (errors.length === 1 && errors[0] !== undefined) return formatFieldError(errors[0]);
  return `[${errors.map(formatFieldError).join(', ')}]`;
}
