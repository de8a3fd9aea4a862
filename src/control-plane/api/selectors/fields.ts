/**
 * fields: field selectors — the `?fieldSelector=` grammar (`f=v`, `f==v`, `f!=v`, joined by
 * ','; in a value `\,`, `\=` and `\\` escape those characters), the selectable fields of each
 * resource (`fieldSetOf`), and matching. Unset fields select as '' (so `spec.nodeName=` finds
 * unscheduled pods), as in Kubernetes.
 */
import type { KubeObject, ResourceInfo, Result } from '../types.js';
import { err, ok } from '../types.js';

/** FieldOperator is a field requirement's operator. */
export type FieldOperator = '=' | '==' | '!=';

/** FieldRequirement is one term of a field selector. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  readonly value: string;
}

/** FieldSelector is a parsed field selector: every term must hold; none selects everything. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

/** splitUnescaped splits on a separator that is not preceded by an escaping backslash. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** splitTerm finds the first unescaped operator of a term ('!=' and '==' before '='). */
function splitTerm(term: string): { field: string; operator: FieldOperator; value: string } | undefined {
  let escaped = false;
  for (let i = 0; i < term.length; i++) {
    const c = term[i];
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c === '\\') {
      escaped = true;
      continue;
    }
    const two = term.slice(i, i + 2);
    if (two === '!=' || two === '==') return { field: term.slice(0, i), operator: two, value: term.slice(i + 2) };
    if (c === '=') return { field: term.slice(0, i), operator: '=', value: term.slice(i + 1) };
  }
  return undefined;
}

/** unescapeValue undoes `\\`, `\,` and `\=`; other escapes and bare ',' or '=' are errors. */
function unescapeValue(v: string): Result<string, string> {
  if (!/[\\,=]/.test(v)) return ok(v);
  let out = '';
  let escaped = false;
  for (const c of v) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') return err(`invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') return err(`invalid field selector: unescaped character in value: ${c}`);
    else out += c;
  }
  if (escaped) return err('invalid escape sequence: \\');
  return ok(out);
}

/** escapeFieldValue escapes a value for a field selector string (the inverse of parsing). */
export function escapeFieldValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * parseFieldSelector parses a `fieldSelector` query string; '' selects everything. The error
 * is Kubernetes' text, e.g. "invalid selector: 'foo'; can't understand 'foo'".
 */
export function parseFieldSelector(s: string): Result<FieldSelector, string> {
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(s)) {
    if (term === '') continue;
    const parts = splitTerm(term);
    if (parts === undefined) return err(`invalid selector: '${s}'; can't understand '${term}'`);
    const value = unescapeValue(parts.value);
    if (!value.ok) return value;
    reqs.push({ field: parts.field.trim(), operator: parts.operator, value: value.value });
  }
  return ok({ requirements: reqs });
}

/** FieldSet is the selectable fields of one object and their values as strings. */
export type FieldSet = Readonly<Record<string, string>>;

type Extractor = (obj: KubeObject) => Record<string, string>;

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

const EXTRACTORS: Readonly<Record<string, Extractor>> = {
  '/pods': (o) => {
    const spec = rec(o['spec']);
    const status = rec(o['status']);
    return {
      'spec.nodeName': text(spec['nodeName']),
      'spec.restartPolicy': text(spec['restartPolicy']),
      'spec.schedulerName': text(spec['schedulerName']),
      'spec.serviceAccountName': text(spec['serviceAccountName']),
      'spec.hostNetwork': String(spec['hostNetwork'] === true),
      'status.phase': text(status['phase']),
      'status.podIP': text(status['podIP']),
      'status.nominatedNodeName': text(status['nominatedNodeName']),
    };
  },
  '/events': (o) => {
    const io = rec(o['involvedObject']);
    return {
      'involvedObject.kind': text(io['kind']),
      'involvedObject.namespace': text(io['namespace']),
      'involvedObject.name': text(io['name']),
      'involvedObject.uid': text(io['uid']),
      'involvedObject.apiVersion': text(io['apiVersion']),
      'involvedObject.resourceVersion': text(io['resourceVersion']),
      'involvedObject.fieldPath': text(io['fieldPath']),
      reason: text(o['reason']),
      reportingComponent: text(o['reportingComponent']),
      source: text(rec(o['source'])['component']),
      type: text(o['type']),
    };
  },
  '/secrets': (o) => ({ type: text(o['type']) }),
  '/nodes': (o) => ({ 'spec.unschedulable': String(rec(o['spec'])['unschedulable'] === true) }),
  '/namespaces': (o) => ({ 'status.phase': text(rec(o['status'])['phase']) }),
  'apps/replicasets': (o) => ({ 'status.replicas': String(typeof rec(o['status'])['replicas'] === 'number' ? rec(o['status'])['replicas'] : 0) }),
};

const EMPTY_OBJECT: KubeObject = { apiVersion: '', kind: '', metadata: {} };
const supportedCache = new Map<string, readonly string[]>();

/** fieldSetOf gives an object's selectable fields: metadata.name and metadata.namespace, plus the resource's own. */
export function fieldSetOf(res: ResourceInfo, obj: KubeObject): FieldSet {
  const own = EXTRACTORS[`${res.group}/${res.plural}`];
  const base = { 'metadata.name': obj.metadata.name ?? '', 'metadata.namespace': obj.metadata.namespace ?? '' };
  return own === undefined ? base : { ...base, ...own(obj) };
}

/** selectableFields lists the fields a resource can be selected by, for error messages and discovery. */
export function selectableFields(res: ResourceInfo): readonly string[] {
  const k = `${res.group}/${res.plural}`;
  let fields = supportedCache.get(k);
  if (fields === undefined) {
    fields = Object.keys(fieldSetOf(res, EMPTY_OBJECT));
    supportedCache.set(k, fields);
  }
  return fields;
}

/**
 * checkFieldSelector refuses a selector naming a field the resource cannot be selected by,
 * with Kubernetes' message `field label not supported: foo`.
 */
export function checkFieldSelector(res: ResourceInfo, sel: FieldSelector): Result<FieldSelector, string> {
  const fields = selectableFields(res);
  for (const r of sel.requirements) {
    if (!fields.includes(r.field)) return err(`field label not supported: ${r.field}`);
  }
  return ok(sel);
}

/** matchesFields tells whether an object's field set satisfies a selector. */
export function matchesFields(sel: FieldSelector, fields: FieldSet): boolean {
  for (const r of sel.requirements) {
    const v = fields[r.field] ?? '';
    if (r.operator === '!=' ? v === r.value : v !== r.value) return false;
  }
  return true;
}

/** fieldSelectorToString prints a parsed field selector, escaping values. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
}

/**
 * exactMatchValue returns the value a selector requires `field` to equal ('=' or '=='), if it
 * does; a watch cache can use it to index (e.g. pods by spec.nodeName for one node agent).
 */
export function exactMatchValue(sel: FieldSelector, field: string): string | undefined {
  for (const r of sel.requirements) if (r.field === field && r.operator !== '!=') return r.value;
  return undefined;
}
