// Checks for the identifier formats Kubernetes uses across kinds: DNS labels
// and subdomains, port names, label keys/values, data keys. Each returns a
// problem description or undefined when the value is fine.
import type { FieldError } from '../../types.js';
import { invalid, tooLong } from './field-errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

export function dns1123Label(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(v))
    return "a lowercase RFC 1123 label must be made of lower case letters, digits and '-', and begin and end with a letter or digit (regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

export function dns1035Label(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1035_LABEL.test(v))
    return "a DNS-1035 label must be made of lower case letters, digits and '-', begin with a letter and end with a letter or digit (regex '[a-z]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(v))
    return "a lowercase RFC 1123 subdomain must be made of lower case letters, digits, '-' and '.', and begin and end with a letter or digit";
  return undefined;
}

/** IANA service name, as used for named ports: at most 15 characters, at least one letter, no '--'. */
export function portName(v: string): string | undefined {
  if (v.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(v)) return "must contain only lower case letters, digits and '-'";
  if (v.startsWith('-') || v.endsWith('-')) return "must not begin or end with '-'";
  if (v.includes('--')) return "must not contain consecutive '-'";
  if (!/[a-z]/.test(v)) return 'must contain at least one letter';
  return undefined;
}

/** A label or annotation key: an optional DNS subdomain prefix and '/', then a name of up to 63 characters. */
export function qualifiedName(v: string): string | undefined {
  const parts = v.split('/');
  if (parts.length > 2) return "a qualified name may contain at most one '/'";
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (!prefix) return 'the prefix part must not be empty';
    const p = dns1123Subdomain(prefix);
    if (p) return `prefix part ${p}`;
  }
  if (!name) return 'the name part must not be empty';
  if (name.length > 63) return 'the name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) return "the name part must be letters, digits, '-', '_' or '.', beginning and ending with a letter or digit";
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(v)) return "a label value must be empty or letters, digits, '-', '_' or '.', beginning and ending with a letter or digit";
  return undefined;
}

/** Keys of ConfigMap and Secret data (they become file names in volumes). */
export function configKey(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!CONFIG_KEY.test(v)) return "a valid config key must consist of letters, digits, '-', '_' or '.'";
  if (v === '.' || v === '..') return `must not be '${v}'`;
  if (v.startsWith('..')) return "must not start with '..'";
  return undefined;
}

/** Environment variable names: any printable ASCII except '='. */
export function envVarName(v: string): string | undefined {
  if (!v) return 'must not be empty';
  if (!/^[\x20-\x7e]+$/.test(v) || v.includes('=')) return "must consist of printable ASCII characters other than '='";
  return undefined;
}

/** Report a failed check as an Invalid error, or nothing. */
export function check(field: string, value: string | undefined, fn: (v: string) => string | undefined): FieldError[] {
  if (value === undefined) return [];
  const problem = fn(value);
  return problem ? [invalid(field, value, problem)] : [];
}

/** labels / nodeSelector maps: keys are qualified names, values label values. */
export function validateLabelMap(field: string, labels: Record<string, string> | undefined): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...check(field, k, qualifiedName));
    errs.push(...check(`${field}[${k}]`, v, labelValue));
  }
  return errs;
}

/** Total size of a string map, for the 1 MiB limits of ConfigMaps and Secrets. */
export function checkTotalSize(field: string, sizes: number[], max = 1024 * 1024): FieldError[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  return total > max ? [tooLong(field, max)] : [];
}
