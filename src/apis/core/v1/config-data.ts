// Checks shared by ConfigMaps and Secrets: valid keys, size limit, and the
// `immutable` flag that freezes their data once set.
import type { FieldError } from '../../types.js';
import { jsonEqual } from './equality.js';
import { forbidden } from './field-errors.js';
import { check, checkTotalSize, configKey } from './name-validation.js';

/** Keys of several maps: each valid, none repeated across maps; total size within 1 MiB. */
export function validateDataMaps(maps: Array<[string, Record<string, string> | undefined, (v: string) => number]>): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  const sizes: number[] = [];
  for (const [field, map, sizeOf] of maps) {
    for (const [k, v] of Object.entries(map ?? {})) {
      errs.push(...check(`${field}[${k}]`, k, configKey));
      if (seen.has(k)) errs.push({ field: `${field}[${k}]`, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(k)}: duplicate of key present in another map` });
      seen.add(k);
      sizes.push(k.length + sizeOf(typeof v === 'string' ? v : ''));
    }
  }
  const first = maps[0]?.[0] ?? 'data';
  errs.push(...checkTotalSize(first, sizes));
  return errs;
}

const FROZEN = 'field is immutable when `immutable` is set';

/** Once `immutable: true`, the data and the flag itself stay as they are. */
export function validateImmutableUpdate(
  now: { immutable?: boolean; fields: Record<string, unknown> },
  old: { immutable?: boolean; fields: Record<string, unknown> },
): FieldError[] {
  if (!old.immutable) return [];
  const errs: FieldError[] = [];
  if (!now.immutable) errs.push(forbidden('immutable', FROZEN));
  for (const [field, value] of Object.entries(now.fields)) {
    if (!jsonEqual(value ?? {}, old.fields[field] ?? {})) errs.push(forbidden(field, FROZEN));
  }
  return errs;
}

/** Decoded length of base64 text (the 1 MiB limit counts bytes, not text). */
export const base64Size = (v: string): number => Math.floor((v.replace(/=+$/, '').length * 3) / 4);

export function isBase64(v: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0;
}
