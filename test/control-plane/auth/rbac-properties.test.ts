// Properties of rule matching and of the escalation check, over random rules and requests:
// breaking a rule down changes nothing it grants, and an owner rule that covers another grants
// at least every request the other grants (so the escalation check never lets a user hand out
// more than it holds).
import fc from 'fast-check';
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { describe, expect, it } from 'vitest';
import { breakdown, ruleCovers } from '../../../src/control-plane/auth/escalation.js';
import { ruleAllows, type RequestAttributes } from '../../../src/control-plane/auth/rbac.js';

const someOf = <T>(values: readonly T[]): fc.Arbitrary<T[]> => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: values.length });

// NB: no 'pods/*' owners: Kubernetes' escalation check treats 'pods/*' as covering every pods
// subresource while its authorizer grants nothing through it, and we keep both as they are.
const resourceRule: fc.Arbitrary<PolicyRule> = fc
  .record({
    verbs: someOf(['get', 'list', 'create', '*']),
    apiGroups: someOf(['', 'apps', '*']),
    resources: someOf(['pods', 'pods/log', 'pods/status', 'deployments', '*', '*/status']),
    resourceNames: fc.oneof(fc.constant([] as string[]), someOf(['a', 'b'])),
  })
  .map((r) => (r.resourceNames.length === 0 ? { verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources } : r));

const urlRule: fc.Arbitrary<PolicyRule> = fc.record({
  verbs: someOf(['get', 'post', '*']),
  nonResourceURLs: someOf(['/healthz', '/apis', '/apis/*', '/api/v1', '*']),
});

const rule = fc.oneof(resourceRule, urlRule);

const request: fc.Arbitrary<RequestAttributes> = fc.oneof(
  fc
    .record({
      verb: fc.constantFrom('get', 'list', 'create', 'delete'),
      apiGroup: fc.constantFrom('', 'apps', 'batch'),
      resource: fc.constantFrom('pods', 'deployments', 'jobs'),
      subresource: fc.constantFrom('', 'log', 'status'),
      name: fc.constantFrom('', 'a', 'b', 'c'),
    })
    .map(({ subresource, name, ...r }): RequestAttributes => ({ kind: 'resource', ...r, ...(subresource !== '' ? { subresource } : {}), ...(name !== '' ? { name } : {}) })),
  fc.record({ verb: fc.constantFrom('get', 'post'), path: fc.constantFrom('/healthz', '/apis', '/apis/apps', '/api/v1', '/metrics') }).map((r): RequestAttributes => ({ kind: 'nonResource', ...r })),
);

describe('RBAC properties', () => {
  it('a rule grants exactly what its broken-down pieces grant', () => {
    fc.assert(
      fc.property(rule, request, (r, req) => {
        expect(ruleAllows(r, req)).toBe(breakdown(r).some((piece) => ruleAllows(piece, req)));
      }),
      { numRuns: 2000 },
    );
  });

  it('every piece of a rule is covered by the rule itself', () => {
    fc.assert(
      fc.property(rule, (r) => {
        for (const piece of breakdown(r)) expect(ruleCovers(r, piece)).toBe(true);
      }),
    );
  });

  it('an owner rule that covers a piece grants every request the piece grants', () => {
    fc.assert(
      fc.property(rule, rule, request, (owner, servant, req) => {
        for (const piece of breakdown(servant)) {
          if (ruleCovers(owner, piece) && ruleAllows(piece, req)) expect(ruleAllows(owner, req)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
