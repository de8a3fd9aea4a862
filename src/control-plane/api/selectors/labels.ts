/**
 * labels: label selectors — the `?labelSelector=` string grammar (`a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma-joined), the structured form
 * (matchLabels / matchExpressions of Deployments and ReplicaSets), matching, and printing.
 * Parse errors carry Kubernetes' wording (labels.Parse), e.g.
 * `unable to parse requirement: key: Invalid value: "-a": name part must consist of ...`.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Result } from '../types.js';
import { err, ok } from '../types.js';
import { isQualifiedName, isValidLabelValue } from '../validation/names.js';

/** LabelOperator is a requirement's operator, named as Kubernetes' selection.Operator. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

/** LabelRequirement is one clause of a selector: a key, an operator and its values. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** values are sorted and distinct; empty for exists and '!'. */
  readonly values: readonly string[];
}

/**
 * Selector is a parsed label selector: every requirement must hold. `nothing` marks the
 * selector that matches no object (a missing LabelSelector); no requirements match everything.
 */
export interface Selector {
  readonly requirements: readonly LabelRequirement[];
  readonly nothing?: boolean;
}

/** EVERYTHING is the selector with no requirements. */
export const EVERYTHING: Selector = { requirements: [] };

/** NOTHING is the selector that matches no object. */
export const NOTHING: Selector = { requirements: [], nothing: true };

type Tok = 'id' | 'in' | 'notin' | '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ',' | 'end';

interface Lexeme {
  readonly tok: Tok;
  readonly lit: string;
}

const SPECIAL = new Set(['!', '(', ')', ',', '=', '<', '>']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function lex(s: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (SPECIAL.has(c)) {
      const two = s.slice(i, i + 2);
      if (two === '!=' || two === '==') {
        out.push({ tok: two, lit: two });
        i += 2;
      } else {
        out.push({ tok: c as Tok, lit: c });
        i++;
      }
      continue;
    }
    let j = i;
    while (j < s.length && !SPECIAL.has(s[j] ?? '') && !isSpace(s[j] ?? '')) j++;
    const word = s.slice(i, j);
    out.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id', lit: word });
    i = j;
  }
  out.push({ tok: 'end', lit: '' });
  return out;
}

class ParseError extends Error {}

/** Parser walks the lexemes; `in`/`notin` are keywords only where an operator is expected. */
class Parser {
  #pos = 0;
  readonly #items: readonly Lexeme[];

  constructor(items: readonly Lexeme[]) {
    this.#items = items;
  }

  peek(asValue: boolean): Lexeme {
    const l = this.#items[this.#pos] ?? { tok: 'end', lit: '' };
    return asValue && (l.tok === 'in' || l.tok === 'notin') ? { tok: 'id', lit: l.lit } : l;
  }

  next(asValue: boolean): Lexeme {
    const l = this.peek(asValue);
    if (this.#pos < this.#items.length - 1) this.#pos++;
    return l;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const l = this.peek(true);
      if (l.tok === 'end') return reqs;
      if (l.tok !== 'id' && l.tok !== '!') throw new ParseError(`found '${l.lit}', expected: !, identifier, or 'end of string'`);
      reqs.push(this.wrappedRequirement());
      const t = this.next(true);
      if (t.tok === 'end') return reqs;
      if (t.tok !== ',') throw new ParseError(`found '${t.lit}', expected: ',' or 'end of string'`);
      const after = this.peek(true);
      if (after.tok !== 'id' && after.tok !== '!') throw new ParseError(`found '${after.lit}', expected: identifier after ','`);
    }
  }

  wrappedRequirement(): LabelRequirement {
    try {
      return this.requirement();
    } catch (e) {
      if (e instanceof ParseError) throw new ParseError(`unable to parse requirement: ${e.message}`);
      throw e;
    }
  }

  requirement(): LabelRequirement {
    let t = this.next(true);
    let negated = false;
    if (t.tok === '!') {
      negated = true;
      t = this.next(true);
    }
    if (t.tok !== 'id') throw new ParseError(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const after = this.peek(true).tok;
    if (negated || after === 'end' || after === ',') return requirementOrThrow(key, negated ? '!' : 'exists', []);
    const op = this.next(false);
    switch (op.tok) {
      case 'in':
      case 'notin':
        return requirementOrThrow(key, op.tok, this.valueSet());
      case '=':
      case '==':
      case '!=':
        return requirementOrThrow(key, op.tok, this.exactValue());
      case '>':
        return requirementOrThrow(key, 'gt', this.exactValue());
      case '<':
        return requirementOrThrow(key, 'lt', this.exactValue());
      case ',':
      case '!':
      case '(':
      case ')':
      case 'end':
      case 'id':
        throw new ParseError(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  exactValue(): string[] {
    const t = this.peek(true);
    if (t.tok === 'end' || t.tok === ',') return [''];
    this.next(true);
    if (t.tok === 'id') return [t.lit];
    throw new ParseError(`found '${t.lit}', expected: identifier`);
  }

  valueSet(): string[] {
    const open = this.next(true);
    if (open.tok !== '(') throw new ParseError(`found '${open.lit}' expected: '('`);
    const first = this.peek(true);
    if (first.tok === ')') {
      this.next(true);
      return [''];
    }
    if (first.tok !== 'id' && first.tok !== ',') throw new ParseError(`found '${first.lit}', expected: ',', ')' or identifier`);
    const values: string[] = [];
    for (;;) {
      const t = this.next(true);
      if (t.tok === 'id') {
        values.push(t.lit);
        const n = this.peek(true);
        if (n.tok === ')') break;
        if (n.tok !== ',') throw new ParseError(`found '${n.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        // '(,x)', '(x,)' and '(x,,y)' each carry an empty value.
        if (values.length === 0) values.push('');
        const n = this.peek(true);
        if (n.tok === ')') {
          values.push('');
          break;
        }
        if (n.tok === ',') {
          this.next(true);
          values.push('');
        }
      } else {
        throw new ParseError(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
    const close = this.next(true);
    if (close.tok !== ')') throw new ParseError(`found '${close.lit}', expected: ')'`);
    return values;
  }
}

const INTEGER = /^[+-]?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseInt64(v: string): bigint | undefined {
  if (!INTEGER.test(v)) return undefined;
  const n = BigInt(v);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/**
 * newRequirement builds a validated requirement (Kubernetes' labels.NewRequirement); values are
 * de-duplicated and sorted. The error is Kubernetes' field error text.
 */
export function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): Result<LabelRequirement, string> {
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) return err(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join('; ')}`);
  const vals = [...new Set(values)].sort();
  switch (operator) {
    case 'in':
    case 'notin':
      if (vals.length === 0) return err("values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty");
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) return err(`values: Invalid value: ${JSON.stringify(vals)}: exact-match compatibility requires one single value`);
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) return err(`values: Invalid value: ${JSON.stringify(vals)}: values set must be empty for exists and does not exist`);
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) return err(`values: Invalid value: ${JSON.stringify(vals)}: for 'Gt', 'Lt' operators, exactly one value is required`);
      if (parseInt64(vals[0] ?? '') === undefined) return err(`values[0]: Invalid value: ${JSON.stringify(vals[0])}: for 'Gt', 'Lt' operators, the value must be an integer`);
      break;
  }
  for (const [i, v] of vals.entries()) {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0) return err(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${valueErrs.join('; ')}`);
  }
  return ok({ key, operator, values: vals });
}

function requirementOrThrow(key: string, operator: LabelOperator, values: readonly string[]): LabelRequirement {
  const r = newRequirement(key, operator, values);
  if (!r.ok) throw new ParseError(r.error);
  return r.value;
}

/**
 * parseLabelSelector parses a `labelSelector` query string; '' selects everything. The error
 * is Kubernetes' text, e.g. "unable to parse requirement: found '', expected: identifier".
 */
export function parseLabelSelector(s: string): Result<Selector, string> {
  try {
    const reqs = new Parser(lex(s)).parse();
    return ok({ requirements: sortRequirements(reqs) });
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return err(e.message);
  }
}

function sortRequirements(reqs: LabelRequirement[]): LabelRequirement[] {
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** requirementMatches tells whether one requirement holds for a label set. */
export function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return v !== undefined && r.values.includes(v);
    case 'notin':
    case '!=':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (v === undefined) return false;
      const have = parseInt64(v);
      const want = parseInt64(r.values[0] ?? '');
      if (have === undefined || want === undefined) return false;
      return r.operator === 'gt' ? have > want : have < want;
    }
  }
}

/** matchesLabels tells whether an object's labels (absent: none) satisfy a selector. */
export function matchesLabels(sel: Selector, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (sel.nothing === true) return false;
  const ls = labels ?? {};
  for (const r of sel.requirements) if (!requirementMatches(r, ls)) return false;
  return true;
}

/** isEverything tells whether a selector has no requirements and so matches every object. */
export function isEverything(sel: Selector): boolean {
  return sel.nothing !== true && sel.requirements.length === 0;
}

const EXPRESSION_OPERATORS: Readonly<Record<string, LabelOperator>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * selectorFromLabelSelector converts a structured LabelSelector (matchLabels and
 * matchExpressions): null or absent matches nothing, `{}` matches everything. The error is
 * Kubernetes' text, e.g. `"Foo" is not a valid label selector operator`.
 */
export function selectorFromLabelSelector(ls: LabelSelector | null | undefined): Result<Selector, string> {
  if (ls === null || ls === undefined) return ok(NOTHING);
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    const r = newRequirement(k, '=', [v]);
    if (!r.ok) return r;
    reqs.push(r.value);
  }
  for (const expr of ls.matchExpressions ?? []) {
    const op = Object.hasOwn(EXPRESSION_OPERATORS, expr.operator) ? EXPRESSION_OPERATORS[expr.operator] : undefined;
    if (op === undefined) return err(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    const r = newRequirement(expr.key, op, expr.values ?? []);
    if (!r.ok) return r;
    reqs.push(r.value);
  }
  return ok({ requirements: sortRequirements(reqs) });
}

/** requirementToString prints one requirement in the query-string grammar. */
export function requirementToString(r: LabelRequirement): string {
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
    case 'gt':
      return `${r.key}>${r.values[0] ?? ''}`;
    case 'lt':
      return `${r.key}<${r.values[0] ?? ''}`;
    case '=':
    case '==':
    case '!=':
      return `${r.key}${r.operator}${r.values[0] ?? ''}`;
  }
}

/** selectorToString prints a parsed selector in the query-string grammar ('' for everything). */
export function selectorToString(sel: Selector): string {
  return sel.requirements.map(requirementToString).join(',');
}

/**
 * labelSelectorToString prints a structured LabelSelector in the query-string grammar, as a
 * Scale's status.selector carries it: 'app=web,tier in (fe)'; '' for an empty or absent one
 * and for an invalid one (check with selectorFromLabelSelector first).
 */
export function labelSelectorToString(ls: LabelSelector | null | undefined): string {
  const sel = selectorFromLabelSelector(ls);
  return sel.ok ? selectorToString(sel.value) : '';
}

/**
 * formatLabelSelector prints a LabelSelector for people, as kubectl's wide output does:
 * '<none>' when empty or absent, '<error>' when invalid.
 */
export function formatLabelSelector(ls: LabelSelector | null | undefined): string {
  if (ls === null || ls === undefined) return '<none>';
  const sel = selectorFromLabelSelector(ls);
  if (!sel.ok) return '<error>';
  const s = selectorToString(sel.value);
  return s === '' ? '<none>' : s;
}
