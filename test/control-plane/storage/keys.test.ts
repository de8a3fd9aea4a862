/**
 * keys and codec: object keys and prefixes as DESIGN.md lays them out, parsing them back,
 * continue tokens, and the stored form of objects (no resourceVersion inside).
 */
import { describe, expect, it } from 'vitest';
import { decodeObject, encodeObject, objectJson, parseRevision } from '../../../src/control-plane/storage/codec.js';
import { toApiError } from '../../../src/control-plane/storage/errors.js';
import { namespaceOfKey, objectKey, parseKey, resourcePrefix, resourceRoot } from '../../../src/control-plane/storage/keys.js';
import { decodeContinue, encodeContinue } from '../../../src/control-plane/storage/store.js';

const pods = { group: '', plural: 'pods', namespaced: true };
const deployments = { group: 'apps', plural: 'deployments', namespaced: true };
const nodes = { group: '', plural: 'nodes', namespaced: false };

describe('keys', () => {
  it('places objects under /registry/<group>/<resource>/[<namespace>/]<name>', () => {
    expect(objectKey(pods, 'default', 'web')).toBe('/registry/core/pods/default/web');
    expect(objectKey(deployments, 'prod', 'api')).toBe('/registry/apps/deployments/prod/api');
    expect(objectKey(nodes, undefined, 'n1')).toBe('/registry/core/nodes/n1');
  });

  it('ends every prefix in a slash, so namespace a does not cover namespace ab', () => {
    expect(resourcePrefix(pods)).toBe('/registry/core/pods/');
    expect(resourcePrefix(pods, 'a')).toBe('/registry/core/pods/a/');
    expect(resourcePrefix(nodes, 'a')).toBe('/registry/core/nodes/');
    expect(resourceRoot(deployments)).toBe('/registry/apps/deployments/');
  });

  it('refuses keys a caller should have validated', () => {
    expect(() => objectKey(pods, undefined, 'web')).toThrow(/namespaced/);
    expect(() => objectKey(nodes, 'default', 'n1')).toThrow(/cluster-scoped/);
    expect(() => objectKey(pods, 'default', 'a/b')).toThrow(/key segment/);
  });

  it('parses keys back', () => {
    expect(parseKey('/registry/core/pods/default/web')).toEqual({ group: '', resource: 'pods', namespace: 'default', name: 'web' });
    expect(parseKey('/registry/apps/deployments/prod/api')).toEqual({ group: 'apps', resource: 'deployments', namespace: 'prod', name: 'api' });
    expect(parseKey('/registry/core/nodes/n1')).toEqual({ group: '', resource: 'nodes', name: 'n1' });
    expect(parseKey('/registry/core/pods/')).toBeNull();
    expect(parseKey('/other/core/pods/a/b')).toBeNull();
    expect(parseKey('/registry/core/pods/a/b/c')).toBeNull();
    expect(namespaceOfKey('/registry/core/pods/', '/registry/core/pods/ns1/p')).toBe('ns1');
    expect(namespaceOfKey('/registry/core/nodes/', '/registry/core/nodes/n1')).toBeUndefined();
  });
});

describe('codec', () => {
  it('stores objects without resourceVersion and reads them back with the mod revision', () => {
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '7' }, data: { a: '1' } };
    const bytes = encodeObject(obj);
    expect(JSON.parse(bytes.toString())).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } });
    expect(decodeObject(bytes, 42)).toEqual({ ...obj, metadata: { name: 'c', resourceVersion: '42' } });
    expect(decodeObject(Buffer.from('nope'), 1)).toMatch(/not JSON/);
    expect(decodeObject(Buffer.from('{"kind":"X"}'), 1)).toMatch(/missing/);
  });

  it('serializes each object once', () => {
    const obj = { a: 1 };
    const s = objectJson(obj);
    expect(s).toBe('{"a":1}');
    expect(objectJson(obj)).toBe(s);
  });

  it('reads resource versions strictly', () => {
    expect(parseRevision('12')).toBe(12);
    expect(parseRevision('0')).toBeNull();
    expect(parseRevision('01')).toBeNull();
    expect(parseRevision('x')).toBeNull();
    expect(parseRevision(undefined)).toBeNull();
  });
});

describe('continue tokens', () => {
  it('round-trip as base64url JSON and refuse anything else', () => {
    const t = encodeContinue(12, '/registry/core/pods/a/b\u0000');
    expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(t, 'base64url').toString())).toMatchObject({ rv: 12, start: '/registry/core/pods/a/b\u0000' });
    expect(decodeContinue(t)).toEqual({ rv: 12, start: '/registry/core/pods/a/b\u0000' });
    expect(decodeContinue('garbage')).toMatch(/not valid/);
    expect(decodeContinue(Buffer.from('{"v":"meta.k8s.io/v1","rv":-1,"start":"x"}').toString('base64url'))).toMatch(/not valid/);
  });
});

describe('toApiError', () => {
  it('maps storage failures to the status Kubernetes returns', () => {
    expect(toApiError({ kind: 'conflict', key: 'k', message: 'm' }, { kind: 'pods', name: 'web' })).toMatchObject({
      code: 409, reason: 'Conflict',
      message: 'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect(toApiError({ kind: 'not-found', key: 'k', message: 'm' }, { kind: 'deployments', group: 'apps', name: 'api' }).message).toBe('deployments.apps "api" not found');
    expect(toApiError({ kind: 'gone', message: 'too old' })).toMatchObject({ code: 410, reason: 'Expired' });
    expect(toApiError({ kind: 'unavailable', message: 'down' }).code).toBe(503);
  });
});
