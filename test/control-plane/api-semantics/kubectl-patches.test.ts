/**
 * Patch bodies captured from the real kubectl v1.32 (apply of a changed manifest, label,
 * annotate, scale, patch --type strategic, edit) against a recording server, applied with the
 * real schema catalogue to the object kubectl had read; kubectl-patches.json holds both.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../../src/control-plane/api/patch/index.js';
import { schemaCatalog } from '../../../src/control-plane/api/schema/catalog.js';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import type { PatchType } from '../../../src/control-plane/apiserver/registry-api.js';
import { at, list } from './fixtures.js';

interface Captured {
  readonly name: string;
  readonly type: PatchType;
  readonly typeName: string;
  readonly current: KubeObject;
  readonly patch: unknown;
}

const captured = (JSON.parse(readFileSync(new URL('./kubectl-patches.json', import.meta.url), 'utf8')) as { cases: Captured[] }).cases;

function run(name: string): unknown {
  const c = captured.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no captured case ${name}`);
  const r = applyPatch(c.type, c.current, c.patch, schemaCatalog(), c.typeName);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.value;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

describe('patches kubectl sends, applied with the real catalogue', () => {
  it('apply of a changed deployment: labels, $retainKeys strategy, containers added, deleted and reordered, env, ports, volume source', () => {
    const v = run('apply deployment v2');
    expect(at(v, 'metadata.labels')).toEqual({ app: 'web', env: 'prod' });
    expect(String((at(v, 'metadata.annotations') as Record<string, unknown>)[LAST_APPLIED])).toContain('"image":"nginx:1.26"');
    expect(at(v, 'spec.strategy')).toEqual({ type: 'Recreate' });
    const containers = list(at(v, 'spec.template.spec.containers'));
    expect(containers.map((c) => at(c, 'name'))).toEqual(['log', 'web']);
    expect(containers[0]).toEqual({ name: 'log', image: 'fluent-bit' });
    expect(containers[1]).toEqual({
      name: 'web', image: 'nginx:1.26', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', resources: {},
      ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }],
      env: [{ name: 'B', value: '2' }, { name: 'C', value: '3' }],
    });
    expect(at(v, 'spec.template.spec.volumes')).toEqual([{ name: 'cache', configMap: { name: 'cfg' } }]);
    // Fields kubectl never touched stay as the server had them.
    expect(at(v, 'spec.revisionHistoryLimit')).toBe(10);
    expect(at(v, 'spec.template.spec.dnsPolicy')).toBe('ClusterFirst');
    expect(at(v, 'metadata.uid')).toBe('uid-1');
    expect(at(v, 'status')).toEqual({ replicas: 2 });
    expect(JSON.stringify(v)).not.toMatch(/"\$(patch|setElementOrder|retainKeys|deleteFromPrimitiveList)/);
  });

  it('apply of a changed pod: finalizers through $deleteFromPrimitiveList and $setElementOrder, tolerations replaced', () => {
    const v = run('apply pod v2');
    expect(at(v, 'metadata.finalizers')).toEqual(['b.io/y', 'c.io/z']);
    expect(at(v, 'spec.containers')).toEqual([{ name: 'web', image: 'nginx:1.26', imagePullPolicy: 'IfNotPresent' }]);
    expect(at(v, 'spec.tolerations')).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(at(v, 'spec.nodeName')).toBe('node-1');
  });

  it('apply of a changed configmap: a removed key is sent as null', () => {
    expect(at(run('apply configmap v2'), 'data')).toEqual({ b: '3', c: '4' });
  });

  it('label, unlabel and annotate (JSON merge patches)', () => {
    expect(at(run('label env=prod'), 'metadata.labels')).toEqual({ app: 'web', tier: 'fe', env: 'prod' });
    expect(at(run('label tier-'), 'metadata.labels')).toEqual({ app: 'web' });
    expect((at(run('annotate note=hi'), 'metadata.annotations') as Record<string, unknown>)['note']).toBe('hi');
  });

  it('scale (a merge patch of the Scale subresource)', () => {
    expect(at(run('scale --replicas=5'), 'spec.replicas')).toBe(5);
  });

  it('patch --type strategic of one container keeps the other', () => {
    const v = run('patch --type strategic');
    expect(list(at(v, 'spec.template.spec.containers')).map((c) => `${String(at(c, 'name'))}=${String(at(c, 'image'))}`)).toEqual(['web=nginx:1.27', 'sidecar=busybox']);
    expect(at(v, 'spec.template.spec.containers.0.env')).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
  });

  it('edit (a strategic patch with $setElementOrder listing unchanged containers)', () => {
    const v = run('edit image and replicas');
    expect(at(v, 'spec.replicas')).toBe(4);
    expect(list(at(v, 'spec.template.spec.containers')).map((c) => at(c, 'image'))).toEqual(['nginx:1.28', 'busybox']);
  });

  it('every captured case names a type the catalogue has', () => {
    for (const c of captured) expect(Object.hasOwn(schemaCatalog().types, c.typeName), c.typeName).toBe(true);
  });
});
