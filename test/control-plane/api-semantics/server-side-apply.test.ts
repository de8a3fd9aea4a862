import { describe, expect, it } from 'vitest';
import { serverSideApply } from '../../../src/control-plane/api/patch/server-side-apply.js';
import type { ApplyOptions } from '../../../src/control-plane/api/patch/server-side-apply.js';
import { schemaCatalog } from '../../../src/control-plane/api/schema/catalog.js';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { at, list } from './fixtures.js';

const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';
const opts = (manager = 'kubectl', force = false): ApplyOptions => ({ manager, force, apiVersion: 'apps/v1', time: '2026-11-30T10:00:00Z' });

function config(o: { labels?: Record<string, string>; replicas?: number; containers?: unknown[]; strategy?: unknown } = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: o.labels ?? { app: 'web', tier: 'fe' } },
    spec: {
      ...(o.replicas === undefined ? {} : { replicas: o.replicas }),
      selector: { matchLabels: { app: 'web' } },
      ...(o.strategy === undefined ? {} : { strategy: o.strategy }),
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: o.containers ?? [{ name: 'web', image: 'nginx:1' }, { name: 'side', image: 'busybox' }] } },
    },
  };
}

function apply(live: KubeObject | undefined, cfg: unknown, o = opts()): KubeObject {
  const r = serverSideApply(live, cfg, schemaCatalog(), DEPLOYMENT, o);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** serverDefaults stands in for what the registry adds between applies (defaults, status). */
function serverDefaults(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  for (const ctr of list(at(c, 'spec.template.spec.containers'))) (ctr as Record<string, unknown>)['imagePullPolicy'] = 'IfNotPresent';
  (c['spec'] as Record<string, unknown>)['revisionHistoryLimit'] = 10;
  c['status'] = { replicas: 1 };
  return c;
}

function managers(o: KubeObject): string[] {
  return (o.metadata.managedFields ?? []).map((m) => `${m.manager ?? ''}/${m.operation ?? ''}`);
}

describe('server-side apply', () => {
  it('creates an object and records what the manager owns', () => {
    const v = apply(undefined, config({ replicas: 2 }));
    expect(at(v, 'metadata.name')).toBe('web');
    expect(at(v, 'spec.replicas')).toBe(2);
    expect(managers(v)).toEqual(['kubectl/Apply']);
    const fields = v.metadata.managedFields?.[0]?.fieldsV1 as Record<string, unknown>;
    expect(at(fields, 'f:spec.f:replicas')).toEqual({});
    expect(at(fields, 'f:metadata.f:labels.f:tier')).toEqual({});
    const containers = at(fields, 'f:spec.f:template.f:spec.f:containers') as Record<string, unknown>;
    expect(Object.keys(containers).sort()).toEqual(['k:{"name":"side"}', 'k:{"name":"web"}']);
    expect(at(fields, 'f:metadata.f:name')).toBeUndefined();
  });

  it('a second apply changes what changed and removes what the manager left out, keeping server defaults', () => {
    const first = serverDefaults(apply(undefined, config({ replicas: 2 })));
    const v = apply(first, config({ labels: { app: 'web' }, replicas: 2, containers: [{ name: 'web', image: 'nginx:2' }] }));
    expect(at(v, 'metadata.labels')).toEqual({ app: 'web' });
    expect(at(v, 'spec.template.spec.containers')).toEqual([{ name: 'web', image: 'nginx:2', imagePullPolicy: 'IfNotPresent' }]);
    expect(at(v, 'spec.revisionHistoryLimit')).toBe(10);
    expect(at(v, 'status')).toEqual({ replicas: 1 });
    expect(managers(v)).toEqual(['kubectl/Apply']);
  });

  it('removing a field the manager applied keeps a map the server filled', () => {
    const first = apply(undefined, config({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }));
    const defaulted = structuredClone(first);
    (at(defaulted, 'spec.strategy.rollingUpdate') as Record<string, unknown>)['maxUnavailable'] = '25%';
    const v = apply(defaulted, config());
    expect(at(v, 'spec.strategy')).toEqual({ rollingUpdate: { maxUnavailable: '25%' } });
  });

  it('refuses to change a field another manager owns, naming it, unless forced', () => {
    const mine = apply(undefined, config({ replicas: 2 }));
    const theirs = apply(mine, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 5 } }, opts('autoscaler', true));
    expect(at(theirs, 'spec.replicas')).toBe(5);
    const r = serverSideApply(theirs, config({ replicas: 3 }), schemaCatalog(), DEPLOYMENT, opts());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(409);
    expect(r.error.message).toMatch(/^Apply failed with 1 conflict: conflict with "autoscaler": \.spec\.replicas/);
    const forced = apply(theirs, config({ replicas: 3 }), opts('kubectl', true));
    expect(at(forced, 'spec.replicas')).toBe(3);
    expect(managers(forced)).toEqual(['kubectl/Apply']);
  });

  it('the autoscaler forcing replicas took them from kubectl', () => {
    const mine = apply(undefined, config({ replicas: 2 }));
    const theirs = apply(mine, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 5 } }, opts('autoscaler', true));
    const kubectl = theirs.metadata.managedFields?.find((m) => m.manager === 'kubectl');
    const autoscaler = theirs.metadata.managedFields?.find((m) => m.manager === 'autoscaler');
    expect(at(autoscaler?.fieldsV1, 'f:spec.f:replicas')).toEqual({});
    expect(at(kubectl?.fieldsV1, 'f:spec.f:template')).toBeDefined();
  });

  it('the same value is shared, not a conflict, and a field left out stays while another manager holds it', () => {
    const mine = apply(undefined, config({ replicas: 2 }));
    const both = apply(mine, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } }, opts('other'));
    expect(managers(both)).toEqual(['kubectl/Apply', 'other/Apply']);
    const v = apply(both, config());
    expect(at(v, 'spec.replicas')).toBe(2);
  });

  it('takes the two requests kubectl 1.32 sends for apply --server-side over a client-side-applied object', () => {
    const lastApplied = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"default"},"data":{"a":"1","b":"2"}}\n';
    const live: KubeObject = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'default', uid: 'u1', resourceVersion: '7', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
      data: { a: '1', b: '2' },
    };
    const cm = (cfg: unknown, manager: string): KubeObject => {
      const r = serverSideApply(live, cfg, schemaCatalog(), 'io.k8s.api.core.v1.ConfigMap', { manager, force: false, apiVersion: 'v1', time: '2026-11-30T10:00:00Z' });
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    // ?fieldManager=kubectl&force=false, then ?fieldManager=kubectl-last-applied
    const first = cm({ apiVersion: 'v1', data: { b: '3', c: '4' }, kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' } }, 'kubectl');
    expect(at(first, 'data')).toEqual({ a: '1', b: '3', c: '4' });
    const second = serverSideApply(first, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied }, name: 'cfg', namespace: 'default' } }, schemaCatalog(), 'io.k8s.api.core.v1.ConfigMap', { manager: 'kubectl-last-applied', force: false, apiVersion: 'v1', time: '2026-11-30T10:00:01Z' });
    expect(second.ok).toBe(true);
    if (!second.ok) return;
    expect(at(second.value, 'data')).toEqual({ a: '1', b: '3', c: '4' });
    expect(managers(second.value)).toEqual(['kubectl/Apply', 'kubectl-last-applied/Apply']);
    expect(at(second.value, 'metadata.uid')).toBe('u1');
  });

  const bad: Array<[string, unknown, ApplyOptions, RegExp]> = [
    ['a configuration that is not an object', [1], opts(), /must be an object/],
    ['no field manager', config(), opts(''), /needs a field manager/],
    ['managedFields in the configuration', { ...config(), metadata: { name: 'web', managedFields: [] } }, opts(), /managedFields must be nil/],
    ['strategic merge directives', { ...config(), spec: { $patch: 'replace' } }, opts(), /may not carry strategic merge directives/],
  ];
  for (const [name, cfg, o, want] of bad) {
    it(`refuses ${name} with a 400`, () => {
      const r = serverSideApply(undefined, cfg, schemaCatalog(), DEPLOYMENT, o);
      expect(r.ok ? 0 : r.error.code).toBe(400);
      expect(r.ok ? '' : r.error.message).toMatch(want);
    });
  }
});
