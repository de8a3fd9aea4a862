/**
 * util: narrow accessors over decoded JSON (validation runs on defaulted objects whose
 * structure another layer has already checked, so a wrong shape reads as absent here rather
 * than throwing), deep equality for immutability checks, and the small value checks shared by
 * several kinds (ports, IPs, non-negative numbers).
 */
import { isIP } from 'node:net';
import type { FieldError } from '../types.js';
import { invalid, notSupported } from './field-errors.js';

/** JsonObject is a decoded JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** obj narrows a value to a JSON object, or undefined. */
export function obj(v: unknown): JsonObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

/** str narrows a value to a string, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** num narrows a value to a number, or undefined. */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** list narrows a value to an array; anything else reads as empty. */
export function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

/** stringMap narrows a value to a map of strings, dropping non-string values. */
export function stringMap(v: unknown): Readonly<Record<string, string>> {
  const o = obj(v);
  if (o === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** deepEqual compares decoded JSON values structurally, without serializing them. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) if (!Object.hasOwn(bo, k) || !deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** PORT_RANGE_MESSAGE is Kubernetes' message for a port number out of range. */
export const PORT_RANGE_MESSAGE = 'must be between 1 and 65535, inclusive';

/** isValidPortNum tells whether a value is a port number 1..65535. */
export function isValidPortNum(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

/** isValidPortName checks an IANA service name (a named port), returning what is wrong. */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** IP_MESSAGE is Kubernetes' message for a malformed IP address. */
export const IP_MESSAGE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/** isValidIP tells whether a string is an IPv4 or IPv6 address. */
export function isValidIP(v: string): boolean {
  return isIP(v) !== 0;
}

/** PROTOCOLS are the protocols a port may carry. */
export const PROTOCOLS: readonly string[] = ['SCTP', 'TCP', 'UDP'];

/** checkProtocol refuses a protocol other than TCP, UDP or SCTP (absent is fine: defaulted). */
export function checkProtocol(errs: FieldError[], field: string, v: unknown): void {
  if (v !== undefined && (typeof v !== 'string' || !PROTOCOLS.includes(v))) errs.push(notSupported(field, v, PROTOCOLS));
}

/** checkNonNegative refuses a number below 0 ('must be greater than or equal to 0'). */
export function checkNonNegative(errs: FieldError[], field: string, v: unknown): void {
  if (typeof v === 'number' && v < 0) errs.push(invalid(field, v, 'must be greater than or equal to 0'));
}

/** checkPositive refuses a number of 0 or less ('must be greater than 0'). */
export function checkPositive(errs: FieldError[], field: string, v: unknown): void {
  if (typeof v === 'number' && v <= 0) errs.push(invalid(field, v, 'must be greater than 0'));
}

/** checkEnum refuses a string that is not one of the allowed values (absent is fine). */
export function checkEnum(errs: FieldError[], field: string, v: unknown, allowed: readonly string[]): void {
  if (v !== undefined && (typeof v !== 'string' || !allowed.includes(v))) errs.push(notSupported(field, v, allowed));
}
