/**
 * quantity: Kubernetes resource quantities ('100m', '1.5Gi', '12e3'), parsed exactly (bigint,
 * no floating point), compared, and written back in the canonical form Kubernetes serializes.
 *
 * Grammar (resource.Quantity):
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits '.' digits | digits '.' | '.' digits
 *   suffix   ::= binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (n u m '' k M G T P E)
 *              | ('e' | 'E') [+-] digits
 * Like Kubernetes, precision finer than 1n (10^-9) is rounded up (away from zero), and the
 * suffix family is remembered so '1536Mi' stays binary and '12e3' stays exponent.
 */
import type { SchemaCatalog, TypeRef } from './schema/format.js';
import type { Result } from './types.js';
import { err, ok } from './types.js';

/** QuantityFormat is the suffix family a quantity was written in, kept for serialization. */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** Quantity is an exact decimal: unscaled × 10^scale (scale ≥ -9), and its format. */
export interface Quantity {
  readonly unscaled: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;
}

/** QUANTITY_FORMAT_MESSAGE is Kubernetes' message for a string that is not a quantity at all. */
export const QUANTITY_FORMAT_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** QUANTITY_SUFFIX_MESSAGE is Kubernetes' message for a quantity with an unknown suffix. */
export const QUANTITY_SUFFIX_MESSAGE = "unable to parse quantity's suffix";

const SHAPE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const NUMBER = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;
const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const MIN_SCALE = -9;
/** MAX_EXPONENT bounds an 'e' exponent, so '1e999999999' cannot make a giant bigint. */
const MAX_EXPONENT = 100;

const pow10Cache: bigint[] = [];
function pow10(n: number): bigint {
  let p = pow10Cache[n];
  if (p === undefined) {
    p = 10n ** BigInt(n);
    if (n < 64) pow10Cache[n] = p;
  }
  return p;
}

/**
 * parseQuantity parses a quantity string (a JSON number is taken as its decimal text). The
 * error value is the message Kubernetes gives, for use after 'Invalid value: "x": '.
 */
export function parseQuantity(input: string | number): Result<Quantity, string> {
  const s = typeof input === 'number' ? (Number.isFinite(input) ? String(input) : '') : input;
  const shape = SHAPE.exec(s);
  if (shape === null) return err(QUANTITY_FORMAT_MESSAGE);
  const numberText = shape[1] ?? '';
  const suffix = shape[2] ?? '';
  const num = NUMBER.exec(numberText);
  if (num === null || ((num[2] ?? '') === '' && (num[3] ?? '') === '')) return err(QUANTITY_FORMAT_MESSAGE);
  const negative = num[1] === '-';
  const intDigits = num[2] ?? '';
  const fracDigits = num[3] ?? '';
  let unscaled = BigInt(`${intDigits}${fracDigits}` === '' ? '0' : `${intDigits}${fracDigits}`);
  let scale = -fracDigits.length;
  let format: QuantityFormat;
  if (Object.hasOwn(BINARY_SUFFIXES, suffix)) {
    format = 'BinarySI';
    unscaled *= 1n << BigInt(10 * (BINARY_SUFFIXES[suffix] ?? 0));
  } else if (Object.hasOwn(DECIMAL_SUFFIXES, suffix)) {
    format = 'DecimalSI';
    scale += DECIMAL_SUFFIXES[suffix] ?? 0;
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    format = 'DecimalExponent';
    const e = Number(suffix.slice(1));
    if (Math.abs(e) > MAX_EXPONENT) return err(`${QUANTITY_SUFFIX_MESSAGE}: the exponent must be between -${MAX_EXPONENT} and ${MAX_EXPONENT}`);
    scale += e;
  } else {
    return err(QUANTITY_SUFFIX_MESSAGE);
  }
  if (scale < MIN_SCALE) {
    // Round up (away from zero) to nano precision, as Kubernetes does.
    const div = pow10(MIN_SCALE - scale);
    const q = unscaled / div;
    unscaled = unscaled % div === 0n ? q : q + 1n;
    scale = MIN_SCALE;
  }
  return ok({ unscaled: negative ? -unscaled : unscaled, scale, format });
}

/** isQuantity tells whether a string (or JSON number) parses as a quantity. */
export function isQuantity(input: string | number): boolean {
  return parseQuantity(input).ok;
}

/** scaledTo returns ceil(q × 10^-exp) as a bigint: q in units of 10^exp, rounded up. */
function scaledTo(q: Quantity, exp: number): bigint {
  const shift = q.scale - exp;
  if (shift >= 0) return q.unscaled * pow10(shift);
  const div = pow10(-shift);
  const quotient = q.unscaled / div;
  // bigint division truncates toward zero; ceiling moves positive remainders up.
  return q.unscaled % div > 0n ? quotient + 1n : quotient;
}

/** quantityToMilli is the quantity in thousandths, rounded up ('100m' → 100n, '1' → 1000n). */
export function quantityToMilli(q: Quantity): bigint {
  return scaledTo(q, -3);
}

/** quantityToValue is the quantity as a whole number, rounded up ('1Ki' → 1024n, '100m' → 1n). */
export function quantityToValue(q: Quantity): bigint {
  return scaledTo(q, 0);
}

/** compareQuantities orders two quantities by value: -1, 0 or 1. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const scale = Math.min(a.scale, b.scale);
  const x = a.unscaled * pow10(a.scale - scale);
  const y = b.unscaled * pow10(b.scale - scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/**
 * formatQuantity writes a quantity as Kubernetes serializes it: '1000m' → '1', '0.5' → '500m',
 * '1.5Gi' → '1536Mi', '1.5k' → '1500', '12e3' → '12e3', '512' (binary) → '512'.
 */
export function formatQuantity(q: Quantity): string {
  if (q.unscaled === 0n) return '0';
  const negative = q.unscaled < 0n;
  const abs = negative ? -q.unscaled : q.unscaled;
  const sign = negative ? '-' : '';
  if (q.format === 'BinarySI' && (q.scale >= 0 || abs % pow10(-q.scale) === 0n)) {
    const whole = q.scale >= 0 ? abs * pow10(q.scale) : abs / pow10(-q.scale);
    // Below 1024 (and for fractions) Kubernetes writes binary quantities as decimal ones.
    if (whole >= 1024n) {
      let amount = whole;
      let power = 0;
      while (power < BINARY_BY_POWER.length - 1 && amount % 1024n === 0n) {
        amount /= 1024n;
        power++;
      }
      return `${sign}${amount}${BINARY_BY_POWER[power] ?? ''}`;
    }
  }
  // Strip trailing zeros into the exponent, then bring the exponent down to a multiple of 3.
  let amount = abs;
  let exponent = q.scale;
  while (amount % 10n === 0n) {
    amount /= 10n;
    exponent++;
  }
  const down = ((exponent % 3) + 3) % 3;
  amount *= pow10(down);
  exponent -= down;
  if (q.format === 'DecimalExponent') return `${sign}${amount}${exponent === 0 ? '' : `e${exponent}`}`;
  const suffix = DECIMAL_BY_EXPONENT.get(exponent);
  if (suffix !== undefined) return `${sign}${amount}${suffix}`;
  // Beyond E (10^18) there is no SI suffix; write the whole number at exa scale.
  return `${sign}${amount * pow10(exponent - 18)}E`;
}

/** canonicalQuantity parses and re-serializes a quantity string, or returns the parse error. */
export function canonicalQuantity(input: string | number): Result<string, string> {
  const q = parseQuantity(input);
  return q.ok ? ok(formatQuantity(q.value)) : q;
}

/**
 * canonicalizeQuantities rewrites every quantity in `value` (an object of the catalogue type
 * `typeName`) in Kubernetes' canonical form, as a real apiserver stores them: `cpu: 1000m`
 * reads back as `"1"`, `memory: 1.5Gi` as `"1536Mi"`, a JSON number as a string. Values that do
 * not parse are left for validation to report. Copy-on-write: unchanged subtrees are shared.
 */
export function canonicalizeQuantities(value: unknown, catalog: SchemaCatalog, typeName: string): unknown {
  return canonicalizeAt(value, { kind: 'ref', name: typeName }, catalog);
}

function canonicalizeAt(value: unknown, t: TypeRef, catalog: SchemaCatalog): unknown {
  switch (t.kind) {
    case 'scalar': {
      if (t.scalar !== 'quantity' || (typeof value !== 'string' && typeof value !== 'number')) return value;
      const c = canonicalQuantity(value);
      return c.ok ? c.value : value;
    }
    case 'array': {
      if (!Array.isArray(value)) return value;
      let out: unknown[] | undefined;
      value.forEach((v: unknown, i) => {
        const c = canonicalizeAt(v, t.items, catalog);
        if (c !== v) (out ??= [...(value as unknown[])])[i] = c;
      });
      return out ?? value;
    }
    case 'map':
    case 'ref': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      const o = value as Record<string, unknown>;
      const fields = t.kind === 'ref' ? catalog.types[t.name]?.fields : undefined;
      if (t.kind === 'ref' && fields === undefined) return value;
      let out: Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(o)) {
        const ft = t.kind === 'map' ? t.values : fields?.[k]?.type;
        if (ft === undefined || !mayHoldQuantity(ft, catalog, new Set())) continue;
        const c = canonicalizeAt(v, ft, catalog);
        if (c !== v) (out ??= { ...o })[k] = c;
      }
      return out ?? value;
    }
    case 'any':
      return value;
  }
}

const holdsQuantity = new WeakMap<SchemaCatalog, Map<string, boolean>>();

/** mayHoldQuantity tells whether a type can contain a quantity, so the walk skips the rest. */
function mayHoldQuantity(t: TypeRef, catalog: SchemaCatalog, seen: Set<string>): boolean {
  switch (t.kind) {
    case 'scalar':
      return t.scalar === 'quantity';
    case 'array':
      return mayHoldQuantity(t.items, catalog, seen);
    case 'map':
      return mayHoldQuantity(t.values, catalog, seen);
    case 'any':
      return false;
    case 'ref': {
      let memo = holdsQuantity.get(catalog);
      if (memo === undefined) holdsQuantity.set(catalog, (memo = new Map<string, boolean>()));
      const known = memo.get(t.name);
      if (known !== undefined) return known;
      if (seen.has(t.name)) return false;
      seen.add(t.name);
      const fields = catalog.types[t.name]?.fields ?? {};
      const result = Object.values(fields).some((f) => mayHoldQuantity(f.type, catalog, seen));
      // NB: a false found inside a cycle may be provisional; only memoize at the top of the walk.
      if (result || seen.size === 1) memo.set(t.name, result);
      seen.delete(t.name);
      return result;
    }
  }
}
