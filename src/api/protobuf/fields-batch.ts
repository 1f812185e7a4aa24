// Protobuf field numbers of k8s.io/api batch/v1 messages (the Go structs'
// protobuf tags), so `kubectl create job` and `kubectl create cronjob`,
// which send protobuf for built-in kinds, are understood.
import type { PackageTables } from './tables.js';

export const batchV1: PackageTables = {
  prefix: 'io.k8s.api.batch.v1',
  fields: {
    Job: { metadata: 1, spec: 2, status: 3 },
    JobSpec: { parallelism: 1, completions: 2, activeDeadlineSeconds: 3, selector: 4, manualSelector: 5, template: 6, backoffLimit: 7, ttlSecondsAfterFinished: 8, completionMode: 9, suspend: 10 },
    JobStatus: { conditions: 1, startTime: 2, completionTime: 3, active: 4, succeeded: 5, failed: 6, completedIndexes: 7, uncountedTerminatedPods: 8, ready: 9, terminating: 11 },
    JobCondition: { type: 1, status: 2, lastProbeTime: 3, lastTransitionTime: 4, reason: 5, message: 6 },
    UncountedTerminatedPods: { succeeded: 1, failed: 2 },
    CronJob: { metadata: 1, spec: 2, status: 3 },
    CronJobSpec: { schedule: 1, startingDeadlineSeconds: 2, concurrencyPolicy: 3, suspend: 4, jobTemplate: 5, successfulJobsHistoryLimit: 6, failedJobsHistoryLimit: 7, timeZone: 8 },
    CronJobStatus: { active: 1, lastScheduleTime: 4, lastSuccessfulTime: 5 },
    JobTemplateSpec: { metadata: 1, spec: 2 },
  },
  keepZero: {
    JobSpec: ['parallelism', 'completions', 'activeDeadlineSeconds', 'manualSelector', 'backoffLimit', 'ttlSecondsAfterFinished', 'suspend'],
    JobStatus: ['ready', 'terminating'],
    JobCondition: ['type', 'status'],
    CronJobSpec: ['schedule', 'startingDeadlineSeconds', 'suspend', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'],
  },
};
