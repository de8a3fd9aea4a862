import { describe, expect, it } from 'vitest';
import {
  checkFieldSelector,
  fieldSelectorToString,
  fieldSetOf,
  formatLabelSelector,
  labelSelectorToString,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorFromLabelSelector,
  selectorToString,
} from '../../../src/control-plane/api/selectors/index.js';
import type { FieldSelector, Selector } from '../../../src/control-plane/api/selectors/index.js';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';

function sel(s: string): Selector {
  const r = parseLabelSelector(s);
  if (!r.ok) throw new Error(`${s}: ${r.error}`);
  return r.value;
}

describe('label selector strings', () => {
  const labels = { app: 'web', tier: 'fe', n: '5', empty: '' };
  const cases: Array<[string, boolean]> = [
    ['', true], ['app=web', true], ['app==web', true], ['app=db', false], ['app!=db', true], ['app!=web', false], ['missing!=x', true],
    ['app in (web,db)', true], ['app in (db)', false], ['app notin (db)', true], ['app notin (web)', false], ['missing notin (x)', true],
    ['app', true], ['missing', false], ['!missing', true], ['!app', false], ['n>4', true], ['n>5', false], ['n<6', true], ['n<5', false],
    ['app>1', false], ['missing>1', false], ['app=web,tier=fe', true], ['app=web,tier=be', false], ['empty=', true], ['app=', false],
    ['  app = web , tier in ( fe , be ) ', true], ['app in (,web)', true], ['empty in ()', true], ['example.com/x!=y', true],
    ['in=x', false], ['tier in (in,notin,fe)', true],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} ${want ? 'matches' : 'does not match'}`, () => {
      expect(matchesLabels(sel(s), labels)).toBe(want);
    });
  }

  const printed: Array<[string, string]> = [
    ['b=1,a=2', 'a=2,b=1'], ['a in (y,x,x)', 'a in (x,y)'], ['!a', '!a'], ['a', 'a'], ['a==b', 'a==b'], ['a!=b', 'a!=b'], ['a>3', 'a>3'], ['a notin (z)', 'a notin (z)'],
  ];
  for (const [s, want] of printed) it(`prints ${s} as ${want}`, () => expect(selectorToString(sel(s))).toBe(want));

  const bad: Array<[string, string]> = [
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b,', "found '', expected: identifier after ','"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['a in x', "unable to parse requirement: found 'x' expected: '('"],
    ['a in (x', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a>x', `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['a>', `unable to parse requirement: values[0]: Invalid value: "": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['a=(', "unable to parse requirement: found '(', expected: identifier"],
    ['n>-1', 'unable to parse requirement: values[0][n]: Invalid value: "-1": a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyValue\',  or \'my_value\',  or \'12345\', regex used for validation is \'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\')'],
  ];
  for (const [s, want] of bad) {
    it(`refuses ${JSON.stringify(s)}`, () => {
      expect(parseLabelSelector(s)).toEqual({ ok: false, error: want });
    });
  }

  it('refuses an invalid key with the Kubernetes wording', () => {
    const r = parseLabelSelector('-a=b');
    expect(r.ok ? '' : r.error).toBe(
      `unable to parse requirement: key: Invalid value: "-a": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
  });

  it('refuses an invalid value with the Kubernetes wording', () => {
    const r = parseLabelSelector('tier=a_');
    expect(r.ok ? '' : r.error).toMatch(/^unable to parse requirement: values\[0\]\[tier\]: Invalid value: "a_": a valid label must be an empty string or consist of alphanumeric characters/);
  });

  it('refuses a key prefix that is not a DNS subdomain and a name over 63 characters', () => {
    expect(parseLabelSelector('Bad_Prefix/x').ok).toBe(false);
    expect(parseLabelSelector(`${'a'.repeat(64)}=1`).ok).toBe(false);
    expect(parseLabelSelector(`a=${'v'.repeat(64)}`).ok).toBe(false);
  });
});

describe('structured label selectors', () => {
  it('matches matchLabels and every matchExpressions operator', () => {
    const r = selectorFromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe', 'be'] },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
        { key: 'team', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(matchesLabels(r.value, { app: 'web', tier: 'fe', team: 'a' })).toBe(true);
    expect(matchesLabels(r.value, { app: 'web', tier: 'fe', team: 'a', env: 'prod' })).toBe(false);
    expect(matchesLabels(r.value, { app: 'web', tier: 'fe', team: 'a', legacy: '1' })).toBe(false);
    expect(matchesLabels(r.value, { app: 'web', tier: 'fe' })).toBe(false);
    expect(selectorToString(r.value)).toBe('app=web,env notin (prod),!legacy,team,tier in (be,fe)');
  });

  it('a missing selector matches nothing, an empty one everything', () => {
    const none = selectorFromLabelSelector(undefined);
    const all = selectorFromLabelSelector({});
    expect(none.ok && matchesLabels(none.value, { a: 'b' })).toBe(false);
    expect(all.ok && matchesLabels(all.value, undefined)).toBe(true);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['an unknown operator', { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, /"Gt" is not a valid label selector operator/],
    ['In without values', { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, /values set can't be empty/],
    ['Exists with values', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, /values set must be empty/],
    ['a bad matchLabels value', { matchLabels: { a: 'b c' } }, /a valid label must be an empty string/],
    ['a bad matchLabels key', { matchLabels: { 'a b': 'c' } }, /key: Invalid value: "a b"/],
  ];
  for (const [name, ls, want] of bad) {
    it(`refuses ${name}`, () => {
      const r = selectorFromLabelSelector(ls as never);
      expect(r.ok ? '' : r.error).toMatch(want);
    });
  }

  it('prints selectors for Scale and for people', () => {
    expect(labelSelectorToString({ matchLabels: { b: '2', a: '1' } })).toBe('a=1,b=2');
    expect(labelSelectorToString({})).toBe('');
    expect(formatLabelSelector({})).toBe('<none>');
    expect(formatLabelSelector(undefined)).toBe('<none>');
    expect(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bad' }] })).toBe('<error>');
  });
});

function res(group: string, plural: string): ResourceInfo {
  return { group, version: 'v1', kind: '', listKind: '', plural, singular: '', namespaced: true, shortNames: [], categories: [], subresources: [], verbs: [] };
}

function fsel(s: string): FieldSelector {
  const r = parseFieldSelector(s);
  if (!r.ok) throw new Error(`${s}: ${r.error}`);
  return r.value;
}

describe('field selectors', () => {
  const pod: KubeObject = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default' },
    spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default' },
    status: { phase: 'Running', podIP: '10.0.0.5' },
  };
  const pods = res('', 'pods');

  it('gives the selectable fields of a pod, unset ones as empty strings', () => {
    expect(fieldSetOf(pods, pod)).toEqual({
      'metadata.name': 'web-1', 'metadata.namespace': 'default', 'spec.nodeName': 'node-a', 'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler', 'spec.serviceAccountName': 'default', 'spec.hostNetwork': 'false', 'status.phase': 'Running', 'status.podIP': '10.0.0.5',
      'status.nominatedNodeName': '',
    });
  });

  const cases: Array<[string, boolean]> = [
    ['', true], ['metadata.name=web-1', true], ['metadata.name==web-1', true], ['metadata.name!=web-1', false], ['spec.nodeName=node-a,status.phase=Running', true],
    ['spec.nodeName=node-a,status.phase!=Running', false], ['status.nominatedNodeName=', true], ['spec.nodeName=', false], ['metadata.namespace=default,', true],
  ];
  for (const [s, want] of cases) it(`${JSON.stringify(s)} ${want ? 'matches' : 'does not match'}`, () => expect(matchesFields(fsel(s), fieldSetOf(pods, pod))).toBe(want));

  it('unescapes values and prints them escaped again', () => {
    const s = fsel('metadata.name=a\\,b\\=c\\\\d');
    expect(s.requirements).toEqual([{ field: 'metadata.name', operator: '=', value: 'a,b=c\\d' }]);
    expect(fieldSelectorToString(s)).toBe('metadata.name=a\\,b\\=c\\\\d');
  });

  const bad: Array<[string, string]> = [
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b\\x', 'invalid escape sequence: \\x'],
    ['a=b\\', 'invalid escape sequence: \\'],
    ['a=b=c', 'invalid field selector: unescaped character in value: ='],
  ];
  for (const [s, want] of bad) it(`refuses ${JSON.stringify(s)}`, () => expect(parseFieldSelector(s)).toEqual({ ok: false, error: want }));

  it('refuses a field the resource cannot be selected by', () => {
    expect(checkFieldSelector(pods, fsel('spec.nodeName=a'))).toEqual({ ok: true, value: fsel('spec.nodeName=a') });
    expect(checkFieldSelector(pods, fsel('foo=bar'))).toEqual({ ok: false, error: 'field label not supported: foo' });
    expect(checkFieldSelector(res('', 'configmaps'), fsel('spec.nodeName=a'))).toEqual({ ok: false, error: 'field label not supported: spec.nodeName' });
  });

  const perResource: Array<[ResourceInfo, Record<string, unknown>, Record<string, string>]> = [
    [res('', 'events'), { involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns', uid: 'u', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec' }, reason: 'Started', source: { component: 'kubelet' }, type: 'Normal', reportingComponent: 'kubelet' },
      { 'involvedObject.kind': 'Pod', 'involvedObject.name': 'p', 'involvedObject.namespace': 'ns', 'involvedObject.uid': 'u', 'involvedObject.apiVersion': 'v1', 'involvedObject.resourceVersion': '7', 'involvedObject.fieldPath': 'spec', reason: 'Started', source: 'kubelet', type: 'Normal', reportingComponent: 'kubelet' }],
    [res('', 'secrets'), { type: 'Opaque' }, { type: 'Opaque' }],
    [res('', 'nodes'), { spec: { unschedulable: true } }, { 'spec.unschedulable': 'true' }],
    [res('', 'nodes'), { spec: {} }, { 'spec.unschedulable': 'false' }],
    [res('', 'namespaces'), { status: { phase: 'Active' } }, { 'status.phase': 'Active' }],
    [res('apps', 'replicasets'), { status: { replicas: 3 } }, { 'status.replicas': '3' }],
  ];
  for (const [r, body, want] of perResource) {
    it(`selects ${r.plural} by their own fields`, () => {
      expect(fieldSetOf(r, { apiVersion: 'v1', kind: 'X', metadata: { name: 'n' }, ...body })).toEqual({ 'metadata.name': 'n', 'metadata.namespace': '', ...want });
    });
  }
});
