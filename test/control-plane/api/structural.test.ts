import { describe, expect, it } from 'vitest';
import { checkStructure } from '../../../src/control-plane/api/structural.js';

const POD = 'io.k8s.api.core.v1.Pod';

function pod(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'x' } }, spec };
}

describe('checkStructure', () => {
  it('accepts a well-formed pod', () => {
    const r = checkStructure(POD, pod({ containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1', memory: 128 } } }] }));
    expect(r).toEqual({ errors: [], unknownFields: [] });
  });

  it('reports unknown fields with their paths, in nested lists too', () => {
    const r = checkStructure(POD, { ...pod({ containers: [{ name: 'c', image: 'nginx' }, { name: 'd', imagee: 'nginx', ports: [{ containerPort: 1, hostIPP: 'x' }] }] }), extra: 1 });
    expect(r.errors).toEqual([]);
    expect(r.unknownFields.sort()).toEqual(['extra', 'spec.containers[1].imagee', 'spec.containers[1].ports[0].hostIPP']);
  });

  it('reports unknown metadata fields and keys that are Object.prototype names', () => {
    const r = checkStructure(POD, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', constructor: 'x', toString: 1 } });
    expect(r.unknownFields).toEqual(['metadata.constructor', 'metadata.toString']);
  });

  it('reports type mismatches as Kubernetes words them', () => {
    const r = checkStructure('io.k8s.api.apps.v1.Deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 'abc', selector: {}, template: {} } });
    expect(r.errors).toEqual([
      { type: 'FieldValueTypeInvalid', field: 'spec.replicas', message: 'Invalid value: "abc": spec.replicas in body must be of type integer: "string"' },
    ]);
  });

  it('checks arrays, maps, booleans, floats for integers and objects', () => {
    const r = checkStructure(POD, {
      metadata: { labels: { a: 1 }, finalizers: 'x' },
      spec: { containers: { name: 'c' }, hostNetwork: 'yes', terminationGracePeriodSeconds: 1.5, securityContext: [] },
    });
    const fields = r.errors.map((e) => e.field).sort();
    expect(fields).toEqual(['metadata.finalizers', 'metadata.labels[a]', 'spec.containers', 'spec.hostNetwork', 'spec.securityContext', 'spec.terminationGracePeriodSeconds']);
    expect(r.errors.find((e) => e.field === 'spec.terminationGracePeriodSeconds')?.message).toBe(
      'Invalid value: 1.5: spec.terminationGracePeriodSeconds in body must be of type integer: "number"',
    );
    expect(r.errors.find((e) => e.field === 'spec.securityContext')?.message).toContain('must be of type object: "array"');
  });

  it('handles int-or-string, quantity, time and free-form fields', () => {
    const svc = {
      metadata: { name: 's', creationTimestamp: '2024-01-01T00:00:00Z', managedFields: [{ fieldsV1: { 'f:spec': { anything: [1] } } }] },
      spec: { ports: [{ port: 80, targetPort: 'http' }, { port: 81, targetPort: 8081 }, { port: 82, targetPort: true }] },
    };
    const r = checkStructure('io.k8s.api.core.v1.Service', svc);
    expect(r.unknownFields).toEqual([]);
    expect(r.errors.map((e) => e.field)).toEqual(['spec.ports[2].targetPort']);
    const q = checkStructure(POD, pod({ containers: [{ name: 'c', resources: { requests: { cpu: 0.5, memory: {} } } }] }));
    expect(q.errors.map((e) => e.field)).toEqual(['spec.containers[0].resources.requests[memory]']);
    const t = checkStructure(POD, { metadata: { creationTimestamp: 5 } });
    expect(t.errors.map((e) => e.field)).toEqual(['metadata.creationTimestamp']);
  });

  it('allows null in optional fields but not in required ones', () => {
    expect(checkStructure(POD, { metadata: { labels: null }, spec: { containers: [{ name: 'c', image: null }] } }).errors).toEqual([]);
    const r = checkStructure(POD, { spec: { containers: [{ name: null }] } });
    expect(r.errors.map((e) => e.field)).toEqual(['spec.containers[0].name']);
  });

  it('checks that secret data is base64', () => {
    const r = checkStructure('io.k8s.api.core.v1.Secret', { data: { ok: 'aGVsbG8=', bad: 'not base64!' }, stringData: { plain: 'not base64!' } });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ type: 'FieldValueInvalid', field: 'data[bad]' });
  });

  it('reports a body that is not an object', () => {
    expect(checkStructure(POD, [1]).errors).toEqual([
      { type: 'FieldValueTypeInvalid', field: '<root>', message: 'Invalid value: [1]: <root> in body must be of type object: "array"' },
    ]);
  });

  it('throws for a type the catalogue lacks (a bug in the caller)', () => {
    expect(() => checkStructure('io.k8s.api.core.v1.Nope', {})).toThrow(/not in the schema catalogue/);
  });
});
