/**
 * fake-openapi: the least OpenAPI v3 kubectl needs before it writes: an index of group-version
 * documents, and in each a PATCH operation per kind tagged with x-kubernetes-group-version-kind
 * that lists the fieldValidation query parameter (kubectl checks it to choose server-side field
 * validation; without it kubectl falls back to client-side validation against /openapi/v2 in
 * protobuf, and refuses to create anything).
 */
import type { ResourceInfo } from '../../../src/control-plane/api/types.js';
import type { OpenApiSource } from '../../../src/control-plane/apiserver/rest/index.js';

function gvPath(r: ResourceInfo): string {
  return r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
}

/** fakeOpenApi builds an OpenApiSource over the resources. */
export function fakeOpenApi(resources: readonly ResourceInfo[]): OpenApiSource {
  const paths = [...new Set(resources.map(gvPath))];
  return {
    v2: () => ({ swagger: '2.0', info: { title: 'fake', version: 'v0' }, paths: {} }),
    v3Index: () => ({ paths: Object.fromEntries(paths.map((p) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=0` }])) }),
    v3: (path: string) => {
      if (!paths.includes(path)) return undefined;
      const ops: Record<string, unknown> = {};
      for (const r of resources.filter((x) => gvPath(x) === path)) {
        const base = r.namespaced ? `/${path}/namespaces/{namespace}/${r.plural}/{name}` : `/${path}/${r.plural}/{name}`;
        ops[base] = {
          patch: {
            'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
            parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string' } }],
            responses: {},
          },
        };
      }
      return { openapi: '3.0.0', info: { title: 'fake', version: 'v0' }, paths: ops, components: { schemas: {} } };
    },
  };
}
