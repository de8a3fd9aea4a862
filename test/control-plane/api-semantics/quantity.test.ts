import { describe, expect, it } from 'vitest';
import { schemaCatalog } from '../../../src/control-plane/api/schema/catalog.js';
import {
  QUANTITY_FORMAT_MESSAGE,
  QUANTITY_SUFFIX_MESSAGE,
  canonicalQuantity,
  canonicalizeQuantities,
  compareQuantities,
  parseQuantity,
  quantityToMilli,
  quantityToValue,
} from '../../../src/control-plane/api/quantity.js';
import type { Quantity } from '../../../src/control-plane/api/quantity.js';

function q(s: string | number): Quantity {
  const r = parseQuantity(s);
  if (!r.ok) throw new Error(`${String(s)}: ${r.error}`);
  return r.value;
}

describe('quantity: canonical form', () => {
  const cases: Array<[string | number, string]> = [
    ['0', '0'], ['0m', '0'], ['-0', '0'], ['1', '1'], ['1000m', '1'], ['1500m', '1500m'], ['0.5', '500m'], ['.5', '500m'], ['5.', '5'],
    ['100m', '100m'], ['0.1', '100m'], ['1.5', '1500m'], ['1.5k', '1500'], ['1k', '1k'], ['1000', '1k'], ['1000k', '1M'], ['100M', '100M'],
    ['1000M', '1G'], ['2T', '2T'], ['3P', '3P'], ['4E', '4E'], ['5000E', '5000E'], ['-1500m', '-1500m'], ['+2', '2'], ['1n', '1n'],
    ['1u', '1u'], ['1000n', '1u'], ['0.0000000001', '1n'], ['1.0000000001', '1000000001n'], ['-0.0000000001', '-1n'],
    ['1Ki', '1Ki'], ['1024', '1024'], ['1.5Gi', '1536Mi'], ['1.5Ki', '1536'], ['512Mi', '512Mi'], ['1024Mi', '1Gi'], ['1Ei', '1Ei'],
    ['1024Ei', '1024Ei'], ['0.5Ki', '512'], ['1023Ki', '1023Ki'], ['0.1Ki', '102400m'], ['-1Gi', '-1Gi'], ['100Mi', '100Mi'],
    ['12e3', '12e3'], ['1e3', '1e3'], ['1E3', '1e3'], ['1e0', '1'], ['1500e-3', '1500e-3'], ['1.5e3', '1500'], ['1e-3', '1e-3'],
    ['1E', '1E'], [1, '1'], [0.25, '250m'], [1e21, '1e21'],
  ];
  for (const [input, want] of cases) {
    it(`${String(input)} → ${want}`, () => {
      expect(canonicalQuantity(input)).toEqual({ ok: true, value: want });
    });
  }
});

describe('quantity: bad input', () => {
  const cases: Array<[string, string]> = [
    ['', QUANTITY_FORMAT_MESSAGE], ['abc', QUANTITY_FORMAT_MESSAGE], ['1 Gi', QUANTITY_FORMAT_MESSAGE], ['1GiB', QUANTITY_FORMAT_MESSAGE],
    ['1.2.3', QUANTITY_FORMAT_MESSAGE], ['.', QUANTITY_FORMAT_MESSAGE], ['--1', QUANTITY_FORMAT_MESSAGE], ['Gi', QUANTITY_FORMAT_MESSAGE],
    ['1K', QUANTITY_SUFFIX_MESSAGE], ['1KM', QUANTITY_SUFFIX_MESSAGE], ['1mi', QUANTITY_SUFFIX_MESSAGE], ['1e', QUANTITY_SUFFIX_MESSAGE],
    ['1e1.5', QUANTITY_FORMAT_MESSAGE],
  ];
  for (const [input, want] of cases) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const r = parseQuantity(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toBe(want);
    });
  }

  it('refuses an exponent too large to hold', () => {
    const r = parseQuantity('1e1000000');
    expect(r.ok ? '' : r.error).toMatch(/exponent must be between/);
  });
});

describe('quantity: values and order', () => {
  const milli: Array<[string, bigint]> = [['100m', 100n], ['1', 1000n], ['0.5', 500n], ['1Ki', 1024000n], ['1n', 1n], ['1500u', 2n], ['-1n', 0n], ['2e3', 2000000n]];
  for (const [s, want] of milli) it(`milli(${s}) = ${want}`, () => expect(quantityToMilli(q(s))).toBe(want));

  const values: Array<[string, bigint]> = [['100m', 1n], ['1Gi', 1073741824n], ['1.5', 2n], ['2k', 2000n], ['1E', 1000000000000000000n]];
  for (const [s, want] of values) it(`value(${s}) = ${want}`, () => expect(quantityToValue(q(s))).toBe(want));

  const order: Array<[string, string, -1 | 0 | 1]> = [
    ['1', '1000m', 0], ['1Gi', '1G', 1], ['500m', '0.5', 0], ['100Mi', '1Gi', -1], ['1e3', '1k', 0], ['-1', '0', -1], ['1n', '0', 1],
  ];
  for (const [a, b, want] of order) it(`${a} vs ${b} = ${want}`, () => expect(compareQuantities(q(a), q(b))).toBe(want));
});

describe('canonicalizeQuantities', () => {
  it('rewrites the quantities of a pod, and only those, sharing what it did not change', () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { cpu: '1000m' } },
      spec: {
        containers: [
          { name: 'a', image: 'x', resources: { limits: { cpu: '1000m', memory: '1.5Gi' }, requests: { cpu: 0.5, memory: 'bad' } } },
          { name: 'b', image: 'y' },
        ],
        volumes: [{ name: 'v', emptyDir: { sizeLimit: '1024Mi' } }],
      },
    };
    const before = JSON.stringify(pod);
    const out = canonicalizeQuantities(pod, schemaCatalog(), 'io.k8s.api.core.v1.Pod') as typeof pod;
    expect(out.spec.containers[0]?.resources).toEqual({ limits: { cpu: '1', memory: '1536Mi' }, requests: { cpu: '500m', memory: 'bad' } });
    expect(out.spec.volumes[0]?.emptyDir.sizeLimit).toBe('1Gi');
    expect(out.metadata).toBe(pod.metadata);
    expect(out.spec.containers[1]).toBe(pod.spec.containers[1]);
    expect(JSON.stringify(pod)).toBe(before);
  });

  it('returns the same object when every quantity is already canonical', () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } };
    expect(canonicalizeQuantities(node, schemaCatalog(), 'io.k8s.api.core.v1.Node')).toBe(node);
  });
});
