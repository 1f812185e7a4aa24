// Jobs: run Pods from the template until enough succeed, as Kubernetes' job
// controller does — parallelism, completions (NonIndexed and Indexed),
// backoffLimit with exponential back-off between retries, activeDeadlineSeconds,
// suspend, ttlSecondsAfterFinished — and write the Job's status.
//
// Counting: succeeded and failed are counted from the Pods the Job owns (its
// controller ownerReference), every sync, not incremented per event. A restart
// of this controller (or a second one) therefore never counts a Pod twice, and
// needs no finalizer on the Pods. The price: a finished Pod deleted by hand
// leaves the counts. Kubernetes guards against that with the
// batch.kubernetes.io/job-tracking finalizer and uncountedTerminatedPods; Lodge
// keeps finished Pods until the Job goes (the garbage collector takes them with
// it), so the counts hold unless someone deletes finished Pods themselves.
import type { Pod } from '../apis/core/v1/types.js';
import type { KubeObject } from '../apis/types.js';
import type { Job, JobStatus } from '../apis/batch/v1/names.js';
import { sameJson } from './service-backends.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { cacheKey } from './runtime/informer.js';
import { WorkQueue } from './runtime/workqueue.js';
import { Expectations } from './job/expectations.js';
import { controllingJob, podFor } from './job/job-pods.js';
import { planJob, type JobTiming } from './job/job-plan.js';
import { serviceEventRecorder, type EventRecorder } from '../events/index.js';

const MANAGER = 'job-controller';

export interface JobControllerOptions extends Partial<JobTiming> {
  /** The clock deadlines, back-off and time to live are measured on (default: the system clock). */
  now?: () => number;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const codeOf = (e: unknown): number | undefined => (e as { code?: unknown } | null)?.code as number | undefined;

export async function runJobController(ctx: ControllerContext, o: JobControllerOptions = {}): Promise<void> {
  const jobType = ctx.registry.resource('batch', 'v1', 'jobs');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  if (!jobType || !podType) return;
  const timing: JobTiming = { backoffBaseMs: o.backoffBaseMs ?? 10_000, backoffMaxMs: o.backoffMaxMs ?? 360_000 };
  const now = o.now ?? Date.now;
  const log = ctx.log.child({ controller: 'job' });
  const jobs = ctx.informers.for(jobType);
  const pods = ctx.informers.for(podType);
  const queue = new WorkQueue();
  const expectations = new Expectations();
  const recorder = serviceEventRecorder(ctx.svc, { component: MANAGER, log, signal: ctx.signal });

  /** Job uid → keys of the Pods it controls: an index instead of scanning every Pod per sync. */
  const owned = new Map<string, Set<string>>();
  const ownerKey = (p: KubeObject): { key: string; uid: string } | undefined => {
    const j = controllingJob(p);
    return j ? { key: `${p.metadata.namespace}/${j.name}`, uid: j.uid } : undefined;
  };
  const onPod = (p: KubeObject, gone: boolean): void => {
    const owner = ownerKey(p);
    if (!owner) return;
    const podKey = cacheKey(p);
    let set = owned.get(owner.uid);
    if (gone) {
      set?.delete(podKey);
      if (set?.size === 0) owned.delete(owner.uid);
    } else {
      if (!set) owned.set(owner.uid, (set = new Set()));
      set.add(podKey);
    }
    // Seen created, or seen going: what this controller did has reached the cache.
    expectations.observed(owner.key, podKey, gone || p.metadata.deletionTimestamp !== undefined);
    queue.add(owner.key);
  };
  pods.addHandlers({ onAdd: (p) => onPod(p, false), onUpdate: (_old, p) => onPod(p, false), onDelete: (p) => onPod(p, true) });
  const enqueueJob = (j: KubeObject): void => queue.add(cacheKey(j));
  jobs.addHandlers({
    onAdd: enqueueJob,
    onUpdate: (_old, j) => enqueueJob(j),
    onDelete: (j) => {
      expectations.forget(cacheKey(j));
      enqueueJob(j);
    },
  });
  ctx.signal.addEventListener('abort', () => queue.stop());
  const aborted = new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
  await Promise.race([Promise.all([jobs.hasSynced, pods.hasSynced]), aborted]);
  if (ctx.signal.aborted) return;

  const sync = async (key: string): Promise<void> => {
    const job = jobs.cache.get(key) as Job | undefined;
    if (!job || job.metadata.deletionTimestamp) return;
    // Our last creates and deletes are not all in the cache yet: their informer events bring the key back.
    if (!expectations.satisfied(key)) return;
    const ns = String(job.metadata.namespace);
    const name = String(job.metadata.name);
    const mine = [...(owned.get(String(job.metadata.uid)) ?? [])].map((k) => pods.cache.get(k)).filter((p): p is Pod => p !== undefined);
    const plan = planJob(job, mine, now(), timing);

    if (plan.deleteJob) {
      try {
        await ctx.svc.delete(jobType, ns, name, { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } });
        log.info('finished job deleted after its time to live', { namespace: ns, job: name, ttlSecondsAfterFinished: job.spec?.ttlSecondsAfterFinished });
      } catch (e) {
        if (codeOf(e) !== 404 && codeOf(e) !== 409) throw e;
      }
      return;
    }

    for (const p of plan.delete) {
      expectations.expect(key, cacheKey(p), true);
      try {
        await ctx.svc.delete(podType, ns, String(p.metadata.name), { preconditions: { uid: p.metadata.uid } });
        recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (e) {
        expectations.observed(key, cacheKey(p), true);
        if (codeOf(e) !== 404 && codeOf(e) !== 409) throw e;
      }
    }
    for (const index of plan.create) {
      let created;
      try {
        created = await ctx.svc.create(podType, ns, podFor(job, index), controllerWrite(MANAGER));
      } catch (e) {
        recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${errorText(e)}`);
        throw e;
      }
      // Expected before anything else awaits: the informer may deliver the new Pod at the next tick.
      expectations.expect(key, cacheKey(created.obj), false);
      recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.obj.metadata.name}`);
      log.info('job pod created', { namespace: ns, job: name, pod: created.obj.metadata.name, ...(index !== undefined ? { index } : {}) });
    }

    if (!sameJson(job.status ?? {}, plan.status)) {
      // Pinned to the cached resourceVersion: a stale cache fails here and the key is synced again.
      await ctx.svc.update(jobType, ns, name, { ...job, status: plan.status }, controllerWrite(MANAGER), 'status');
      conditionEvents(recorder, job, plan.status);
      const finished = plan.status.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      const wasFinished = job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (finished && !wasFinished) log.info('job finished', { namespace: ns, job: name, condition: finished.type, reason: finished.reason, succeeded: plan.status.succeeded, failed: plan.status.failed });
    }
    if (plan.requeueAfterMs !== undefined) queue.addAfter(key, plan.requeueAfterMs);
  };
  await queue.run(sync, (key, err) => log.warn('job sync failed', { job: key, error: errorText(err) }), 2);
  await recorder.flush();
}

/** The events of a status just written, as Kubernetes' job controller reports them: finished (Completed, or the failure's reason), suspended, resumed. */
function conditionEvents(recorder: EventRecorder, job: Job, next: JobStatus): void {
  const was = (type: string | undefined): string | undefined => job.status?.conditions?.find((c) => c.type === type)?.status;
  for (const c of next.conditions ?? []) {
    if (c.status === was(c.type)) continue;
    if (c.type === 'Complete' && c.status === 'True') recorder.event(job, 'Normal', 'Completed', 'Job completed');
    else if (c.type === 'Failed' && c.status === 'True') recorder.event(job, 'Warning', String(c.reason ?? 'Failed'), String(c.message ?? ''));
    else if (c.type === 'Suspended' && c.status === 'True') recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
    else if (c.type === 'Suspended' && c.status === 'False' && was(c.type) === 'True') recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
  }
}
