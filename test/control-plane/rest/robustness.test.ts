/**
 * No input crashes the REST face: random methods, paths, query strings, content types and
 * bodies (fast-check, seeded) always get an HTTP answer, every failure as a Status whose code
 * matches the response, and the server keeps serving afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRig, type Rig } from './harness.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ maxBodyBytes: 4096 });
});

afterAll(async () => {
  await rig.close();
});

const segment = fc.oneof(
  fc.constantFrom('api', 'apis', 'v1', 'apps', 'namespaces', 'default', 'pods', 'web', 'status', 'scale', 'binding', 'log', 'configmaps', 'nodes', 'openapi', 'v3', 'version', 'healthz', '%zz', '..', ''),
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
);
const path = fc.array(segment, { maxLength: 7 }).map((s) => `/${s.join('/')}`);
const query = fc.constantFrom('', '?watch=true&timeoutSeconds=1', '?watch=maybe', '?limit=-1', '?labelSelector=a%3Db', '?dryRun=Some', '?fieldValidation=Strict', '?gracePeriodSeconds=x', '?includeObject=All', '?resourceVersionMatch=Exact');
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');
const contentType = fc.constantFrom(undefined, 'application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/vnd.kubernetes.protobuf', 'text/plain');
const accept = fc.constantFrom(undefined, 'application/json', 'application/yaml', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/vnd.kubernetes.protobuf', 'text/html', '*/*;q=0');
const body = fc.oneof(
  fc.constant(''),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from(b)]).toString('binary')),
  fc.constant('{"metadata":{"name":"ok"},"data":{"a":"b"}}'),
  fc.constant('x'.repeat(5000)),
);

describe('robustness', () => {
  it('answers every request, failures as a matching Status', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, contentType, accept, body, async (m, p, q, ct, acc, b) => {
        const headers: Record<string, string> = {};
        if (ct !== undefined) headers['content-type'] = ct;
        if (acc !== undefined) headers['accept'] = acc;
        const hasBody = m !== 'GET' && m !== 'HEAD' && b !== '';
        const r = await rig.fetch(`${p}${q}`, { method: m, headers, ...(hasBody ? { body: b } : {}) });
        const text = await r.text();
        expect(r.status).toBeGreaterThanOrEqual(200);
        expect(r.status).toBeLessThan(600);
        if (r.status >= 400 && m !== 'HEAD' && (r.headers.get('content-type') ?? '').startsWith('application/json')) {
          const s = JSON.parse(text) as { kind: string; code: number; reason: string; message: string };
          expect(s.kind).toBe('Status');
          expect(s.code).toBe(r.status);
          expect(s.message.length).toBeGreaterThan(0);
        }
        expect(r.status).not.toBe(500);
      }),
      { numRuns: 300, seed: 7 },
    );
    expect((await rig.fetch('/api/v1/namespaces/default/pods')).status).toBe(200);
  });
});
