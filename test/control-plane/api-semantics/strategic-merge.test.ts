import { describe, expect, it } from 'vitest';
import { applyStrategicMergePatch } from '../../../src/control-plane/api/patch/strategic-merge.js';
import { at, list, testCatalog } from './fixtures.js';

function smp(original: unknown, patch: unknown, type = 'Pod'): unknown {
  const r = applyStrategicMergePatch(original, patch, testCatalog, type);
  if (!r.ok) throw new Error(`patch failed: ${r.error.message}`);
  return r.value;
}

function smpError(original: unknown, patch: unknown, type = 'Pod'): { code: number; message: string } {
  const r = applyStrategicMergePatch(original, patch, testCatalog, type);
  if (r.ok) throw new Error(`patch applied: ${JSON.stringify(r.value)}`);
  return r.error;
}

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web', tier: 'fe' }, finalizers: ['a', 'b'] },
  spec: {
    restartPolicy: 'Always',
    containers: [
      { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
      { name: 'sidecar', image: 'busybox', args: ['sleep', '3600'] },
    ],
    tolerations: [{ key: 'x', effect: 'NoSchedule' }],
    volumes: [{ name: 'cache', emptyDir: {} }],
  },
};

describe('strategic merge patch: maps and scalars', () => {
  const cases: Array<{ name: string; patch: unknown; expect: (v: unknown) => unknown; want: unknown }> = [
    { name: 'kubectl label adds a label', patch: { metadata: { labels: { env: 'prod' } } }, expect: (v) => at(v, 'metadata.labels'), want: { app: 'web', tier: 'fe', env: 'prod' } },
    { name: 'kubectl label tier- deletes with null', patch: { metadata: { labels: { tier: null } } }, expect: (v) => at(v, 'metadata.labels'), want: { app: 'web' } },
    { name: 'kubectl annotate adds a new map', patch: { metadata: { annotations: { note: 'hi' } } }, expect: (v) => at(v, 'metadata.annotations'), want: { note: 'hi' } },
    { name: 'scalar replaced', patch: { spec: { restartPolicy: 'Never' } }, expect: (v) => at(v, 'spec.restartPolicy'), want: 'Never' },
    { name: 'null for a missing key is dropped', patch: { spec: { nodeSelector: { disk: null, zone: 'a' } } }, expect: (v) => at(v, 'spec.nodeSelector'), want: { zone: 'a' } },
    { name: '$patch: replace on a map', patch: { metadata: { labels: { $patch: 'replace', only: 'this' } } }, expect: (v) => at(v, 'metadata.labels'), want: { only: 'this' } },
    { name: '$patch: delete on a map', patch: { metadata: { labels: { $patch: 'delete' } } }, expect: (v) => at(v, 'metadata.labels'), want: {} },
    { name: '$patch: merge on a map merges', patch: { metadata: { labels: { $patch: 'merge', more: 'x' } } }, expect: (v) => at(v, 'metadata.labels'), want: { app: 'web', tier: 'fe', more: 'x' } },
    { name: 'list without strategy is replaced', patch: { spec: { tolerations: [{ key: 'y', effect: 'NoExecute' }] } }, expect: (v) => at(v, 'spec.tolerations'), want: [{ key: 'y', effect: 'NoExecute' }] },
    { name: 'scalar list without strategy is replaced', patch: { spec: { containers: [{ name: 'sidecar', args: ['sleep', '1'] }] } }, expect: (v) => at(v, 'spec.containers.1.args'), want: ['sleep', '1'] },
    { name: 'unknown field is taken as is', patch: { spec: { extra: { a: [1] } } }, expect: (v) => at(v, 'spec.extra'), want: { a: [1] } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(c.expect(smp(pod, c.patch))).toEqual(c.want);
    });
  }

  it('does not mutate the original or the patch', () => {
    const before = JSON.stringify(pod);
    const patch = { metadata: { labels: { tier: null } }, spec: { containers: [{ name: 'nginx', image: 'x' }] } };
    const patchBefore = JSON.stringify(patch);
    smp(pod, patch);
    expect(JSON.stringify(pod)).toBe(before);
    expect(JSON.stringify(patch)).toBe(patchBefore);
  });
});

describe('strategic merge patch: merged lists', () => {
  it('merges containers by name and keeps the others', () => {
    const v = smp(pod, { spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } });
    expect(list(at(v, 'spec.containers')).map((c) => [at(c, 'name'), at(c, 'image')])).toEqual([['nginx', 'nginx:1.26'], ['sidecar', 'busybox']]);
    expect(at(v, 'spec.containers.0.ports')).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
  });

  it('adds a new container; a patch-only element goes first, as Kubernetes orders it', () => {
    const v = smp(pod, { spec: { containers: [{ name: 'log', image: 'fluent' }] } });
    expect(list(at(v, 'spec.containers')).map((c) => at(c, 'name'))).toEqual(['log', 'nginx', 'sidecar']);
  });

  it('orders patch elements by the patch and server-only ones by the stored list', () => {
    const orig = { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } };
    expect(list(at(smp(orig, { spec: { containers: [{ name: 'c', image: 'x' }, { name: 'd' }] } }), 'spec.containers')).map((c) => at(c, 'name'))).toEqual(['a', 'b', 'c', 'd']);
    expect(list(at(smp(orig, { spec: { containers: [{ name: 'd' }, { name: 'a' }] } }), 'spec.containers')).map((c) => at(c, 'name'))).toEqual(['d', 'a', 'b', 'c']);
  });

  it('merges nested lists by their own keys (ports by containerPort, env by name)', () => {
    const v = smp(pod, { spec: { containers: [{ name: 'nginx', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'B', value: '3' }] }] } });
    expect(at(v, 'spec.containers.0.ports')).toEqual([{ containerPort: 80, protocol: 'TCP', name: 'http' }]);
    expect(at(v, 'spec.containers.0.env')).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '3' }]);
  });

  it('deletes a list element with $patch: delete', () => {
    const v = smp(pod, { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } });
    expect(list(at(v, 'spec.containers')).map((c) => at(c, 'name'))).toEqual(['nginx']);
  });

  it('replaces a merged list with a $patch: replace element', () => {
    const v = smp(pod, { spec: { containers: [{ name: 'only', image: 'i' }, { $patch: 'replace' }] } });
    expect(at(v, 'spec.containers')).toEqual([{ name: 'only', image: 'i' }]);
  });

  it('merges primitive lists with strategy merge as a set (finalizers)', () => {
    const v = smp(pod, { metadata: { finalizers: ['b', 'c'] } });
    expect(at(v, 'metadata.finalizers')).toEqual(['a', 'b', 'c']);
  });

  it('deletes from a primitive list with $deleteFromPrimitiveList', () => {
    const v = smp(pod, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } });
    expect(at(v, 'metadata.finalizers')).toEqual(['b']);
  });

  it('drops null inside a newly added element', () => {
    const v = smp(pod, { spec: { containers: [{ name: 'new', image: 'i', args: null }] } });
    expect(at(v, 'spec.containers.0')).toEqual({ name: 'new', image: 'i' });
  });

  it('creates a merged list that did not exist', () => {
    const v = smp({ metadata: { name: 'x' } }, { metadata: { finalizers: ['f'], ownerReferences: [{ uid: 'u1', name: 'rs' }] } });
    expect(at(v, 'metadata')).toEqual({ name: 'x', finalizers: ['f'], ownerReferences: [{ uid: 'u1', name: 'rs' }] });
  });
});

describe('strategic merge patch: bodies kubectl apply generates', () => {
  it('apply changing an image ($setElementOrder with one container)', () => {
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1"}\n' } },
      spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ image: 'nginx:1.27', name: 'nginx' }] },
    };
    const v = smp(pod, patch);
    expect(list(at(v, 'spec.containers')).map((c) => `${String(at(c, 'name'))}=${String(at(c, 'image'))}`)).toEqual(['nginx=nginx:1.27', 'sidecar=busybox']);
    expect((at(v, 'metadata.annotations') as Record<string, unknown>)['kubectl.kubernetes.io/last-applied-configuration']).toBe('{"apiVersion":"v1"}\n');
    expect(Object.keys(at(v, 'spec') as object).some((k) => k.startsWith('$'))).toBe(false);
  });

  it('apply removing a container and reordering', () => {
    const patch = { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }], containers: [{ $patch: 'delete', name: 'nginx' }] } };
    const v = smp(pod, patch);
    expect(list(at(v, 'spec.containers')).map((c) => at(c, 'name'))).toEqual(['sidecar']);
  });

  it('apply reordering containers without changing them', () => {
    const patch = { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }] } };
    const v = smp(pod, patch);
    expect(list(at(v, 'spec.containers')).map((c) => at(c, 'name'))).toEqual(['sidecar', 'nginx']);
  });

  it('apply adding a port inside a container', () => {
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }],
        containers: [{ '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 443 }], name: 'nginx', ports: [{ containerPort: 443, protocol: 'TCP' }] }],
      },
    };
    const v = smp(pod, patch);
    expect(at(v, 'spec.containers.0.ports')).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP' }]);
  });

  it('apply removing an env var', () => {
    const patch = { spec: { containers: [{ '$setElementOrder/env': [{ name: 'B' }], env: [{ $patch: 'delete', name: 'A' }], name: 'nginx' }] } };
    const v = smp(pod, patch);
    expect(at(v, 'spec.containers.0.env')).toEqual([{ name: 'B', value: '2' }]);
  });

  it('apply switching a deployment to Recreate ($retainKeys)', () => {
    const dep = { metadata: { name: 'd' }, spec: { replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } } };
    const patch = { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } };
    const v = smp(dep, patch, 'Deployment');
    expect(at(v, 'spec.strategy')).toEqual({ type: 'Recreate' });
    expect(at(v, 'spec.replicas')).toBe(2);
  });

  it('apply changing a volume source ($retainKeys inside a merged list element)', () => {
    const patch = { spec: { '$setElementOrder/volumes': [{ name: 'cache' }], volumes: [{ $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' }, name: 'cache' }] } };
    const v = smp(pod, patch);
    expect(at(v, 'spec.volumes')).toEqual([{ name: 'cache', configMap: { name: 'cm' } }]);
  });

  it('apply removing a finalizer ($setElementOrder and $deleteFromPrimitiveList on scalars)', () => {
    const patch = { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'], '$setElementOrder/finalizers': ['b', 'c'], finalizers: ['c'] } };
    const v = smp(pod, patch);
    expect(at(v, 'metadata.finalizers')).toEqual(['b', 'c']);
  });

  it('kubectl scale-style spec.replicas patch on a deployment', () => {
    const v = smp({ metadata: { name: 'd' }, spec: { replicas: 1 } }, { spec: { replicas: 5 } }, 'Deployment');
    expect(at(v, 'spec.replicas')).toBe(5);
  });
});

describe('strategic merge patch: errors', () => {
  const cases: Array<{ name: string; patch: unknown; code: number; message: RegExp }> = [
    { name: 'a patch that is a list', patch: [{ op: 'add' }], code: 400, message: /must be a JSON object/ },
    { name: 'a patch that is a string', patch: 'x', code: 400, message: /must be a JSON object/ },
    { name: 'an unknown $patch value', patch: { metadata: { labels: { $patch: 'frobnicate' } } }, code: 400, message: /Unknown patch directive \$patch: "frobnicate"/ },
    { name: 'an unknown $ directive', patch: { spec: { $frob: 1 } }, code: 400, message: /Unknown patch directive \$frob/ },
    { name: 'a merged element without its merge key', patch: { spec: { containers: [{ image: 'x' }] } }, code: 400, message: /merge key name/ },
    { name: 'a $retainKeys that is not a list', patch: { spec: { volumes: [{ name: 'cache', $retainKeys: 'x' }] } }, code: 422, message: /retainKeys/ },
    { name: 'a field missing from $retainKeys', patch: { spec: { volumes: [{ name: 'cache', $retainKeys: ['name'], emptyDir: {} }] } }, code: 422, message: /emptyDir is in the patch but not in \$retainKeys/ },
    { name: 'a $setElementOrder that is not a list', patch: { spec: { '$setElementOrder/containers': 'x' } }, code: 422, message: /setElementOrder/ },
    { name: 'a patch list out of $setElementOrder order', patch: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ name: 'sidecar' }, { name: 'nginx' }] } }, code: 422, message: /does not match/ },
    { name: '$deleteFromPrimitiveList with a non-list', patch: { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }, code: 422, message: /primitive list/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const e = smpError(pod, c.patch);
      expect(e.code).toBe(c.code);
      expect(e.message).toMatch(c.message);
      expect(e.message[0]).toBe(e.message[0]?.toUpperCase());
    });
  }
});

describe('strategic merge patch: list order and directives, case by case', () => {
  const n = (name: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, ...extra });
  const cases: Array<{ name: string; original: unknown; patch: unknown; want: unknown }> = [
    { name: 'scalars merged as a set keep one copy of each', original: { ints: [1, 2] }, patch: { ints: [2, 3] }, want: { ints: [1, 2, 3] } },
    { name: 'a patch reorders the scalars it names', original: { ints: [1, 2, 3] }, patch: { ints: [3, 1, 2] }, want: { ints: [3, 1, 2] } },
    { name: 'scalars the patch leaves out keep their place before later named ones', original: { ints: [1, 2, 3] }, patch: { ints: [3, 1] }, want: { ints: [2, 3, 1] } },
    { name: 'objects the patch names come in its order', original: { items: [n(1), n(2, { value: 'b' }), n(3)] }, patch: { items: [n(3, { value: 'c' }), n(1, { value: 'a' }), n(2, { other: 'x' })] }, want: { items: [n(3, { value: 'c' }), n(1, { value: 'a' }), n(2, { value: 'b', other: 'x' })] } },
    { name: 'an object the patch leaves out keeps its place', original: { items: [n(1), n(2, { value: 'b' }), n(3)] }, patch: { items: [n(3, { value: 'c' }), n(1, { value: 'a' })] }, want: { items: [n(2, { value: 'b' }), n(3, { value: 'c' }), n(1, { value: 'a' })] } },
    { name: '$patch: delete removes every element with that key', original: { items: [n(1), n(1), n(2, { value: 'a' }), n(3), n(3)] }, patch: { items: [{ name: 1, $patch: 'delete' }, { name: 3, $patch: 'delete' }] }, want: { items: [n(2, { value: 'a' })] } },
    { name: 'a lone $patch: replace empties the list', original: { items: [n(1), n(2)] }, patch: { items: [{ $patch: 'replace' }] }, want: { items: [] } },
    { name: '$patch: replace at the top replaces the whole object', original: { name: 1, value: 1 }, patch: { other: 'a', $patch: 'replace' }, want: { other: 'a' } },
    { name: 'a map field with strategy replace is replaced', original: { replaced: { name: 'a', value: 'b' } }, patch: { replaced: { other: 'c' } }, want: { replaced: { other: 'c' } } },
    { name: 'a retainKeys map without the directive merges', original: { kept: { name: 'foo', value: 'a' } }, patch: { kept: { value: null, other: 'b' } }, want: { kept: { name: 'foo', other: 'b' } } },
    { name: 'a list without a strategy nested in a merged element is replaced', original: { items: [n(1, { plain: [n(1), n(2, { value: 2 })] }), n(2)] }, patch: { items: [n(1, { plain: [n(1, { value: 1 })] })] }, want: { items: [n(1, { plain: [n(1, { value: 1 })] }), n(2)] } },
    { name: '$deleteFromPrimitiveList works on a list without a strategy too', original: { plainInts: [1, 2, 3] }, patch: { '$deleteFromPrimitiveList/plainInts': [2] }, want: { plainInts: [1, 3] } },
    { name: '$deleteFromPrimitiveList of a missing value or list adds nothing', original: { ints: [1, 2] }, patch: { '$deleteFromPrimitiveList/ints': [3], '$deleteFromPrimitiveList/plainInts': [3] }, want: { ints: [1, 2] } },
    { name: '$setElementOrder may name an element that is in neither list', original: { items: [n(1), n(3)] }, patch: { '$setElementOrder/items': [n(3), n(2), n(1)], items: [n(3, { value: 3 }), n(1, { value: 1 })] }, want: { items: [n(3, { value: 3 }), n(1, { value: 1 })] } },
    { name: '$setElementOrder alone reorders scalars', original: { ints: [1, 3] }, patch: { '$setElementOrder/ints': [3, 2, 1] }, want: { ints: [3, 1] } },
    { name: '$setElementOrder with $deleteFromPrimitiveList keeps unnamed server values at the end', original: { ints: [1, 2, 3, 4] }, patch: { '$setElementOrder/ints': [1, 2], '$deleteFromPrimitiveList/ints': [3] }, want: { ints: [1, 2, 4] } },
    { name: '$setElementOrder puts added elements among server-only ones', original: { items: [n(1, { other: 'a' }), n(2, { value: 2, other: 'b' })] }, patch: { '$setElementOrder/items': [n(4), n(1), n(2), n(3)], items: [n(4, { value: 4 }), n(3, { value: 3 })] }, want: { items: [n(4, { value: 4 }), n(1, { other: 'a' }), n(2, { value: 2, other: 'b' }), n(3, { value: 3 })] } },
    { name: 'a delete of an element that is not there, with an added one, keeps a server-only element after it', original: { items: [n(2, { other: 'b' })] }, patch: { '$setElementOrder/items': [n('hello'), n('gone')], items: [n('hello'), { $patch: 'delete', name: 'gone' }] }, want: { items: [n('hello'), n(2, { other: 'b' })] } },
    { name: 'an add with a delete orders by the stored list as the merge left it', original: { items: [n(1), n(2, { other: 'b' }), n(4, { other: 'c' })] }, patch: { '$setElementOrder/items': [n(2), n(3)], items: [n(3), { name: 1, $patch: 'delete' }] }, want: { items: [n(2, { other: 'b' }), n(4, { other: 'c' }), n(3)] } },
    { name: 'an add of two with a delete of one sees only the first added in the stored positions', original: { items: [n(1, { other: 'a' }), n(4, { other: 'c' })] }, patch: { '$setElementOrder/items': [n(2), n(3)], items: [n(2), n(3), { name: 1, $patch: 'delete' }] }, want: { items: [n(4, { other: 'c' }), n(2), n(3)] } },
    { name: 'a null in a merged element deletes that field only', original: { items: [n(1, { value: 1, other: 'a' }), n(2, { value: 2 })] }, patch: { '$setElementOrder/items': [n(1), n(2)], items: [n(1, { value: null })] }, want: { items: [n(1, { other: 'a' }), n(2, { value: 2 })] } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(smp(c.original, c.patch, 'Item')).toEqual(c.want);
    });
  }

  it('refuses a patch list in another order than its $setElementOrder (scalars too)', () => {
    const e = smpError({ ints: [1, 3, 2] }, { '$setElementOrder/ints': [1, 2, 3], ints: [3, 1] }, 'Item');
    expect(e.code).toBe(422);
  });
});
