// batch/v1 names shared by Jobs, CronJobs and their controllers.
import type { Condition, PodTemplateSpec, LabelSelector } from '../../core/v1/types.js';
import type { KubeObject } from '../../types.js';

export const BATCH = 'io.k8s.api.batch.v1';
export const batch = (name: string): string => `${BATCH}.${name}`;
export const batchGVK = (kind: string): { group: string; version: string; kind: string } => ({ group: 'batch', version: 'v1', kind });

/** The labels Kubernetes puts on a Job's Pods (and in its generated selector); the unprefixed ones are the legacy pair kept for old selectors. */
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
/** An Indexed Job's Pods carry their index as an annotation and label (and the env JOB_COMPLETION_INDEX). */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

export type JobSpec = {
  parallelism?: number;
  completions?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend?: boolean;
  manualSelector?: boolean;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
};

export type JobStatus = {
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  startTime?: string;
  completionTime?: string;
  completedIndexes?: string;
  conditions?: Condition[];
};

export type Job = KubeObject & { spec?: JobSpec; status?: JobStatus };

export type CronJobSpec = {
  schedule?: string;
  timeZone?: string;
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  suspend?: boolean;
  startingDeadlineSeconds?: number;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  jobTemplate?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: JobSpec };
};

export type ObjectRef = { apiVersion?: string; kind?: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string };

export type CronJobStatus = { active?: ObjectRef[]; lastScheduleTime?: string; lastSuccessfulTime?: string };

export type CronJob = KubeObject & { spec?: CronJobSpec; status?: CronJobStatus };

/** The condition of `type` that is True, if any. */
export function trueCondition(job: Job, type: string): Condition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Complete or Failed: a finished Job never runs again. */
export function finishedCondition(job: Job): Condition | undefined {
  return trueCondition(job, 'Complete') ?? trueCondition(job, 'Failed');
}
