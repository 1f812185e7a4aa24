// The Jobs of a CronJob: their names, how one is made from the template (by
// the controller, and by `kubectl create job --from=cronjob/NAME` client-side),
// and which of them are finished, for status and history limits.
import type { KubeObject } from '../../apis/types.js';
import { finishedCondition, trueCondition, type CronJob, type Job, type ObjectRef } from '../../apis/batch/v1/names.js';
import { rfc3339 } from '../../api/resources/clock.js';

export const CRONJOB_API_VERSION = 'batch/v1';
/** The scheduled time a Job was created for, as Kubernetes annotates it. */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** NAME-<minutes since the epoch of the scheduled time>: the same on every controller, so a time is never run twice. */
export const scheduledJobName = (cronJob: string, scheduledMs: number): string => `${cronJob}-${Math.floor(scheduledMs / 60_000)}`;

export function controllingCronJob(o: KubeObject): { name: string; uid: string } | undefined {
  const r = o.metadata.ownerReferences?.find((ref) => ref.controller === true && ref.kind === 'CronJob' && ref.apiVersion === CRONJOB_API_VERSION);
  return r ? { name: r.name, uid: r.uid } : undefined;
}

export function jobFor(cj: CronJob, scheduledMs: number): Job {
  const t = structuredClone(cj.spec?.jobTemplate ?? {});
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: scheduledJobName(String(cj.metadata.name), scheduledMs),
      namespace: cj.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339(scheduledMs) },
      ownerReferences: [{ apiVersion: CRONJOB_API_VERSION, kind: 'CronJob', name: String(cj.metadata.name), uid: String(cj.metadata.uid), controller: true, blockOwnerDeletion: true }],
    },
    spec: t.spec ?? {},
  };
}

export const jobRef = (j: Job): ObjectRef => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  namespace: j.metadata.namespace,
  name: j.metadata.name,
  uid: j.metadata.uid,
});

/** When a Job finished (its finished condition's transition, or completionTime), else undefined. */
export function finishedAtMs(j: Job): number | undefined {
  const c = finishedCondition(j);
  if (!c) return undefined;
  const t = Date.parse(j.status?.completionTime ?? c.lastTransitionTime ?? String(j.metadata.creationTimestamp));
  return Number.isNaN(t) ? undefined : t;
}

export const succeededJob = (j: Job): boolean => trueCondition(j, 'Complete') !== undefined;

/** Finished Jobs beyond the limit, oldest first (by start, as Kubernetes orders them). */
export function overHistoryLimit(finished: Job[], limit: number): Job[] {
  const startOf = (j: Job): number => Date.parse(j.status?.startTime ?? String(j.metadata.creationTimestamp));
  const sorted = [...finished].sort((a, b) => startOf(a) - startOf(b) || String(a.metadata.name).localeCompare(String(b.metadata.name)));
  return sorted.slice(0, Math.max(0, sorted.length - limit));
}
