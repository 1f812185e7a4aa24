// Semantic validation of pod specs (Pods and templates alike) and the
// update rules of Pods: a pod's spec is fixed once created, except for the
// few fields a running pod can take on.
import type { FieldError } from '../../types.js';
import { jsonEqual } from './equality.js';
import { duplicate, forbidden, inRange, invalid, required } from './field-errors.js';
import { check, dns1123Label, dns1123Subdomain, validateLabelMap } from './name-validation.js';
import { validateContainer, type ContainerKind } from './container-validation.js';
import { validateAffinity, validateTolerations, validateTopologySpread } from './scheduling-validation.js';
import type { Container, PodSpec, Toleration } from './types.js';
import { validateVolumes } from './volume-validation.js';

export function validatePodSpec(field: string, spec: PodSpec | undefined): FieldError[] {
  if (!spec) return [required(field)];
  const errs: FieldError[] = [];
  const { errors: volumeErrors, names: volumes } = validateVolumes(`${field}.volumes`, spec.volumes);
  errs.push(...volumeErrors);

  if (!spec.containers?.length) errs.push(required(`${field}.containers`));
  const names = new Set<string>();
  const groups: Array<[string, ContainerKind, Container[] | undefined]> = [
    ['initContainers', 'init', spec.initContainers],
    ['containers', 'app', spec.containers],
    ['ephemeralContainers', 'ephemeral', spec.ephemeralContainers],
  ];
  for (const [list, kind, containers] of groups) {
    (containers ?? []).forEach((c, i) => {
      const p = `${field}.${list}[${i}]`;
      if (c.name !== undefined) {
        errs.push(...check(`${p}.name`, c.name, dns1123Label));
        if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
        names.add(c.name);
      }
      errs.push(...validateContainer(p, c, kind, volumes, spec.hostNetwork === true));
    });
  }

  if (spec.activeDeadlineSeconds !== undefined) errs.push(...inRange(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 1, 2 ** 31 - 1));
  errs.push(...validateLabelMap(`${field}.nodeSelector`, spec.nodeSelector));
  errs.push(...check(`${field}.serviceAccountName`, spec.serviceAccountName || undefined, dns1123Subdomain));
  errs.push(...check(`${field}.hostname`, spec.hostname || undefined, dns1123Label));
  errs.push(...check(`${field}.subdomain`, spec.subdomain || undefined, dns1123Label));
  errs.push(...check(`${field}.nodeName`, spec.nodeName || undefined, dns1123Subdomain));
  if (spec.dnsPolicy === 'None' && !spec.dnsConfig)
    errs.push(required(`${field}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  errs.push(...validateTolerations(`${field}.tolerations`, spec.tolerations));
  errs.push(...validateAffinity(`${field}.affinity`, spec.affinity));
  errs.push(...validateTopologySpread(`${field}.topologySpreadConstraints`, spec.topologySpreadConstraints));
  (spec.imagePullSecrets ?? []).forEach((s, i) => {
    if (!s.name) errs.push(required(`${field}.imagePullSecrets[${i}].name`));
  });
  const gates = new Set<string>();
  (spec.schedulingGates ?? []).forEach((g, i) => {
    if (g.name && gates.has(g.name)) errs.push(duplicate(`${field}.schedulingGates[${i}].name`, g.name));
    if (g.name) gates.add(g.name);
  });
  return errs;
}

const UPDATABLE =
  'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, ' +
  '`spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative), ' +
  '`spec.schedulingGates` (only removals) and `spec.nodeName` (only when unset)';

/** Paths where two JSON values differ, at most `max` of them. */
function differences(a: unknown, b: unknown, path: string, out: string[], max = 5): void {
  if (out.length >= max || jsonEqual(a, b)) return;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) {
      out.push(path);
      return;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      differences(ao[k], bo[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, out, max);
    }
    return;
  }
  out.push(path);
}

/** Take the old value of a field the update may change. */
function restore(masked: PodSpec, old: PodSpec, key: keyof PodSpec): void {
  if (old[key] === undefined) delete masked[key];
  else masked[key] = old[key];
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return jsonEqual(a, b);
}

/**
 * Kubernetes' pod update rules. Lodge also lets spec.nodeName go from unset
 * to set by update (Kubernetes requires the pods/binding subresource for
 * that), so a scheduler can bind with an ordinary write.
 */
export function validatePodSpecUpdate(spec: PodSpec | undefined, old: PodSpec | undefined): FieldError[] {
  if (!spec || !old) return [];
  const errs: FieldError[] = [];
  const masked = structuredClone(spec);
  for (const list of ['containers', 'initContainers'] as const) {
    (masked[list] ?? []).forEach((c, i) => {
      const before = old[list]?.[i];
      if (before && before.name === c.name) c.image = before.image;
    });
  }

  if (old.activeDeadlineSeconds !== undefined) {
    if (spec.activeDeadlineSeconds === undefined)
      errs.push(forbidden('spec.activeDeadlineSeconds', 'must not update from a positive integer to nil value'));
    else if (spec.activeDeadlineSeconds > old.activeDeadlineSeconds)
      errs.push(invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be less than or equal to previous value'));
  }
  restore(masked, old, 'activeDeadlineSeconds');

  const oldTolerations = old.tolerations ?? [];
  const newTolerations = spec.tolerations ?? [];
  if (oldTolerations.every((t) => newTolerations.some((n) => sameToleration(t, n)))) {
    restore(masked, old, 'tolerations');
  }

  if ((old.terminationGracePeriodSeconds ?? 0) < 0 && spec.terminationGracePeriodSeconds === 1)
    masked.terminationGracePeriodSeconds = old.terminationGracePeriodSeconds;
  if (!old.nodeName && spec.nodeName) restore(masked, old, 'nodeName');
  const oldGates = old.schedulingGates ?? [];
  if ((spec.schedulingGates ?? []).every((g) => oldGates.some((o) => o.name === g.name))) {
    restore(masked, old, 'schedulingGates');
  }

  const changed: string[] = [];
  differences(old, masked, 'spec', changed);
  if (changed.length) errs.push(forbidden('spec', `${UPDATABLE}; changed: ${changed.join(', ')}`));
  return errs;
}
