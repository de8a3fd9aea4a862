/**
 * meta: object metadata as the apiserver keeps it — uids, timestamps, generateName suffixes,
 * generation bumps on spec changes, and the parts of metadata a client may not set or change.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { KubeObject, ObjectMeta } from '../../api/types.js';

/** Clock gives the wall-clock time objects are stamped with (RFC 3339, second precision). */
export interface Clock {
  now(): Date;
}

/** systemClock is the real clock. */
export const systemClock: Clock = { now: () => new Date() };

/** rfc3339 formats a time as Kubernetes does in metadata: 2026-11-30T10:24:54Z. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** newUid makes an object's uid. */
export function newUid(): string {
  return randomUUID();
}

// Kubernetes' generateName alphabet leaves out vowels and look-alike characters, so suffixes
// never spell words and never read ambiguously.
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** nameSuffix is five random characters appended to a generateName. */
export function nameSuffix(): string {
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]!;
  return s;
}

/** deepEqual compares two JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual((a as Record<string, unknown>)[k], rb[k]));
}

/** clone deep-copies a JSON value (objects from caches are shared and read-only). */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** isObject narrows a JSON value to a plain object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * carrySystemFields copies into `next` the metadata a client cannot change on update: uid,
 * creationTimestamp, generation, deletionTimestamp and deletionGracePeriodSeconds.
 */
export function carrySystemFields(next: KubeObject, current: KubeObject): void {
  const m: ObjectMeta = next.metadata;
  const c: ObjectMeta = current.metadata;
  if (c.uid !== undefined) m.uid = c.uid;
  if (c.creationTimestamp !== undefined) m.creationTimestamp = c.creationTimestamp;
  if (c.generation !== undefined) m.generation = c.generation;
  if (c.deletionTimestamp !== undefined) m.deletionTimestamp = c.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
}
