/**
 * fields: reading nested fields of decoded JSON objects without casts at every use — each
 * accessor answers a neutral value ('' / 0 / [] / {}) when the path is absent or mistyped.
 */

/** field reads a nested field of an object as unknown. */
export function field(o: unknown, ...path: readonly string[]): unknown {
  let v: unknown = o;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** str reads a nested string field ('' when absent or not a string). */
export function str(o: unknown, ...path: readonly string[]): string {
  const v = field(o, ...path);
  return typeof v === 'string' ? v : '';
}

/** num reads a nested number field (0 when absent). */
export function num(o: unknown, ...path: readonly string[]): number {
  const v = field(o, ...path);
  return typeof v === 'number' ? v : 0;
}

/** arr reads a nested array field ([] when absent). */
export function arr(o: unknown, ...path: readonly string[]): readonly unknown[] {
  const v = field(o, ...path);
  return Array.isArray(v) ? v : [];
}

/** rec reads a nested object field ({} when absent). */
export function rec(o: unknown, ...path: readonly string[]): Record<string, unknown> {
  const v = field(o, ...path);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

