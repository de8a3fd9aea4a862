import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../../src/control-plane/api/patch/index.js';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { at, testCatalog } from './fixtures.js';

const dep: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'i' }, { name: 'b', image: 'j' }] } } },
};

describe('applyPatch json (RFC 6902)', () => {
  it('applies replace, add, remove and a passing test', () => {
    const r = applyPatch('json', dep, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/labels/tier', value: 'fe' },
      { op: 'remove', path: '/spec/template/spec/containers/1' },
    ], testCatalog, 'Deployment');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(at(r.value, 'spec.replicas')).toBe(3);
    expect(at(r.value, 'metadata.labels')).toEqual({ app: 'web', tier: 'fe' });
    expect(at(r.value, 'spec.template.spec.containers')).toEqual([{ name: 'a', image: 'i' }]);
    expect(at(dep, 'spec.replicas')).toBe(1);
    expect(at(dep, 'spec.template.spec.containers.1.name')).toBe('b');
  });

  const failures: Array<{ name: string; patch: unknown; code: number; message: RegExp }> = [
    { name: 'a failing test', patch: [{ op: 'test', path: '/spec/replicas', value: 2 }], code: 422, message: /operation 0 \(test \/spec\/replicas\) failed: the value/ },
    { name: 'removing a missing path', patch: [{ op: 'remove', path: '/spec/nope' }], code: 422, message: /does not exist/ },
    { name: 'replacing a missing path', patch: [{ op: 'replace', path: '/metadata/annotations', value: {} }], code: 422, message: /does not exist/ },
    { name: 'adding under a missing parent', patch: [{ op: 'add', path: '/status/phase/x', value: 1 }], code: 422, message: /operation 0/ },
    { name: 'an object instead of a list', patch: { op: 'add' }, code: 400, message: /must be a JSON array/ },
    { name: 'an unknown op', patch: [{ op: 'frob', path: '/a' }], code: 400, message: /unknown op "frob"/ },
    { name: 'an op without a path', patch: [{ op: 'add', value: 1 }], code: 400, message: /needs a "path"/ },
    { name: 'a second op failing after a first succeeded', patch: [{ op: 'add', path: '/a', value: 1 }, { op: 'remove', path: '/b' }], code: 422, message: /operation 1 \(remove \/b\)/ },
  ];
  for (const c of failures) {
    it(`refuses ${c.name}`, () => {
      const r = applyPatch('json', dep, c.patch, testCatalog, 'Deployment');
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.code).toBe(c.code);
      expect(r.error.message).toMatch(c.message);
    });
  }
});

describe('applyPatch json limits', () => {
  it('refuses more than 10000 operations', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' }));
    const r = applyPatch('json', dep, ops, testCatalog, 'Deployment');
    expect(r.ok ? '' : r.error.message).toMatch(/maximum operations in a JSON patch is 10000, got 10001/);
  });

  it('replaces the whole document through the root path', () => {
    const r = applyPatch('json', dep, [{ op: 'replace', path: '', value: { kind: 'X' } }], testCatalog, 'Deployment');
    expect(r.ok && r.value).toEqual({ kind: 'X' });
  });
});

describe('applyPatch merge (RFC 7396)', () => {
  it('merges objects, replaces lists, deletes with null', () => {
    const r = applyPatch('merge', dep, { metadata: { labels: { app: null, x: 'y' } }, spec: { template: { spec: { containers: [{ name: 'c' }] } } } }, testCatalog, 'Deployment');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(at(r.value, 'metadata.labels')).toEqual({ x: 'y' });
    expect(at(r.value, 'spec.template.spec.containers')).toEqual([{ name: 'c' }]);
    expect(at(dep, 'metadata.labels')).toEqual({ app: 'web' });
  });

  it('refuses a patch that is not an object', () => {
    const r = applyPatch('merge', dep, [1], testCatalog, 'Deployment');
    expect(r.ok ? 0 : r.error.code).toBe(400);
  });
});

describe('applyPatch dispatch', () => {
  it('strategic merges lists by key', () => {
    const r = applyPatch('strategic', dep, { spec: { template: { spec: { containers: [{ name: 'b', image: 'k' }] } } } }, testCatalog, 'Deployment');
    expect(r.ok && at(r.value, 'spec.template.spec.containers')).toEqual([{ name: 'a', image: 'i' }, { name: 'b', image: 'k' }]);
  });

  it('answers apply with a 400 that says what to use', () => {
    const r = applyPatch('apply', dep, {}, testCatalog, 'Deployment');
    expect(r.ok ? '' : r.error.message).toMatch(/Server-side apply/);
  });
});
