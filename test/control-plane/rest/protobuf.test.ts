/**
 * Kubernetes protobuf request bodies: the envelope, scalars, maps, repeated fields, pointer
 * zeros, int-or-string, time and quantity, and the refusals (malformed bytes, unknown kinds and
 * fields) — with bodies built by a tiny encoder here.
 */
import { describe, expect, it } from 'vitest';
import { decodeProtobuf } from '../../../src/control-plane/apiserver/rest/protobuf.js';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}

/** A field: [number, value], where a value is a string, a number (varint) or nested fields. */
type Field = readonly [number, string | number | readonly Field[] | Buffer];

function encode(fields: readonly Field[]): Buffer {
  const parts: number[] = [];
  for (const [num, value] of fields) {
    if (typeof value === 'number') {
      parts.push(...varint(num << 3), ...varint(value));
      continue;
    }
    const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.isBuffer(value) ? value : encode(value);
    parts.push(...varint((num << 3) | 2), ...varint(bytes.length), ...bytes);
  }
  return Buffer.from(parts);
}

function envelope(apiVersion: string, kind: string, raw: readonly Field[]): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), encode([[1, [[1, apiVersion], [2, kind]]], [2, encode(raw)], [3, ''], [4, '']])]);
}

const meta = (name: string): Field => [1, [[1, name], [2, ''], [3, ''], [7, 0], [8, []], [11, [[1, 'app'], [2, name]]]]];

describe('decodeProtobuf', () => {
  it('decodes a ConfigMap with maps, dropping unset scalars', () => {
    const r = decodeProtobuf(envelope('v1', 'ConfigMap', [meta('c1'), [2, [[1, 'a'], [2, 'b']]], [2, [[1, 'empty'], [2, '']]], [3, [[1, 'bin'], [2, Buffer.from([1, 2])]]]]));
    expect(r).toEqual({ ok: true, value: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', labels: { app: 'c1' } }, data: { a: 'b', empty: '' }, binaryData: { bin: 'AQI=' } } });
  });

  it('keeps meaningful zeros of optional fields, and int-or-string, time and quantities', () => {
    const container: Field[] = [[1, 'c'], [2, 'img'], [8, [[1, [[1, 'cpu'], [2, [[1, '250m']]]]]]], [16, 0]];
    const spec: Field[] = [[1, 0], [3, [[1, []], [2, [[2, container]]]]], [4, [[1, 'RollingUpdate'], [2, [[1, [[1, 1], [3, '25%']]], [2, [[1, 0], [2, 2]]]]]]]];
    const r = decodeProtobuf(envelope('apps/v1', 'Deployment', [[1, [[1, 'd'], [8, [[1, 1767225600]]]]], [2, spec]]));
    expect(r.ok && r.value).toEqual({
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'd', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        replicas: 0,
        template: { spec: { containers: [{ name: 'c', image: 'img', resources: { limits: { cpu: '250m' } } }] } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 2 } },
      },
    });
  });

  it('keeps empty strings inside repeated fields (the core API group)', () => {
    const r = decodeProtobuf(envelope('rbac.authorization.k8s.io/v1', 'Role', [meta('r'), [2, [[1, 'get'], [2, ''], [3, 'pods']]]]));
    expect(r.ok && r.value['rules']).toEqual([{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
  });

  it('decodes DeleteOptions under any apiVersion', () => {
    const r = decodeProtobuf(envelope('apps/v1', 'DeleteOptions', [[1, 0], [4, 'Foreground'], [5, 'All']]));
    expect(r.ok && r.value).toMatchObject({ gracePeriodSeconds: 0, propagationPolicy: 'Foreground', dryRun: ['All'] });
  });

  it('refuses bytes without the magic, and malformed ones, with 400', () => {
    const noMagic = decodeProtobuf(Buffer.from('{"a":1}'));
    expect(noMagic.ok || noMagic.error).toMatchObject({ code: 400, reason: 'BadRequest' });
    const cut = envelope('v1', 'ConfigMap', [meta('c1')]).subarray(0, 20);
    const r = decodeProtobuf(cut);
    expect(r.ok || r.error).toMatchObject({ code: 400 });
    expect(r.ok || r.error.message).toMatch(/^The protobuf body is malformed: /);
  });

  it('refuses kinds and fields it has no schema for with 415, rather than dropping them', () => {
    const kind = decodeProtobuf(envelope('batch/v1', 'Job', [meta('j')]));
    expect(kind.ok || kind.error).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    expect(kind.ok || kind.error.message).toContain('a Job (batch/v1)');
    const field = decodeProtobuf(envelope('v1', 'ConfigMap', [meta('c1'), [99, 'x']]));
    expect(field.ok || field.error.message).toContain('field 99 of ConfigMap');
  });
});
