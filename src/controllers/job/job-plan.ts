// One Job sync as a pure function: from the Job, the Pods it owns and the
// time, what its status should be and what to do (Pods to create or delete,
// when to look again, whether its time to live is over). No I/O, so the
// rules are read (and tested) in one place.
import type { Condition, Pod } from '../../apis/core/v1/types.js';
import { finishedCondition, trueCondition, type Job, type JobStatus } from '../../apis/batch/v1/names.js';
import { rfc3339 } from '../../api/resources/clock.js';
import { finishedAt, formatIndexes, isReady, podIndex, restarts, sortPods } from './job-pods.js';

export interface JobTiming {
  /** First retry delay after a failure, doubling with each further failure (Kubernetes: 10 s). */
  backoffBaseMs: number;
  /** The longest retry delay (Kubernetes: 6 minutes). */
  backoffMaxMs: number;
}

export interface JobPlan {
  status: JobStatus;
  /** New Pods: `undefined` entries for NonIndexed Jobs, else the indexes. */
  create: Array<number | undefined>;
  delete: Pod[];
  /** Look again after this many ms (deadline, back-off, time to live). */
  requeueAfterMs?: number;
  /** The Job's time to live is over: delete it. */
  deleteJob: boolean;
}

function setCondition(conds: Condition[], type: string, status: string, reason: string, message: string, now: number): Condition[] {
  const old = conds.find((c) => c.type === type);
  const kept = old && old.status === status ? old.lastTransitionTime : undefined;
  const next: Condition = { type, status, reason, message, lastTransitionTime: kept ?? rfc3339(now) };
  return old ? conds.map((c) => (c === old ? next : c)) : [...conds, next];
}

/** When the Job finished: completionTime, else when it Failed. */
function finishTime(job: Job, status: JobStatus): number | undefined {
  const t = status.completionTime ?? finishedCondition({ ...job, status })?.lastTransitionTime;
  return t ? Date.parse(t) : undefined;
}

function ttlStep(job: Job, status: JobStatus, now: number, plan: JobPlan): void {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  const done = finishTime(job, status);
  if (ttl === undefined || done === undefined) return;
  const left = done + ttl * 1000 - now;
  if (left <= 0) plan.deleteJob = true;
  else plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, left);
}

export function planJob(job: Job, pods: Pod[], now: number, timing: JobTiming): JobPlan {
  const spec = job.spec ?? {};
  const sorted = sortPods(pods);
  const indexed = spec.completionMode === 'Indexed';
  const completions = spec.completions;
  const succeededIndexes = indexed ? sorted.succeeded.map((p) => podIndex(p, completions ?? 0)).filter((i): i is number => i !== undefined) : [];
  const succeeded = indexed ? new Set(succeededIndexes).size : sorted.succeeded.length;
  const status: JobStatus = {
    ...(job.status ?? {}),
    active: sorted.active.length,
    ready: sorted.active.filter(isReady).length,
    succeeded,
    failed: sorted.failed.length,
    terminating: sorted.terminating.length,
  };
  if (indexed) status.completedIndexes = formatIndexes(succeededIndexes);
  const plan: JobPlan = { status, create: [], delete: [], deleteJob: false };
  let conds = [...(status.conditions ?? [])];
  const finish = (type: 'Complete' | 'Failed', reason: string, message: string): JobPlan => {
    conds = setCondition(conds, type, 'True', reason, message, now);
    status.conditions = conds;
    if (type === 'Complete') status.completionTime = rfc3339(now);
    // A finished Job runs nothing: whatever still runs is stopped.
    plan.delete = sorted.active;
    ttlStep(job, status, now, plan);
    return plan;
  };

  if (finishedCondition(job)) {
    plan.delete = sorted.active;
    ttlStep(job, status, now, plan);
    return plan;
  }

  if (spec.suspend) {
    if (!trueCondition(job, 'Suspended')) conds = setCondition(conds, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
    status.conditions = conds;
    // A suspended Job's clock stops: the deadline counts from when it resumes.
    delete status.startTime;
    plan.delete = sorted.active;
    return plan;
  }
  if (trueCondition(job, 'Suspended')) conds = setCondition(conds, 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
  if (conds.length) status.conditions = conds;
  status.startTime ??= rfc3339(now);

  const onFailure = spec.template?.spec?.restartPolicy === 'OnFailure';
  const failures = sorted.failed.length + (onFailure ? sorted.active.reduce((n, p) => n + restarts(p), 0) : 0);
  if (failures > (spec.backoffLimit ?? 6)) return finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
  const deadline = spec.activeDeadlineSeconds;
  if (deadline !== undefined) {
    const left = Date.parse(status.startTime) + deadline * 1000 - now;
    if (left <= 0) return finish('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
    plan.requeueAfterMs = left;
  }

  const parallelism = spec.parallelism ?? 1;
  let wanted: Array<number | undefined>;
  if (indexed) {
    const busy = new Set([...succeededIndexes, ...sorted.active.map((p) => podIndex(p, completions ?? 0))]);
    if (succeeded >= (completions ?? 0)) return finish('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
    const free = Array.from({ length: completions ?? 0 }, (_, i) => i).filter((i) => !busy.has(i));
    wanted = free.slice(0, Math.max(0, parallelism - sorted.active.length));
  } else if (completions !== undefined) {
    if (succeeded >= completions) return finish('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
    const want = Math.min(parallelism, completions - succeeded);
    if (sorted.active.length > want) plan.delete = sorted.active.slice(want);
    wanted = Array.from({ length: Math.max(0, want - sorted.active.length) }, () => undefined);
  } else {
    // The work-queue pattern: once one Pod succeeded no new ones start; the Job completes when the rest are done.
    if (succeeded > 0 && sorted.active.length === 0) return finish('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
    wanted = succeeded > 0 ? [] : Array.from({ length: Math.max(0, parallelism - sorted.active.length) }, () => undefined);
  }

  if (wanted.length) {
    // Failures since the last success delay the next Pods: base, doubling, capped.
    const lastSuccess = Math.max(-Infinity, ...sorted.succeeded.map(finishedAt));
    const recent = sorted.failed.map(finishedAt).filter((t) => t > lastSuccess);
    if (recent.length) {
      const delay = Math.min(timing.backoffMaxMs, timing.backoffBaseMs * 2 ** (recent.length - 1));
      const left = Math.max(...recent) + delay - now;
      if (left > 0) {
        plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, left);
        wanted = [];
      }
    }
  }
  plan.create = wanted;
  return plan;
}
