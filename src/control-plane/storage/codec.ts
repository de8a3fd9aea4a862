/**
 * codec: objects to and from the bytes kept in the key-value store, and the one place that
 * serializes an object for the wire so that a thousand watchers share one JSON string.
 *
 * NB: `metadata.resourceVersion` is never stored. It is the key's mod revision, known only
 * after the write, and set on every object read back (as Kubernetes' etcd3 store does).
 */
import type { KubeObject } from '../api/types.js';

const JSON_CACHE = new WeakMap<object, string>();

/**
 * objectJson is `JSON.stringify(obj)`, computed once per object and remembered for as long as
 * the object lives. The watch cache hands the same object to every watcher, so the faces that
 * call this serialize each event once, however many watchers see it.
 * NB: only for objects nobody mutates afterwards (the watch cache's objects are read-only).
 */
export function objectJson(obj: object): string {
  let s = JSON_CACHE.get(obj);
  if (s === undefined) {
    s = JSON.stringify(obj);
    JSON_CACHE.set(obj, s);
  }
  return s;
}

/** encodeObject is the stored form of an object: its JSON without metadata.resourceVersion. */
export function encodeObject(obj: KubeObject): Buffer {
  const { resourceVersion: _dropped, ...metadata } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata }));
}

/** withResourceVersion returns a shallow copy of obj whose metadata.resourceVersion is `revision`. */
export function withResourceVersion(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/**
 * decodeObject parses a stored value into an object with resourceVersion = `revision`; a
 * string saying what is wrong when the bytes are not an object's JSON.
 */
export function decodeObject(value: Uint8Array, revision: number): KubeObject | string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch (e: unknown) {
    return `not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const meta = o['metadata'];
  if (typeof o['apiVersion'] !== 'string' || typeof o['kind'] !== 'string' || typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return 'missing apiVersion, kind or metadata';
  }
  (meta as Record<string, unknown>)['resourceVersion'] = String(revision);
  return o as KubeObject;
}

/** parseRevision reads a resourceVersion ('123'); null when it is not a positive decimal integer. */
export function parseRevision(rv: string | undefined): number | null {
  if (rv === undefined || !/^[1-9][0-9]{0,15}$/.test(rv)) return null;
  const n = Number(rv);
  return Number.isSafeInteger(n) ? n : null;
}
