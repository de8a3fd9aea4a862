/**
 * workloads: validation of Deployments and ReplicaSets — replicas, the selector (required,
 * non-empty, valid, matching the template's labels, immutable), the rollout strategy, and the
 * pod template (validated as a pod spec that must restart Always).
 */
import { matchesLabels, selectorFromLabelSelector } from '../selectors/labels.js';
import type { FieldError } from '../types.js';
import { child, forbidden, index, invalid, required } from './field-errors.js';
import { validateAnnotations, validateLabels } from './meta.js';
import { validatePodSpec } from './pod.js';
import { checkEnum, checkNonNegative, deepEqual, list, num, obj, stringMap } from './util.js';

const STRATEGY_TYPES = ['Recreate', 'RollingUpdate'];
const PERCENT = /^[0-9]+%$/;
const PERCENT_MESSAGE = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** validateLabelSelectorField checks a LabelSelector's keys, values and operators. */
export function validateLabelSelectorField(value: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const ls = obj(value);
  if (ls === undefined) return errs;
  errs.push(...validateLabels(ls['matchLabels'], child(path, 'matchLabels')));
  for (const [i, e] of list(ls['matchExpressions']).entries()) {
    const ep = index(child(path, 'matchExpressions'), i);
    const expr = obj(e) ?? {};
    const op = expr['operator'];
    const values = list(expr['values']);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(required(child(ep, 'values'), 'must be specified when `operator` is \'In\' or \'NotIn\''));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(forbidden(child(ep, 'values'), 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
    } else {
      errs.push(invalid(child(ep, 'operator'), op, 'not a valid selector operator'));
    }
  }
  if (errs.length === 0) {
    const sel = selectorFromLabelSelector(ls);
    if (!sel.ok) errs.push(invalid(path, value, sel.error));
  }
  return errs;
}

/** isEmptySelector tells whether a LabelSelector has neither matchLabels nor matchExpressions. */
function isEmptySelector(ls: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(obj(ls['matchLabels']) ?? {}).length === 0 && list(ls['matchExpressions']).length === 0;
}

/** validateReplicatedSpec checks what Deployments and ReplicaSets share: replicas, selector, template. */
export function validateReplicatedSpec(specValue: unknown, path = 'spec'): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(specValue);
  if (spec === undefined) return [required(path)];
  checkNonNegative(errs, child(path, 'replicas'), spec['replicas']);
  checkNonNegative(errs, child(path, 'minReadySeconds'), spec['minReadySeconds']);
  const selPath = child(path, 'selector');
  const sel = obj(spec['selector']);
  let selector: ReturnType<typeof selectorFromLabelSelector> | undefined;
  if (sel === undefined) errs.push(required(selPath));
  else if (isEmptySelector(sel)) errs.push(invalid(selPath, sel, 'empty selector is invalid for deployment'));
  else {
    const selErrs = validateLabelSelectorField(sel, selPath);
    errs.push(...selErrs);
    if (selErrs.length === 0) selector = selectorFromLabelSelector(sel);
  }
  const tPath = child(path, 'template');
  const template = obj(spec['template']);
  if (template === undefined) {
    errs.push(required(tPath));
    return errs;
  }
  const tmeta = obj(template['metadata']) ?? {};
  const labels = stringMap(tmeta['labels']);
  errs.push(...validateLabels(tmeta['labels'], child(child(tPath, 'metadata'), 'labels')));
  errs.push(...validateAnnotations(tmeta['annotations'], child(child(tPath, 'metadata'), 'annotations')));
  if (selector?.ok === true && !matchesLabels(selector.value, labels)) {
    errs.push(invalid(child(child(tPath, 'metadata'), 'labels'), labels, '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodSpec(template['spec'], child(tPath, 'spec'), { restartPolicies: ['Always'] }));
  return errs;
}

/** validateIntOrPercent checks maxSurge / maxUnavailable: a non-negative integer or 'N%'. */
function intOrPercent(errs: FieldError[], value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    checkNonNegative(errs, path, value);
    return value;
  }
  if (typeof value === 'string') {
    if (!PERCENT.test(value)) {
      errs.push(invalid(path, value, PERCENT_MESSAGE));
      return undefined;
    }
    return Number(value.slice(0, -1));
  }
  errs.push(invalid(path, value, 'must be an integer or a percentage'));
  return undefined;
}

/** validateDeploymentSpec checks a Deployment's spec, including its strategy. */
export function validateDeploymentSpec(specValue: unknown, path = 'spec'): FieldError[] {
  const errs = validateReplicatedSpec(specValue, path);
  const spec = obj(specValue) ?? {};
  checkNonNegative(errs, child(path, 'revisionHistoryLimit'), spec['revisionHistoryLimit']);
  const pds = num(spec['progressDeadlineSeconds']);
  const mrs = num(spec['minReadySeconds']) ?? 0;
  if (pds !== undefined && pds <= mrs) errs.push(invalid(child(path, 'progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'));
  const sPath = child(path, 'strategy');
  const strategy = obj(spec['strategy']);
  if (strategy === undefined) return errs;
  checkEnum(errs, child(sPath, 'type'), strategy['type'], STRATEGY_TYPES);
  const ru = obj(strategy['rollingUpdate']);
  const ruPath = child(sPath, 'rollingUpdate');
  if (strategy['type'] === 'Recreate' && ru !== undefined) {
    errs.push(forbidden(ruPath, "may not be specified when strategy `type` is 'Recreate'"));
  }
  if (strategy['type'] === 'RollingUpdate' && ru !== undefined) {
    const surge = intOrPercent(errs, ru['maxSurge'], child(ruPath, 'maxSurge'));
    const unavailable = intOrPercent(errs, ru['maxUnavailable'], child(ruPath, 'maxUnavailable'));
    if (typeof ru['maxUnavailable'] === 'string' && unavailable !== undefined && unavailable > 100) {
      errs.push(invalid(child(ruPath, 'maxUnavailable'), ru['maxUnavailable'], 'must not be greater than 100%'));
    }
    if (surge === 0 && unavailable === 0) errs.push(invalid(child(ruPath, 'maxUnavailable'), ru['maxUnavailable'], 'may not be 0 when `maxSurge` is 0'));
  }
  return errs;
}

/** validateSelectorUpdate refuses a changed selector (immutable in apps/v1). */
export function validateSelectorUpdate(specValue: unknown, oldValue: unknown, path = 'spec'): FieldError[] {
  const now = obj(specValue)?.['selector'];
  const was = obj(oldValue)?.['selector'];
  return deepEqual(now, was) ? [] : [invalid(child(path, 'selector'), now ?? null, 'field is immutable')];
}
