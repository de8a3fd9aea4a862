import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaCatalog, typeSchema } from '../../../src/control-plane/api/schema/catalog.js';
import type { TypeRef } from '../../../src/control-plane/api/schema/format.js';
import { RESOURCES, findResource, groupVersions, listTypeNameOf, resourceByKind, typeNameOf } from '../../../src/control-plane/api/resources.js';

function refsOf(t: TypeRef): string[] {
  switch (t.kind) {
    case 'ref':
      return [t.name];
    case 'array':
      return refsOf(t.items);
    case 'map':
      return refsOf(t.values);
    case 'scalar':
    case 'any':
      return [];
  }
}

describe('schema catalogue', () => {
  it('covers every served kind, its list, and the extra types', () => {
    for (const r of RESOURCES) {
      expect(typeSchema(typeNameOf(r))?.name, r.kind).toBe(typeNameOf(r));
      if (r.verbs.includes('list')) expect(typeSchema(listTypeNameOf(r)), r.listKind).toBeDefined();
    }
    for (const name of [
      'io.k8s.api.core.v1.Binding',
      'io.k8s.api.autoscaling.v1.Scale',
      'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
      'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
      'io.k8s.apimachinery.pkg.apis.meta.v1.List',
      'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta',
    ]) {
      expect(typeSchema(name), name).toBeDefined();
    }
    expect(typeSchema('toString')).toBeUndefined();
  });

  it('is closed: every reference names a type of the catalogue', () => {
    const types = schemaCatalog().types;
    for (const t of Object.values(types)) {
      for (const [field, f] of Object.entries(t.fields)) {
        for (const ref of refsOf(f.type)) expect(types[ref], `${t.name}.${field} → ${ref}`).toBeDefined();
      }
    }
  });

  it('maps the Kubernetes scalars and carries descriptions and required fields', () => {
    expect(typeSchema('io.k8s.api.core.v1.ServicePort')?.fields['targetPort']?.type).toEqual({ kind: 'scalar', scalar: 'int-or-string' });
    expect(typeSchema('io.k8s.api.core.v1.ResourceRequirements')?.fields['limits']?.type).toEqual({ kind: 'map', values: { kind: 'scalar', scalar: 'quantity' } });
    expect(typeSchema('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')?.fields['creationTimestamp']?.type).toEqual({ kind: 'scalar', scalar: 'time' });
    expect(typeSchema('io.k8s.api.core.v1.Secret')?.fields['data']?.type).toEqual({ kind: 'map', values: { kind: 'scalar', scalar: 'bytes' } });
    expect(typeSchema('io.k8s.api.core.v1.Secret')?.fields['stringData']?.type).toEqual({ kind: 'map', values: { kind: 'scalar', scalar: 'string' } });
    expect(typeSchema('io.k8s.api.apps.v1.DeploymentSpec')?.fields['replicas']?.type).toEqual({ kind: 'scalar', scalar: 'integer' });
    const container = typeSchema('io.k8s.api.core.v1.Container');
    expect(container?.fields['name']?.required).toBe(true);
    expect(container?.fields['image']?.required).toBe(false);
    expect(container?.description).toMatch(/^A single application container/);
    expect(container?.fields['image']?.description).toMatch(/Container image name/);
  });

  it('carries the strategic-merge metadata', () => {
    expect(typeSchema('io.k8s.api.core.v1.PodSpec')?.fields['containers']).toMatchObject({ patchStrategy: 'merge', patchMergeKey: 'name' });
    expect(typeSchema('io.k8s.api.core.v1.PodSpec')?.fields['volumes']).toMatchObject({ patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' });
    expect(typeSchema('io.k8s.api.apps.v1.DeploymentSpec')?.fields['strategy']?.patchStrategy).toBe('retainKeys');
    expect(typeSchema('io.k8s.api.apps.v1.DeploymentSpec')?.fields['strategy']).not.toHaveProperty('patchMergeKey');
    expect(typeSchema('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')?.fields['finalizers']).toMatchObject({ patchStrategy: 'merge' });
    expect(typeSchema('io.k8s.api.core.v1.Container')?.fields['ports']).toMatchObject({ patchStrategy: 'merge', patchMergeKey: 'containerPort' });
    expect(typeSchema('io.k8s.api.core.v1.Container')?.fields['args']).not.toHaveProperty('patchStrategy');
  });

  it('is what scripts/gen-schema.ts generates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-schema-'));
    try {
      const out = join(dir, 'catalog.json');
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/gen-schema.ts', out], { stdio: 'pipe' });
      const committed = readFileSync(new URL('../../../src/control-plane/api/schema/catalog.generated.json', import.meta.url), 'utf8');
      expect(readFileSync(out, 'utf8') === committed, 'catalog.generated.json is stale: run npx tsx scripts/gen-schema.ts').toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resources', () => {
  it('finds resources by URL and by kind', () => {
    expect(findResource('', 'v1', 'pods')).toMatchObject({ kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec'] });
    expect(findResource('apps', 'v1', 'deployments')).toMatchObject({ kind: 'Deployment', listKind: 'DeploymentList', singular: 'deployment', shortNames: ['deploy'] });
    expect(findResource('', 'v1', 'deployments')).toBeUndefined();
    expect(findResource('', 'v2', 'pods')).toBeUndefined();
    expect(resourceByKind('rbac.authorization.k8s.io/v1', 'ClusterRole')).toMatchObject({ plural: 'clusterroles', namespaced: false });
    expect(resourceByKind('v1', 'Namespace')?.plural).toBe('namespaces');
    expect(resourceByKind('apps/v1', 'Pod')).toBeUndefined();
    expect(findResource('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews')).toMatchObject({ verbs: ['create'], namespaced: false });
    expect(findResource('discovery.k8s.io', 'v1', 'endpointslices')?.shortNames).toEqual([]);
  });

  it('names the OpenAPI types of kinds', () => {
    const names = RESOURCES.map(typeNameOf);
    expect(names).toContain('io.k8s.api.core.v1.Pod');
    expect(names).toContain('io.k8s.api.rbac.v1.ClusterRoleBinding');
    expect(names).toContain('io.k8s.api.coordination.v1.Lease');
    expect(names).toContain('io.k8s.api.authorization.v1.SelfSubjectAccessReview');
  });

  it('lists each group once with its preferred version', () => {
    const gvs = groupVersions();
    expect(gvs.map((g) => g.group)).toEqual(['', 'apps', 'authorization.k8s.io', 'rbac.authorization.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io']);
    for (const g of gvs) expect(g).toMatchObject({ versions: ['v1'], preferredVersion: 'v1' });
  });
});
