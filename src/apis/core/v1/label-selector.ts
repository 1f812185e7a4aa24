// metav1.LabelSelector semantics: matching a label set, kubectl's one-line
// rendering, and Kubernetes' validation of a selector's requirements.
import type { FieldError } from '../../types.js';
import { invalid, notSupported, required } from './field-errors.js';
import { check, labelValue, qualifiedName, validateLabelMap } from './name-validation.js';
import type { LabelSelector } from './types.js';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  return !sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length);
}

/** Does the label set satisfy the selector? An empty selector matches everything. */
export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of sel?.matchExpressions ?? []) {
    const has = r.key !== undefined && Object.prototype.hasOwnProperty.call(l, r.key);
    const value = r.key !== undefined ? l[r.key] : undefined;
    switch (r.operator) {
      case 'In':
        if (!has || !(r.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (r.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** "app=web,tier in (a,b),!legacy" — sorted by key like kubectl; "<none>" when empty. */
export function formatSelector(sel: LabelSelector | undefined): string {
  if (isEmptySelector(sel)) return '<none>';
  const parts: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push([k, `${k}=${v}`]);
  for (const r of sel?.matchExpressions ?? []) {
    const key = r.key ?? '';
    const values = [...(r.values ?? [])].sort().join(',');
    if (r.operator === 'In') parts.push([key, `${key} in (${values})`]);
    else if (r.operator === 'NotIn') parts.push([key, `${key} notin (${values})`]);
    else if (r.operator === 'Exists') parts.push([key, key]);
    else if (r.operator === 'DoesNotExist') parts.push([key, `!${key}`]);
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((p) => p[1])
    .join(',');
}

/** "app=web,tier=db" for a plain map (Service selectors); "<none>" when empty. */
export function formatLabelMap(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${(m as Record<string, string>)[k]}`).join(',') : '<none>';
}

export function validateLabelSelector(field: string, sel: LabelSelector | undefined): FieldError[] {
  if (!sel) return [];
  const errs = validateLabelMap(`${field}.matchLabels`, sel.matchLabels);
  (sel.matchExpressions ?? []).forEach((r, i) => {
    const p = `${field}.matchExpressions[${i}]`;
    errs.push(...check(`${p}.key`, r.key, qualifiedName));
    const n = r.values?.length ?? 0;
    if (r.operator === 'In' || r.operator === 'NotIn') {
      if (!n) errs.push(required(`${p}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
    } else if (r.operator === 'Exists' || r.operator === 'DoesNotExist') {
      if (n) errs.push(invalid(`${p}.values`, r.values, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else if (r.operator !== undefined) {
      errs.push(notSupported(`${p}.operator`, r.operator, OPERATORS));
    }
    (r.values ?? []).forEach((v, j) => errs.push(...check(`${p}.values[${j}]`, v, labelValue)));
  });
  return errs;
}
