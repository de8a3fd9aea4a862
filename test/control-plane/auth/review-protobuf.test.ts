// Reading review bodies as client-go's typed clients send them (Kubernetes protobuf) and as JSON.
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { decodeReviewBody, decodeReviewProtobuf } from '../../../src/control-plane/auth/review-protobuf.js';

/** message encodes length-delimited fields (strings or nested messages) in field order. */
function message(fields: readonly (readonly [number, string | Uint8Array])[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [n, v] of fields) {
    w.uint32((n << 3) | 2);
    if (typeof v === 'string') w.string(v);
    else w.bytes(v);
  }
  return w.finish();
}

/** envelope wraps an object's message as Kubernetes does: "k8s\0" + runtime.Unknown. */
function envelope(kind: string, raw: Uint8Array): Uint8Array {
  const unknown = message([
    [1, message([[1, 'authorization.k8s.io/v1'], [2, kind]])],
    [2, raw],
    [4, ''],
  ]);
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...unknown]);
}

describe('decodeReviewProtobuf', () => {
  it('reads a SelfSubjectAccessReview on a resource', () => {
    const attrs = message([[1, 'dev'], [2, 'list'], [3, 'apps'], [4, 'v1'], [5, 'deployments'], [6, 'scale'], [7, 'web']]);
    const body = envelope('SelfSubjectAccessReview', message([[1, message([])], [2, message([[1, attrs]])], [3, message([])]]));
    expect(decodeReviewProtobuf(body)).toEqual({
      ok: true,
      value: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        metadata: {},
        spec: { resourceAttributes: { namespace: 'dev', verb: 'list', group: 'apps', version: 'v1', resource: 'deployments', subresource: 'scale', name: 'web' } },
      },
    });
  });

  it('reads a SelfSubjectAccessReview on a path, skipping fields it does not know', () => {
    const w = protobuf.Writer.create();
    w.uint32((9 << 3) | 0).uint32(42); // a varint field from a newer version
    const spec = Uint8Array.from([...message([[2, message([[1, '/healthz'], [2, 'get']])]]), ...w.finish()]);
    const body = envelope('SelfSubjectAccessReview', message([[2, spec]]));
    const r = decodeReviewProtobuf(body);
    expect(r.ok && r.value['spec']).toEqual({ nonResourceAttributes: { path: '/healthz', verb: 'get' } });
  });

  it('reads a SelfSubjectRulesReview', () => {
    const r = decodeReviewProtobuf(envelope('SelfSubjectRulesReview', message([[2, message([[1, 'dev']])]])));
    expect(r).toEqual({ ok: true, value: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace: 'dev' } } });
  });

  it('refuses a missing prefix, another kind, and truncated bytes', () => {
    expect(decodeReviewProtobuf(Uint8Array.from([1, 2, 3]))).toMatchObject({ ok: false, error: expect.stringMatching(/^The body does not start with the Kubernetes protobuf prefix/) as unknown });
    expect(decodeReviewProtobuf(envelope('Pod', message([])))).toMatchObject({ ok: false, error: expect.stringMatching(/kind "Pod" is not a review/) as unknown });
    const whole = envelope('SelfSubjectRulesReview', message([[2, message([[1, 'dev']])]]));
    expect(decodeReviewProtobuf(whole.subarray(0, whole.length - 3))).toMatchObject({ ok: false, error: expect.stringMatching(/^The protobuf body is malformed/) as unknown });
  });
});

describe('decodeReviewBody', () => {
  it('chooses the decoder by Content-Type', () => {
    const json = Buffer.from(JSON.stringify({ kind: 'SelfSubjectRulesReview', spec: { namespace: 'a' } }));
    expect(decodeReviewBody('application/json; charset=utf-8', json)).toEqual({ ok: true, value: { kind: 'SelfSubjectRulesReview', spec: { namespace: 'a' } } });
    expect(decodeReviewBody(undefined, json).ok).toBe(true);
    const pb = envelope('SelfSubjectRulesReview', message([[2, message([[1, 'a']])]]));
    expect(decodeReviewBody('application/vnd.kubernetes.protobuf', pb)).toMatchObject({ ok: true, value: { spec: { namespace: 'a' } } });
    expect(decodeReviewBody('application/json', Buffer.from('{'))).toMatchObject({ ok: false, error: expect.stringMatching(/^The request body is not valid JSON/) as unknown });
    expect(decodeReviewBody('application/yaml', json)).toMatchObject({ ok: false, error: expect.stringMatching(/media type "application\/yaml" is not supported/) as unknown });
  });
});
