import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMergePatch } from '../../../src/control-plane/api/patch/index.js';
import { applyStrategicMergePatch } from '../../../src/control-plane/api/patch/strategic-merge.js';
import { canonicalQuantity, compareQuantities, formatQuantity, parseQuantity, quantityToMilli } from '../../../src/control-plane/api/quantity.js';
import { matchesLabels, parseLabelSelector, selectorToString } from '../../../src/control-plane/api/selectors/labels.js';
import { testCatalog } from './fixtures.js';

// A fixed seed keeps runs reproducible; a failure prints the seed and path to replay it.
fc.configureGlobal({ seed: 20261130, numRuns: 200 });

const key = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
/** Objects without lists and without directive keys: where strategic merge and JSON merge agree. */
const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), tie('object')),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).object;
const patchTree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null), tie('object')),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).object;

describe('strategic merge patch properties', () => {
  it('an empty patch changes nothing', () => {
    fc.assert(fc.property(tree, (o) => {
      const r = applyStrategicMergePatch(o, {}, testCatalog, 'Unknown');
      expect(r.ok && r.value).toEqual(o);
    }));
  });

  it('on objects without lists it agrees with JSON merge patch (RFC 7396)', () => {
    fc.assert(fc.property(tree, patchTree, (o, p) => {
      const s = applyStrategicMergePatch(o, p, testCatalog, 'Unknown');
      const m = applyMergePatch(o, p);
      expect(s.ok && s.value).toEqual(m.ok && m.value);
    }));
  });

  it('merging a set of finalizers is a union that keeps the stored order first for known ones', () => {
    const fin = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 });
    fc.assert(fc.property(fin, fin, (have, add) => {
      const r = applyStrategicMergePatch({ metadata: { finalizers: have } }, { metadata: { finalizers: add } }, testCatalog, 'Pod');
      const got = r.ok ? ((r.value as { metadata: { finalizers: string[] } }).metadata.finalizers) : [];
      expect([...got].sort()).toEqual([...new Set([...have, ...add])].sort());
    }));
  });
});

describe('quantity properties', () => {
  const suffix = fc.constantFrom('', 'm', 'k', 'M', 'G', 'Ki', 'Mi', 'Gi', 'e3', 'e-2', 'n', 'u');
  const number = fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 999 }), fc.boolean()).map(([i, f, frac]) => (frac ? `${i}.${f}` : String(i)));
  const quantity = fc.tuple(fc.constantFrom('', '-', '+'), number, suffix).map(([s, n, x]) => `${s}${n}${x}`);

  it('the canonical form is a fixed point with the same value', () => {
    fc.assert(fc.property(quantity, (s) => {
      const q = parseQuantity(s);
      expect(q.ok).toBe(true);
      if (!q.ok) return;
      const c = formatQuantity(q.value);
      expect(canonicalQuantity(c)).toEqual({ ok: true, value: c });
      const back = parseQuantity(c);
      expect(back.ok && compareQuantities(back.value, q.value)).toBe(0);
    }));
  });

  it('comparison agrees with milli values when those differ', () => {
    fc.assert(fc.property(quantity, quantity, (a, b) => {
      const qa = parseQuantity(a);
      const qb = parseQuantity(b);
      if (!qa.ok || !qb.ok) return;
      const ma = quantityToMilli(qa.value);
      const mb = quantityToMilli(qb.value);
      if (ma < mb) expect(compareQuantities(qa.value, qb.value)).toBe(-1);
      if (ma > mb) expect(compareQuantities(qa.value, qb.value)).toBe(1);
    }));
  });
});

describe('label selector properties', () => {
  const k = fc.constantFrom('app', 'tier', 'example.com/team', 'n');
  const v = fc.constantFrom('web', 'db', '', '5', 'a.b_c');
  const req = fc.oneof(
    fc.tuple(k, fc.constantFrom('=', '==', '!='), v).map(([a, op, b]) => `${a}${op}${b}`),
    fc.tuple(k, fc.constantFrom('in', 'notin'), fc.array(v.filter((x) => x !== ''), { minLength: 1, maxLength: 3 })).map(([a, op, vs]) => `${a} ${op} (${vs.join(',')})`),
    k.map((a) => a),
    k.map((a) => `!${a}`),
    fc.tuple(k, fc.constantFrom('>', '<'), fc.integer({ min: 0, max: 9 })).map(([a, op, n]) => `${a}${op}${n}`),
  );
  const labels = fc.dictionary(k, v, { maxKeys: 4 });

  it('printing and parsing again selects the same label sets', () => {
    fc.assert(fc.property(fc.array(req, { maxLength: 4 }), labels, (reqs, ls) => {
      const first = parseLabelSelector(reqs.join(','));
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      const again = parseLabelSelector(selectorToString(first.value));
      expect(again).toEqual(first);
      expect(matchesLabels(again.ok ? again.value : first.value, ls)).toBe(matchesLabels(first.value, ls));
    }));
  });
});
