// Kubernetes' rules for names, labels and annotations.
import type { FieldError, KubeObject, ResourceType } from '../../apis/types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ANNOTATIONS_MAX = 256 * 1024;

export function nameErrors(name: string, format: ResourceType['nameFormat'], field = 'metadata.name'): FieldError[] {
  const bad = (why: string): FieldError[] => [{ field, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: ${why}` }];
  switch (format ?? 'dns1123-subdomain') {
    case 'dns1123-label':
      if (name.length > 63) return bad('must be no more than 63 characters');
      if (!DNS1123_LABEL.test(name))
        return bad(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')",
        );
      return [];
    case 'dns1035-label':
      if (name.length > 63) return bad('must be no more than 63 characters');
      if (!DNS1035_LABEL.test(name))
        return bad(
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')",
        );
      return [];
    default:
      if (name.length > 253) return bad('must be no more than 253 characters');
      if (!DNS1123_SUBDOMAIN.test(name))
        return bad(
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
        );
      return [];
  }
}

/** A label or annotation key: [prefix/]name, prefix a DNS subdomain. */
export function keyErrors(key: string, field: string): FieldError[] {
  const bad = (why: string): FieldError[] => [{ field, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(key)}: ${why}` }];
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    return bad('prefix part must be a lowercase RFC 1123 subdomain');
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name))
    return bad(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters",
    );
  return [];
}

export function metadataErrors(obj: KubeObject, rt: ResourceType): FieldError[] {
  const m = obj.metadata;
  const errs: FieldError[] = [];
  if (!m.name) errs.push({ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' });
  else errs.push(...nameErrors(m.name, rt.nameFormat));
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    errs.push(...keyErrors(k, 'metadata.labels'));
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      errs.push({
        field: 'metadata.labels',
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(v)}: a valid label value must be 63 characters or less, empty or start and end with an alphanumeric character, with '-', '_' or '.' between`,
      });
  }
  let size = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    errs.push(...keyErrors(k, 'metadata.annotations'));
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > ANNOTATIONS_MAX)
    errs.push({ field: 'metadata.annotations', reason: 'FieldValueTooLong', message: `Too long: must have at most ${ANNOTATIONS_MAX} bytes` });
  for (const [i, f] of (m.finalizers ?? []).entries()) {
    if (!f.includes('/') && !['kubernetes', 'foregroundDeletion', 'orphan'].includes(f))
      errs.push({ field: `metadata.finalizers[${i}]`, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(f)}: name is neither a standard finalizer name nor is it fully qualified` });
    else if (f.includes('/')) errs.push(...keyErrors(f, `metadata.finalizers[${i}]`));
  }
  return errs;
}
