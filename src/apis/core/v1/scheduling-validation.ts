// Semantic checks of tolerations, affinity weights and topology spread.
import type { FieldError } from '../../types.js';
import { duplicate, inRange, invalid } from './field-errors.js';
import { check, qualifiedName } from './name-validation.js';
import type { Toleration } from './types.js';

export function validateTolerations(field: string, tolerations: Toleration[] | undefined): FieldError[] {
  const errs: FieldError[] = [];
  (tolerations ?? []).forEach((t, i) => {
    const p = `${field}[${i}]`;
    if (t.key) errs.push(...check(`${p}.key`, t.key, qualifiedName));
    if (!t.key && t.operator !== 'Exists') errs.push(invalid(`${p}.operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.operator === 'Exists' && t.value) errs.push(invalid(`${p}.operator`, t.value, 'value must be empty when `operator` is \'Exists\''));
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute')
      errs.push(invalid(`${p}.effect`, t.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
  });
  return errs;
}

type Weighted = { weight?: number };

export function validateAffinity(field: string, affinity: Record<string, unknown> | undefined): FieldError[] {
  if (!affinity) return [];
  const errs: FieldError[] = [];
  const node = affinity.nodeAffinity as { preferredDuringSchedulingIgnoredDuringExecution?: Weighted[] } | undefined;
  (node?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) =>
    errs.push(...inRange(`${field}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}].weight`, t.weight, 1, 100)),
  );
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const a = affinity[kind] as
      | { requiredDuringSchedulingIgnoredDuringExecution?: Array<{ topologyKey?: string }>; preferredDuringSchedulingIgnoredDuringExecution?: Array<Weighted & { podAffinityTerm?: { topologyKey?: string } }> }
      | undefined;
    (a?.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) =>
      errs.push(...check(`${field}.${kind}.requiredDuringSchedulingIgnoredDuringExecution[${i}].topologyKey`, t.topologyKey, qualifiedName)),
    );
    (a?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
      const p = `${field}.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      errs.push(...inRange(`${p}.weight`, t.weight, 1, 100));
      errs.push(...check(`${p}.podAffinityTerm.topologyKey`, t.podAffinityTerm?.topologyKey, qualifiedName));
    });
  }
  return errs;
}

type Spread = { maxSkew?: number; topologyKey?: string; whenUnsatisfiable?: string; minDomains?: number };

export function validateTopologySpread(field: string, constraints: Array<Record<string, unknown>> | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (constraints as Spread[] | undefined ?? []).forEach((c, i) => {
    const p = `${field}[${i}]`;
    if (c.maxSkew !== undefined && c.maxSkew <= 0) errs.push(invalid(`${p}.maxSkew`, c.maxSkew, 'must be greater than zero'));
    errs.push(...check(`${p}.topologyKey`, c.topologyKey, qualifiedName));
    if (c.minDomains !== undefined) {
      if (c.minDomains <= 0) errs.push(invalid(`${p}.minDomains`, c.minDomains, 'must be greater than zero'));
      else if (c.whenUnsatisfiable !== 'DoNotSchedule')
        errs.push(invalid(`${p}.minDomains`, c.minDomains, 'can only use minDomains if whenUnsatisfiable=DoNotSchedule'));
    }
    const key = `${c.topologyKey}\u0000${c.whenUnsatisfiable}`;
    if (seen.has(key)) errs.push(duplicate(`${p}.{topologyKey, whenUnsatisfiable}`, `{${c.topologyKey}, ${c.whenUnsatisfiable}}`));
    seen.add(key);
  });
  return errs;
}
