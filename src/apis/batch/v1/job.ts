// Job: runs Pods until a number of them succeed (or too many fail).
import { ageColumn, column, humanDuration } from '../../columns.js';
import { arr, bool, enumOf, int32, obj, ref, str, time, type Schema } from '../../schema.js';
import type { KubeObject, ResourceType } from '../../types.js';
import { coreRef } from '../../core/v1/names.js';
import { formatSelector } from '../../core/v1/label-selector.js';
import { kindDefinition, labelSelector } from '../../meta/v1.js';
import { applyJobSpecDefaults, generateSelector, validateJob } from './job-validation.js';
import { batch, batchGVK, trueCondition, type Job } from './names.js';

export const jobSpecSchema = (): Schema =>
  obj(
    {
      parallelism: int32('Most Pods running at once (default 1).'),
      completions: int32('Successful Pods needed; unset: the first success (with none left running) finishes the Job.'),
      completionMode: enumOf(['NonIndexed', 'Indexed'], 'NonIndexed: any completions successes; Indexed: one success per index 0..completions-1.'),
      backoffLimit: int32('Failed Pods (or container restarts with OnFailure) allowed before the Job fails (default 6).'),
      activeDeadlineSeconds: { ...int32('Seconds the Job may be active before it is failed (DeadlineExceeded).'), format: 'int64' },
      ttlSecondsAfterFinished: int32('Seconds after it finishes that the Job (and, through the garbage collector, its Pods) is deleted.'),
      suspend: bool('No Pods run while true; setting it stops the running ones.'),
      manualSelector: bool('The selector is the user\'s own instead of the generated controller-uid one.'),
      selector: labelSelector('The Pods this Job counts; generated from its uid unless manualSelector.'),
      template: coreRef('PodTemplateSpec', 'The Pods to run; restartPolicy must be Never or OnFailure.'),
    },
    { required: ['template'], description: 'Desired state of a Job.' },
  );

export const jobDefinitions: Record<string, Schema> = {
  [batch('JobSpec')]: jobSpecSchema(),
  [batch('JobCondition')]: obj(
    {
      type: str('Complete, Failed, Suspended, FailureTarget or SuccessCriteriaMet.'),
      status: enumOf(['True', 'False', 'Unknown'], 'Whether it holds.'),
      lastProbeTime: time('When the condition was last checked.'),
      lastTransitionTime: time('When the status last changed.'),
      reason: str('CamelCase reason: BackoffLimitExceeded, DeadlineExceeded, JobSuspended, ...'),
      message: str('Details.'),
    },
    { required: ['type', 'status'], description: 'One aspect of a Job\'s state.' },
  ),
  [batch('UncountedTerminatedPods')]: obj(
    {
      succeeded: arr(str(), { listType: 'set', description: 'uids of succeeded Pods not yet counted.' }),
      failed: arr(str(), { listType: 'set', description: 'uids of failed Pods not yet counted.' }),
    },
    { description: 'Finished Pods not yet in the counters (Lodge counts from the Pods themselves and leaves this empty).' },
  ),
  [batch('JobStatus')]: obj(
    {
      active: int32('Pods pending or running.'),
      ready: int32('Active Pods that are ready.'),
      succeeded: int32('Pods that succeeded.'),
      failed: int32('Pods that failed.'),
      terminating: int32('Pods being deleted.'),
      startTime: time('When the controller first ran the Job (reset while suspended).'),
      completionTime: time('When the Job completed.'),
      completedIndexes: str('Indexed Jobs: the indexes that succeeded, as "1,3-5".'),
      uncountedTerminatedPods: ref(batch('UncountedTerminatedPods')),
      conditions: arr(ref(batch('JobCondition')), { mergeKey: 'type', listType: 'atomic', description: 'Current conditions of the Job.' }),
    },
    { description: 'Observed state of a Job.' },
  ),
  [batch('Job')]: kindDefinition(batchGVK('Job'), 'Runs Pods to completion.', {
    spec: ref(batch('JobSpec'), 'Desired state of the Job.'),
    status: ref(batch('JobStatus'), 'Observed state of the Job.'),
  }),
};

const asJob = (o: KubeObject): Job => o as Job;

/** kubectl's STATUS cell: finished first, then terminating, then suspended, else running. */
export function jobStatusCell(j: Job): string {
  if (trueCondition(j, 'Complete')) return 'Complete';
  if (trueCondition(j, 'Failed')) return 'Failed';
  if (j.metadata.deletionTimestamp) return 'Terminating';
  if (trueCondition(j, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (trueCondition(j, 'FailureTarget')) return 'FailureTarget';
  if (trueCondition(j, 'Suspended')) return 'Suspended';
  return 'Running';
}

function completionsCell(j: Job): string {
  const succeeded = j.status?.succeeded ?? 0;
  if (j.spec?.completions !== undefined) return `${succeeded}/${j.spec.completions}`;
  const parallelism = j.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationCell(j: Job, now: number): string {
  const start = j.status?.startTime;
  if (!start) return '';
  const end = j.status?.completionTime ? Date.parse(j.status.completionTime) : now;
  return humanDuration(end - Date.parse(start));
}

const templateContainers = (o: KubeObject): Array<{ name?: string; image?: string }> => asJob(o).spec?.template?.spec?.containers ?? [];

export const job: ResourceType = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  categories: ['all'],
  namespaced: true,
  definition: batch('Job'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Status', 'Complete, Failed, Running, Suspended or Terminating.', (o) => jobStatusCell(asJob(o))),
    column('Completions', 'Successful Pods out of those needed.', (o) => completionsCell(asJob(o))),
    column('Duration', 'How long the Job ran (or has been running).', (o, now) => durationCell(asJob(o), now)),
    ageColumn,
    column('Containers', 'Names of the template\'s containers.', (o) => templateContainers(o).map((c) => c.name ?? '').join(','), { priority: 1 }),
    column('Images', 'Images of the template\'s containers.', (o) => templateContainers(o).map((c) => c.image ?? '').join(','), { priority: 1 }),
    column('Selector', 'Label selector of the Pods.', (o) => formatSelector(asJob(o).spec?.selector), { priority: 1 }),
  ],
  selectableFields: {
    'status.successful': (o) => String(asJob(o).status?.succeeded ?? 0),
  },
  applyDefaults(o) {
    const spec = asJob(o).spec;
    applyJobSpecDefaults(spec);
    generateSelector(spec, o.metadata.name, o.metadata.uid);
  },
  validate(o, old) {
    return validateJob(asJob(o).spec, old && asJob(old).spec, o.metadata.uid);
  },
  describe(o) {
    const j = asJob(o);
    const s = j.spec ?? {};
    const st = j.status ?? {};
    return [
      `Selector:          ${formatSelector(s.selector)}`,
      `Parallelism:       ${s.parallelism ?? 1}`,
      `Completions:       ${s.completions ?? '<unset>'}`,
      `Completion Mode:   ${s.completionMode ?? 'NonIndexed'}`,
      `Suspend:           ${s.suspend ?? false}`,
      `Backoff Limit:     ${s.backoffLimit ?? 6}`,
      ...(st.startTime ? [`Start Time:        ${st.startTime}`] : []),
      ...(st.completionTime ? [`Completed At:      ${st.completionTime}`] : []),
      `Pods Statuses:     ${st.active ?? 0} Active (${st.ready ?? 0} Ready) / ${st.succeeded ?? 0} Succeeded / ${st.failed ?? 0} Failed`,
      ...(st.conditions?.length ? ['Conditions:', ...st.conditions.map((c) => `  ${(c.type ?? '').padEnd(12)}${(c.status ?? '').padEnd(8)}${c.reason ?? ''}`)] : []),
    ];
  },
};
