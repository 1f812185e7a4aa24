// Defaults and semantic checks of a Job spec (and a CronJob's jobTemplate
// spec), as Kubernetes' batch validation words them, so kubectl users see
// the messages they know.
import type { FieldError } from '../../types.js';
import { forbidden, immutable, invalid, notSupported, nonNegative, positive, required } from '../../core/v1/field-errors.js';
import { jsonEqual } from '../../core/v1/equality.js';
import { isEmptySelector, selectorMatches, validateLabelSelector } from '../../core/v1/label-selector.js';
import { applyPodSpecDefaults } from '../../core/v1/pod-defaults.js';
import { validatePodSpec } from '../../core/v1/pod-validation.js';
import { CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL, type JobSpec } from './names.js';

const RESTART_POLICIES = ['OnFailure', 'Never'];
/** Kubernetes' cap on an Indexed Job's completions and parallelism. */
const MAX_INDEXED = 100_000;
export const DEFAULT_BACKOFF_LIMIT = 6;

/** Spec defaults: completions and parallelism 1 when neither is set (a single run), backoffLimit 6, NonIndexed. */
export function applyJobSpecDefaults(spec: JobSpec | undefined): void {
  if (!spec) return;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= DEFAULT_BACKOFF_LIMIT;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  applyPodSpecDefaults(spec.template?.spec);
}

/**
 * Unless the user manages the selector, the Job's Pods are told apart by its
 * uid: the template gets the controller-uid and job-name labels (prefixed and
 * legacy) and the selector is the uid, set once the uid exists.
 */
export function generateSelector(spec: JobSpec | undefined, name: string | undefined, uid: string | undefined): void {
  if (!spec || spec.manualSelector === true || !uid) return;
  const template = (spec.template ??= {});
  const meta = (template.metadata ??= {});
  meta.labels = {
    ...(meta.labels ?? {}),
    [CONTROLLER_UID_LABEL]: uid,
    [LEGACY_CONTROLLER_UID_LABEL]: uid,
    ...(name ? { [JOB_NAME_LABEL]: name, [LEGACY_JOB_NAME_LABEL]: name } : {}),
  };
  spec.selector ??= { matchLabels: { [CONTROLLER_UID_LABEL]: uid } };
}

/** Checks shared by Jobs and jobTemplates: counts, mode, template. */
export function validateJobSpecFields(spec: JobSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...nonNegative(`${path}.parallelism`, spec.parallelism));
  errs.push(...nonNegative(`${path}.completions`, spec.completions));
  errs.push(...nonNegative(`${path}.backoffLimit`, spec.backoffLimit));
  errs.push(...positive(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds));
  errs.push(...nonNegative(`${path}.ttlSecondsAfterFinished`, spec.ttlSecondsAfterFinished));
  if (spec.completionMode === 'Indexed') {
    if (spec.completions === undefined) errs.push(required(`${path}.completions`, `when completion mode is Indexed`));
    else if (spec.completions > MAX_INDEXED) errs.push(invalid(`${path}.completions`, spec.completions, `must be less than or equal to ${MAX_INDEXED} when completion mode is Indexed`));
    if ((spec.parallelism ?? 0) > MAX_INDEXED) errs.push(invalid(`${path}.parallelism`, spec.parallelism, `must be less than or equal to ${MAX_INDEXED} when completion mode is Indexed`));
  }
  const template = spec.template;
  if (!template?.spec) return [...errs, required(`${path}.template.spec`)];
  errs.push(...validatePodSpec(`${path}.template.spec`, template.spec));
  const restart = template.spec.restartPolicy;
  if (!RESTART_POLICIES.includes(String(restart))) errs.push(notSupported(`${path}.template.spec.restartPolicy`, restart ?? '', RESTART_POLICIES));
  return errs;
}

/** A Job: its spec fields, a selector that matches the template (the generated one unless manualSelector), immutable template, selector and mode. */
export function validateJob(spec: JobSpec | undefined, old: JobSpec | undefined, uid: string | undefined): FieldError[] {
  if (!spec) return [required('spec')];
  const errs = validateJobSpecFields(spec, 'spec');
  if (!spec.selector) errs.push(required('spec.selector'));
  else if (isEmptySelector(spec.selector)) errs.push(invalid('spec.selector', spec.selector, 'empty selector is invalid for Job'));
  else {
    errs.push(...validateLabelSelector('spec.selector', spec.selector));
    const labels = spec.template?.metadata?.labels ?? {};
    if (!selectorMatches(spec.selector, labels)) errs.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    if (spec.manualSelector !== true && !old && uid && !jsonEqual(spec.selector, { matchLabels: { [CONTROLLER_UID_LABEL]: uid } }))
      errs.push(invalid('spec.selector', spec.selector, '`selector` not auto-generated'));
  }
  if (old) {
    if (!jsonEqual(spec.selector, old.selector)) errs.push(immutable('spec.selector', spec.selector));
    if (!jsonEqual(spec.template, old.template)) errs.push(immutable('spec.template', spec.template));
    if (spec.completions !== old.completions) errs.push(immutable('spec.completions', spec.completions));
    if (spec.completionMode !== old.completionMode) errs.push(immutable('spec.completionMode', spec.completionMode));
  }
  return errs;
}

/** A CronJob's jobTemplate spec: its selector is always generated per Job. */
export function validateJobTemplateSpec(spec: JobSpec | undefined, path: string): FieldError[] {
  if (!spec) return [required(path)];
  const errs = validateJobSpecFields(spec, path);
  if (spec.selector) errs.push(forbidden(`${path}.selector`, '`selector` will be auto-generated'));
  if (spec.manualSelector === true) errs.push(notSupported(`${path}.manualSelector`, true, ['nil', 'false']));
  return errs;
}
