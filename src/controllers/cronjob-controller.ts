// CronJobs: a Job from the template at each time of the schedule, as
// Kubernetes' cronjob controller does. Level-triggered with one timer per
// CronJob for its next time. The Job for a time is named after it
// (NAME-<minutes>), so a restart or a second control plane meets a 409
// instead of running it twice. After downtime only the latest missed time
// runs, and only if within startingDeadlineSeconds. concurrencyPolicy
// Forbid skips a time while a Job runs (it runs later if still within the
// deadline once that Job ends); Replace deletes the running Jobs first.
// Finished Jobs beyond the history limits are deleted (their Pods go through
// the garbage collector).
import type { KubeObject } from '../apis/types.js';
import type { CronJob, CronJobStatus, Job } from '../apis/batch/v1/names.js';
import { rfc3339 } from '../api/resources/clock.js';
import { sameJson } from './service-backends.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { cacheKey } from './runtime/informer.js';
import { WorkQueue } from './runtime/workqueue.js';
import { fireTimes, type FireTimes, type SetTimer } from './snapshot-schedule-controller.js';
import { controllingCronJob, finishedAtMs, jobFor, jobRef, overHistoryLimit, succeededJob } from './cronjob/cronjob-jobs.js';
import { serviceEventRecorder } from '../events/index.js';
import { finishedCondition } from '../apis/batch/v1/names.js';

const MANAGER = 'cronjob-controller';
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CronJobControllerOptions {
  /** The clock schedules are read on (default: the system clock). */
  now?: () => Date;
  /** Timer source for the next scheduled time (default: unref'd setTimeout). */
  setTimer?: SetTimer;
}

const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  t.unref();
  return () => clearTimeout(t);
};
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const codeOf = (e: unknown): number | undefined => (e as { code?: unknown } | null)?.code as number | undefined;
/** Go's time.RFC1123Z in UTC, as Kubernetes writes a missed time: "Mon, 02 Jan 2006 15:04:05 +0000". */
const rfc1123z = (ms: number): string => new Date(ms).toUTCString().replace('GMT', '+0000');

export async function runCronJobController(ctx: ControllerContext, o: CronJobControllerOptions = {}): Promise<void> {
  const cronType = ctx.registry.resource('batch', 'v1', 'cronjobs');
  const jobType = ctx.registry.resource('batch', 'v1', 'jobs');
  if (!cronType || !jobType) return;
  const now = (): number => (o.now ? o.now().getTime() : Date.now());
  const setTimer = o.setTimer ?? realTimer;
  const log = ctx.log.child({ controller: 'cronjob' });
  const cronJobs = ctx.informers.for(cronType);
  const jobs = ctx.informers.for(jobType);
  const queue = new WorkQueue();
  const recorder = serviceEventRecorder(ctx.svc, { component: MANAGER, log, signal: ctx.signal });

  /** CronJob uid → keys of its Jobs. */
  const owned = new Map<string, Set<string>>();
  const onJob = (j: KubeObject, gone: boolean): void => {
    const owner = controllingCronJob(j);
    if (!owner) return;
    let set = owned.get(owner.uid);
    if (gone) {
      set?.delete(cacheKey(j));
      if (set?.size === 0) owned.delete(owner.uid);
    } else {
      if (!set) owned.set(owner.uid, (set = new Set()));
      set.add(cacheKey(j));
    }
    queue.add(`${j.metadata.namespace}/${owner.name}`);
  };
  jobs.addHandlers({ onAdd: (j) => onJob(j, false), onUpdate: (_old, j) => onJob(j, false), onDelete: (j) => onJob(j, true) });
  cronJobs.addHandlers({ onAdd: (c) => queue.add(cacheKey(c)), onUpdate: (_old, c) => queue.add(cacheKey(c)), onDelete: (c) => queue.add(cacheKey(c)) });

  const timers = new Map<string, () => void>();
  const disarm = (key: string): void => {
    timers.get(key)?.();
    timers.delete(key);
  };
  ctx.signal.addEventListener('abort', () => {
    queue.stop();
    for (const cancel of timers.values()) cancel();
    timers.clear();
  });
  const aborted = new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
  await Promise.race([Promise.all([cronJobs.hasSynced, jobs.hasSynced]), aborted]);
  if (ctx.signal.aborted) return;
  /** Schedules cron-parser could not read, by key, each reported once. */
  const unreadable = new Map<string, string>();

  const deleteJob = async (cj: CronJob, j: Job, why: string): Promise<void> => {
    try {
      await ctx.svc.delete(jobType, String(j.metadata.namespace), String(j.metadata.name), { propagationPolicy: 'Background', preconditions: { uid: j.metadata.uid } });
      recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
      log.info(why, { namespace: j.metadata.namespace, job: j.metadata.name });
    } catch (e) {
      if (codeOf(e) !== 404 && codeOf(e) !== 409) throw e;
    }
  };

  const sync = async (key: string): Promise<void> => {
    const cj = cronJobs.cache.get(key) as CronJob | undefined;
    if (!cj || cj.metadata.deletionTimestamp) {
      disarm(key);
      return;
    }
    const spec = cj.spec ?? {};
    const ns = String(cj.metadata.namespace);
    const name = String(cj.metadata.name);
    const children = [...(owned.get(String(cj.metadata.uid)) ?? [])].map((k) => jobs.cache.get(k) as Job | undefined).filter((j): j is Job => j !== undefined && !j.metadata.deletionTimestamp);
    const active = children.filter((j) => finishedAtMs(j) === undefined);
    const finished = children.filter((j) => finishedAtMs(j) !== undefined);
    const status: CronJobStatus = { ...(cj.status ?? {}) };
    // A Job the status still lists as active has finished: Kubernetes says it saw that once, as the Job leaves the list.
    const listed = new Set((cj.status?.active ?? []).map((r) => r.uid));
    for (const j of finished.filter((j) => listed.has(j.metadata.uid))) recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${finishedCondition(j)?.type}`);
    for (const j of finished.filter(succeededJob)) {
      const t = finishedAtMs(j)!;
      if (!status.lastSuccessfulTime || Date.parse(status.lastSuccessfulTime) < t) status.lastSuccessfulTime = rfc3339(t);
    }

    const pruned = [
      ...overHistoryLimit(finished.filter(succeededJob), spec.successfulJobsHistoryLimit ?? 3),
      ...overHistoryLimit(finished.filter((j) => !succeededJob(j)), spec.failedJobsHistoryLimit ?? 1),
    ];
    for (const j of pruned) await deleteJob(cj, j, 'finished job deleted beyond the history limit');

    let running = active;
    const t = now();
    let times: FireTimes | undefined;
    try {
      times = spec.schedule ? fireTimes(spec.schedule, spec.timeZone ?? 'UTC') : undefined;
      unreadable.delete(key);
    } catch (e) {
      if (unreadable.get(key) !== spec.schedule) {
        unreadable.set(key, String(spec.schedule));
        log.warn('cronjob schedule not understood; no jobs', { namespace: ns, cronjob: name, schedule: spec.schedule, error: errorText(e) });
      }
    }
    if (!times || spec.suspend) disarm(key);
    else {
      const next = times.nextAfter(t);
      disarm(key);
      if (next !== undefined) timers.set(key, setTimer(() => queue.add(key), next - t));
      const latest = times.latestAtOrBefore(t);
      const since = Date.parse(status.lastScheduleTime ?? String(cj.metadata.creationTimestamp));
      const deadline = spec.startingDeadlineSeconds;
      const due = latest !== undefined && latest > since;
      const tooLate = due && deadline !== undefined && t - latest > deadline * 1000;
      if (due && tooLate) {
        recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(latest)}`);
        log.info('missed scheduled time skipped: past startingDeadlineSeconds', { namespace: ns, cronjob: name, scheduledTime: rfc3339(latest) });
      } else if (due && spec.concurrencyPolicy === 'Forbid' && running.length) {
        recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
        // Not recorded as scheduled: once the running Job ends, this time may still start within the deadline.
        log.info('scheduled time skipped: a job still runs and concurrencyPolicy is Forbid', { namespace: ns, cronjob: name, scheduledTime: rfc3339(latest) });
      } else if (due) {
        if (spec.concurrencyPolicy === 'Replace') {
          for (const j of running) await deleteJob(cj, j, 'running job replaced (concurrencyPolicy Replace)');
          running = [];
        }
        const job = jobFor(cj, latest);
        let created: Job | undefined;
        try {
          created = (await ctx.svc.create(jobType, ns, job, controllerWrite(MANAGER))).obj as Job;
          recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${job.metadata.name}`);
          log.info('scheduled job created', { namespace: ns, cronjob: name, job: job.metadata.name, scheduledTime: rfc3339(latest) });
        } catch (e) {
          // Created already, by an earlier run of this controller or another control plane.
          if (codeOf(e) !== 409) {
            recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errorText(e)}`);
            throw new Error(`creating job ${ns}/${job.metadata.name}: ${errorText(e)}`);
          }
        }
        if (created) running = [...running, created];
        status.lastScheduleTime = rfc3339(latest);
      }
    }

    const refs = running.map(jobRef).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    if (refs.length) status.active = refs;
    else delete status.active;
    if (!sameJson(cj.status ?? {}, status)) await ctx.svc.update(cronType, ns, name, { ...cj, status }, controllerWrite(MANAGER), 'status');
  };
  await queue.run(sync, (key, err) => log.warn('cronjob sync failed', { cronjob: key, error: errorText(err) }), 2);
  await recorder.flush();
}
