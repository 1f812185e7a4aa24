// FieldError constructors with Kubernetes' reasons and message shapes
// ("Required value", "Invalid value: 0: must be ..."), so clients that parse
// Status causes, and people who know kubectl's output, see what they expect.
import type { FieldError } from '../../types.js';

/** Render a value the way Kubernetes quotes it in messages: strings quoted, numbers bare. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'null';
  return JSON.stringify(v) ?? String(v);
}

export const required = (field: string, detail?: string): FieldError => ({
  field,
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
});

export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${showValue(value)}: ${detail}`,
});

export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  field,
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${showValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
});

export const duplicate = (field: string, value: unknown): FieldError => ({
  field,
  reason: 'FieldValueDuplicate',
  message: `Duplicate value: ${showValue(value)}`,
});

export const forbidden = (field: string, detail: string): FieldError => ({
  field,
  reason: 'FieldValueForbidden',
  message: `Forbidden: ${detail}`,
});

export const notFound = (field: string, value: unknown): FieldError => ({
  field,
  reason: 'FieldValueNotFound',
  message: `Not found: ${showValue(value)}`,
});

export const tooLong = (field: string, max: number): FieldError => ({
  field,
  reason: 'FieldValueTooLong',
  message: `Too long: may not be more than ${max} bytes`,
});

export const immutable = (field: string, value: unknown): FieldError => invalid(field, value, 'field is immutable');

/** Range check for integers, with Kubernetes' wording. */
export function inRange(field: string, value: number | undefined, min: number, max: number): FieldError[] {
  if (value === undefined) return [];
  return value < min || value > max ? [invalid(field, value, `must be between ${min} and ${max}, inclusive`)] : [];
}

export function nonNegative(field: string, value: number | undefined): FieldError[] {
  return value !== undefined && value < 0 ? [invalid(field, value, 'must be greater than or equal to 0')] : [];
}

export function positive(field: string, value: number | undefined): FieldError[] {
  return value !== undefined && value <= 0 ? [invalid(field, value, 'must be greater than 0')] : [];
}

/**
 * Kubernetes' ValidatePositiveIntOrPercent (with max100, also
 * IsNotMoreThan100Percent) for an IntOrString count such as maxUnavailable:
 * the errors, and whether the value is zero (undefined when it is unset, as
 * each caller gives that its own meaning).
 */
export function intOrPercent(field: string, v: number | string | undefined | null, o: { max100: boolean }): { errors: FieldError[]; zero?: boolean } {
  if (v === undefined || v === null) return { errors: [] };
  if (typeof v === 'number') return { errors: nonNegative(field, v), zero: v === 0 };
  const m = /^(\d+)%$/.exec(v);
  if (!m) return { errors: [invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')")], zero: false };
  const pct = Number(m[1]);
  return { errors: o.max100 && pct > 100 ? [invalid(field, v, 'must not be greater than 100%')] : [], zero: pct === 0 };
}
