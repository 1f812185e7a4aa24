// CronJob: creates a Job from its template at each time of a cron schedule.
import { age, ageColumn, column } from '../../columns.js';
import { arr, bool, enumOf, int32, int64, obj, ref, str, time, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { forbidden, invalid, nonNegative, required } from '../../core/v1/field-errors.js';
import { coreRef } from '../../core/v1/names.js';
import { formatSelector } from '../../core/v1/label-selector.js';
import { kindDefinition, objectMeta } from '../../meta/v1.js';
import { cronProblem } from '../../lodge/v1alpha1/schedule.js';
import { applyJobSpecDefaults, validateJobTemplateSpec } from './job-validation.js';
import { batch, batchGVK, type CronJob } from './names.js';

/** A Job's name is the CronJob's plus "-" and up to 10 digits of minutes, within 63 characters. */
const MAX_CRONJOB_NAME = 52;

export const cronJobDefinitions: Record<string, Schema> = {
  [batch('JobTemplateSpec')]: obj(
    {
      metadata: objectMeta(),
      spec: ref(batch('JobSpec'), 'The Job to create at each scheduled time.'),
    },
    { description: 'The Jobs a CronJob creates.' },
  ),
  [batch('CronJobSpec')]: obj(
    {
      schedule: str('Cron schedule (5 fields or a macro like @hourly).'),
      timeZone: str('IANA time zone the schedule is read in (default: UTC, as the control plane runs).'),
      startingDeadlineSeconds: int64('A scheduled time missed by more than this many seconds is skipped.'),
      concurrencyPolicy: enumOf(['Allow', 'Forbid', 'Replace'], 'Allow: Jobs may overlap; Forbid: skip a time while one runs; Replace: the new Job replaces the running one.'),
      suspend: bool('No new Jobs while true (running ones continue).'),
      jobTemplate: ref(batch('JobTemplateSpec'), 'The Job to create.'),
      successfulJobsHistoryLimit: int32('Finished successful Jobs kept (default 3).'),
      failedJobsHistoryLimit: int32('Finished failed Jobs kept (default 1).'),
    },
    { required: ['schedule', 'jobTemplate'], description: 'Desired state of a CronJob.' },
  ),
  [batch('CronJobStatus')]: obj(
    {
      active: arr(coreRef('ObjectReference'), { listType: 'atomic', description: 'The Jobs running now.' }),
      lastScheduleTime: time('When a Job was last scheduled.'),
      lastSuccessfulTime: time('When a Job last completed successfully.'),
    },
    { description: 'Observed state of a CronJob.' },
  ),
  [batch('CronJob')]: kindDefinition(batchGVK('CronJob'), 'Creates Jobs on a schedule.', {
    spec: ref(batch('CronJobSpec'), 'Desired state of the CronJob.'),
    status: ref(batch('CronJobStatus'), 'Observed state of the CronJob.'),
  }),
};

const asCronJob = (o: KubeObject): CronJob => o as CronJob;

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function validateCronJob(c: CronJob): FieldError[] {
  const errs: FieldError[] = [];
  const name = c.metadata.name ?? '';
  if (name.length > MAX_CRONJOB_NAME) errs.push(invalid('metadata.name', name, `must be no more than ${MAX_CRONJOB_NAME} characters`));
  const spec = c.spec;
  if (!spec) return [...errs, required('spec')];
  const schedule = spec.schedule ?? '';
  if (/^\s*(CRON_)?TZ=/.test(schedule)) errs.push(invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  else {
    const problem = cronProblem(schedule);
    if (problem) errs.push(invalid('spec.schedule', schedule, problem));
  }
  if (spec.timeZone !== undefined && !validTimeZone(spec.timeZone)) errs.push(invalid('spec.timeZone', spec.timeZone, 'unknown time zone'));
  errs.push(...nonNegative('spec.startingDeadlineSeconds', spec.startingDeadlineSeconds));
  errs.push(...nonNegative('spec.successfulJobsHistoryLimit', spec.successfulJobsHistoryLimit));
  errs.push(...nonNegative('spec.failedJobsHistoryLimit', spec.failedJobsHistoryLimit));
  if (!spec.jobTemplate) errs.push(required('spec.jobTemplate'));
  else {
    errs.push(...validateJobTemplateSpec(spec.jobTemplate.spec, 'spec.jobTemplate.spec'));
    if (spec.jobTemplate.spec?.ttlSecondsAfterFinished !== undefined && spec.jobTemplate.spec.ttlSecondsAfterFinished < 0)
      errs.push(forbidden('spec.jobTemplate.spec.ttlSecondsAfterFinished', 'must be greater than or equal to 0'));
  }
  return errs;
}

const templateContainers = (o: KubeObject): Array<{ name?: string; image?: string }> => asCronJob(o).spec?.jobTemplate?.spec?.template?.spec?.containers ?? [];

export const cronJob: ResourceType = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  shortNames: ['cj'],
  categories: ['all'],
  namespaced: true,
  definition: batch('CronJob'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Schedule', 'The cron schedule.', (o) => asCronJob(o).spec?.schedule ?? ''),
    column('Timezone', 'The schedule\'s time zone.', (o) => asCronJob(o).spec?.timeZone ?? '<none>'),
    column('Suspend', 'Whether new Jobs are held back.', (o) => (asCronJob(o).spec?.suspend ? 'True' : 'False'), { type: 'boolean' }),
    column('Active', 'Jobs running now.', (o) => asCronJob(o).status?.active?.length ?? 0, { type: 'integer' }),
    column('Last Schedule', 'Since a Job was last scheduled.', (o, now) => {
      const last = asCronJob(o).status?.lastScheduleTime;
      return last ? age({ ...o, metadata: { creationTimestamp: last } }, now) : '<none>';
    }),
    ageColumn,
    column('Containers', 'Names of the template\'s containers.', (o) => templateContainers(o).map((c) => c.name ?? '').join(','), { priority: 1 }),
    column('Images', 'Images of the template\'s containers.', (o) => templateContainers(o).map((c) => c.image ?? '').join(','), { priority: 1 }),
    column('Selector', 'Label selector of the Jobs\' Pods.', (o) => formatSelector(asCronJob(o).spec?.jobTemplate?.spec?.selector), { priority: 1 }),
  ],
  applyDefaults(o) {
    const spec = asCronJob(o).spec;
    if (!spec) return;
    spec.concurrencyPolicy ??= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    applyJobSpecDefaults(spec.jobTemplate?.spec);
  },
  validate(o) {
    return validateCronJob(asCronJob(o));
  },
  describe(o) {
    const c = asCronJob(o);
    const s = c.spec ?? {};
    return [
      `Schedule:                      ${s.schedule ?? ''}`,
      `Concurrency Policy:            ${s.concurrencyPolicy ?? 'Allow'}`,
      `Suspend:                       ${s.suspend ? 'True' : 'False'}`,
      `Successful Job History Limit:  ${s.successfulJobsHistoryLimit ?? 3}`,
      `Failed Job History Limit:      ${s.failedJobsHistoryLimit ?? 1}`,
      `Starting Deadline Seconds:     ${s.startingDeadlineSeconds ?? '<unset>'}`,
      `Last Schedule Time:            ${c.status?.lastScheduleTime ?? '<unset>'}`,
      `Active Jobs:                   ${(c.status?.active ?? []).map((r) => r.name).join(', ') || '<none>'}`,
    ];
  },
};
