// What Deployments and ReplicaSets share: a selector, a pod template that
// must match it, template defaults, and the CONTAINERS/IMAGES/SELECTOR cells.
import { column } from '../../columns.js';
import { int32, int64, obj, str, time, enumOf, type Schema } from '../../schema.js';
import type { Column, FieldError, KubeObject } from '../../types.js';
import { immutable, invalid, nonNegative, notSupported, forbidden } from '../../core/v1/field-errors.js';
import { formatSelector, isEmptySelector, selectorMatches, validateLabelSelector } from '../../core/v1/label-selector.js';
import { applyPodSpecDefaults } from '../../core/v1/pod-defaults.js';
import { validatePodSpec } from '../../core/v1/pod-validation.js';
import type { Condition, LabelSelector, PodTemplateSpec } from '../../core/v1/types.js';
import { jsonEqual } from '../../core/v1/equality.js';

export const APPS = 'io.k8s.api.apps.v1';
export const apps = (name: string): string => `${APPS}.${name}`;
export const appsGVK = (kind: string): { group: string; version: string; kind: string } => ({ group: 'apps', version: 'v1', kind });

export type WorkloadSpec = {
  replicas?: number;
  minReadySeconds?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
};

export type WorkloadStatus = {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  fullyLabeledReplicas?: number;
  conditions?: Condition[];
};

export type Workload<S extends WorkloadSpec = WorkloadSpec> = KubeObject & { spec?: S; status?: WorkloadStatus };

/** A workload condition as apps/v1 declares them (Deployments' also carry lastUpdateTime). */
export function workloadCondition(kind: string, types: string, o: { lastUpdateTime?: boolean } = {}): Schema {
  return obj(
    {
      type: str(`Type of the condition: ${types}.`),
      status: enumOf(['True', 'False', 'Unknown'], 'Whether it holds.'),
      ...(o.lastUpdateTime ? { lastUpdateTime: time('When the condition was last updated.') } : {}),
      lastTransitionTime: time('When the status last changed.'),
      reason: str('CamelCase reason for the last transition.'),
      message: str('Details.'),
    },
    { required: ['type', 'status'], description: `One aspect of a ${kind}'s state.` },
  );
}

export const replicaCount = (what: string): Schema => int32(what);
export const observedGeneration = (): Schema => int64('The generation of the spec this status reflects.');

export function applyTemplateDefaults(spec: WorkloadSpec | undefined): void {
  applyPodSpecDefaults(spec?.template?.spec);
}

/** Selector, template and replica checks of Deployments and ReplicaSets. */
export function validateWorkload(spec: WorkloadSpec | undefined, old: WorkloadSpec | undefined, kind: string): FieldError[] {
  if (!spec) return [];
  const errs: FieldError[] = [];
  errs.push(...nonNegative('spec.replicas', spec.replicas));
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  if (spec.selector) {
    if (isEmptySelector(spec.selector)) errs.push(invalid('spec.selector', spec.selector, `empty selector is invalid for ${kind}`));
    else errs.push(...validateLabelSelector('spec.selector', spec.selector));
  }
  const template = spec.template;
  if (template) {
    const labels = template.metadata?.labels ?? {};
    if (spec.selector && !isEmptySelector(spec.selector) && !selectorMatches(spec.selector, labels))
      errs.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    errs.push(...validatePodSpec('spec.template.spec', template.spec));
    const restart = template.spec?.restartPolicy;
    if (restart !== undefined && restart !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', restart, ['Always']));
    if (template.spec?.activeDeadlineSeconds !== undefined)
      errs.push(forbidden('spec.template.spec.activeDeadlineSeconds', `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  if (old?.selector && !jsonEqual(spec.selector, old.selector)) errs.push(immutable('spec.selector', spec.selector));
  return errs;
}

function templateContainers(o: KubeObject): Array<{ name?: string; image?: string }> {
  return (o as Workload).spec?.template?.spec?.containers ?? [];
}

/** The -o wide columns kubectl shows for workloads. */
export const workloadWideColumns: Column[] = [
  column('Containers', 'Names of the template\'s containers.', (o) => templateContainers(o).map((c) => c.name ?? '').join(','), { priority: 1 }),
  column('Images', 'Images of the template\'s containers.', (o) => templateContainers(o).map((c) => c.image ?? '').join(','), { priority: 1 }),
  column('Selector', 'Label selector of the pods.', (o) => formatSelector((o as Workload).spec?.selector), { priority: 1 }),
];

export function describeTemplate(spec: WorkloadSpec | undefined): string[] {
  const t = spec?.template;
  const lines = [`Selector:          ${formatSelector(spec?.selector)}`, 'Pod Template:', `  Labels:  ${Object.entries(t?.metadata?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'}`, '  Containers:'];
  for (const c of t?.spec?.containers ?? []) {
    lines.push(`   ${c.name ?? ''}:`);
    lines.push(`    Image:  ${c.image ?? ''}`);
    if (c.ports?.length) lines.push(`    Ports:  ${c.ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', ')}`);
  }
  return lines;
}
