// The CronJob controller against the real resource service and store, with a
// fake clock and timer source (no test waits for a real minute) and no agent:
// Jobs are finished by writing their conditions as the Job controller would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rfc3339 } from '../../src/api/resources/clock.js';
import type { KubeObject } from '../../src/apis/types.js';
import type { CronJob } from '../../src/apis/batch/v1/names.js';
import { runCronJobController } from '../../src/controllers/cronjob-controller.js';
import type { SetTimer } from '../../src/controllers/snapshot-schedule-controller.js';
import { batchEnv, NS, settle, until, write, type BatchEnv } from './batch-env.js';
import { eventLines } from '../events/events-of.js';

const MIN = 60_000;

class FakeClock {
  timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  constructor(public t: number) {}
  now = (): Date => new Date(this.t);
  setTimer: SetTimer = (fn, ms) => {
    const e = { at: this.t + ms, fn, live: true };
    this.timers.push(e);
    return () => {
      e.live = false;
    };
  };
  advanceTo(t: number): void {
    this.t = t;
    const due = this.timers.filter((e) => e.live && e.at <= t);
    this.timers = this.timers.filter((e) => e.live && e.at > t);
    for (const e of due) e.fn();
  }
}

function cronBody(name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: NS },
    spec: { ...spec, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } } } },
  };
}

const jobsOf = async (env: BatchEnv, cj: string): Promise<string[]> =>
  (await env.list(env.jobs)).filter((j) => j.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === cj)).map((j) => String(j.metadata.name));
const nextMinute = (t: number): number => Math.floor(t / MIN) * MIN + MIN;

/** Write a Job's finished condition, as the Job controller does. */
async function finishJob(env: BatchEnv, name: string, type: 'Complete' | 'Failed', at: number): Promise<void> {
  const j = (await env.svc.get(env.jobs, NS, name)).obj;
  const status = { startTime: rfc3339(at - 1000), ...(type === 'Complete' ? { completionTime: rfc3339(at), succeeded: 1 } : { failed: 1 }), conditions: [{ type, status: 'True', lastTransitionTime: rfc3339(at) }] };
  await env.svc.update(env.jobs, NS, name, { ...j, status }, write, 'status');
}

test('validation and defaults', async () => {
  const env = await batchEnv();
  try {
    const c = (await env.svc.create(env.cronJobs, NS, cronBody('ok', { schedule: '*/5 * * * *' }), write)).obj as CronJob;
    assert.equal(c.spec?.concurrencyPolicy, 'Allow');
    assert.equal(c.spec?.successfulJobsHistoryLimit, 3);
    assert.equal(c.spec?.failedJobsHistoryLimit, 1);
    assert.equal(c.spec?.jobTemplate?.spec?.backoffLimit, 6);
    await assert.rejects(env.svc.create(env.cronJobs, NS, cronBody('bad', { schedule: '61 * * * *' }), write), /spec\.schedule/);
    await assert.rejects(env.svc.create(env.cronJobs, NS, cronBody('tz', { schedule: '* * * * *', timeZone: 'Mars/Base' }), write), /spec\.timeZone/);
    await assert.rejects(env.svc.create(env.cronJobs, NS, cronBody('x'.repeat(53), { schedule: '* * * * *' }), write), /metadata\.name/);
  } finally {
    await env.close();
  }
});

test('a Job per scheduled time named NAME-<minutes>; Forbid skips while one runs; history limits', async () => {
  const env = await batchEnv();
  try {
    const clock = new FakeClock(Date.now());
    await env.svc.create(env.cronJobs, NS, cronBody('tick', { schedule: '* * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 1 }), write);
    const ctl = env.start((ctx) => runCronJobController(ctx, { now: clock.now, setTimer: clock.setTimer }));
    await settle();
    assert.deepEqual(await jobsOf(env, 'tick'), [], 'nothing before the first time');
    const t1 = nextMinute(clock.t);
    clock.advanceTo(t1);
    await until('the first job', async () => (await jobsOf(env, 'tick')).length === 1);
    assert.deepEqual(await jobsOf(env, 'tick'), [`tick-${t1 / MIN}`]);
    const job = (await env.get(env.jobs, `tick-${t1 / MIN}`))!;
    assert.equal(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], rfc3339(t1));
    const cj = await until('status', async () => {
      const c = (await env.get(env.cronJobs, 'tick')) as CronJob;
      return c.status?.active?.length === 1 && c;
    });
    assert.equal(cj.status?.lastScheduleTime, rfc3339(t1));

    // Forbid: the next time is skipped while the first Job runs.
    clock.advanceTo(t1 + MIN);
    await settle();
    assert.deepEqual(await jobsOf(env, 'tick'), [`tick-${t1 / MIN}`]);
    // It was not recorded as scheduled: once the first Job ends, the skipped time still runs (no startingDeadlineSeconds).
    await finishJob(env, `tick-${t1 / MIN}`, 'Complete', t1 + MIN + 10_000);
    await until('the skipped time runs', async () => (await jobsOf(env, 'tick')).includes(`tick-${t1 / MIN + 1}`));
    await finishJob(env, `tick-${t1 / MIN + 1}`, 'Complete', t1 + MIN + 20_000);
    clock.advanceTo(t1 + 2 * MIN);
    await until('the third time runs', async () => (await jobsOf(env, 'tick')).includes(`tick-${t1 / MIN + 2}`));
    await finishJob(env, `tick-${t1 / MIN + 2}`, 'Complete', t1 + 2 * MIN + 10_000);
    // One successful Job is kept: the older goes.
    await until('history limit', async () => (await jobsOf(env, 'tick')).join() === `tick-${t1 / MIN + 2}`);
    const done = await until('lastSuccessfulTime', async () => {
      const c = (await env.get(env.cronJobs, 'tick')) as CronJob;
      return !c.status?.active && c;
    });
    assert.equal(done.status?.lastSuccessfulTime, rfc3339(t1 + 2 * MIN + 10_000));
    const first = `tick-${t1 / MIN}`;
    const wanted = [
      `Normal SuccessfulCreate: Created job ${first}`,
      'Normal JobAlreadyActive: Not starting job because prior execution is running and concurrency policy is Forbid',
      `Normal SawCompletedJob: Saw completed job: ${first}, condition: Complete`,
      `Normal SuccessfulDelete: Deleted job ${first}`,
    ];
    await until('events', async () => {
      const lines = await eventLines(env.svc, done.metadata.uid);
      return wanted.every((w) => lines.includes(w));
    });
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('Replace deletes the running Job; after downtime only the latest missed time runs, within startingDeadlineSeconds', async () => {
  const env = await batchEnv();
  try {
    const clock = new FakeClock(Date.now());
    await env.svc.create(env.cronJobs, NS, cronBody('swap', { schedule: '* * * * *', concurrencyPolicy: 'Replace' }), write);
    await env.svc.create(env.cronJobs, NS, cronBody('late', { schedule: '* * * * *', startingDeadlineSeconds: 30 }), write);
    let ctl = env.start((ctx) => runCronJobController(ctx, { now: clock.now, setTimer: clock.setTimer }));
    const t1 = nextMinute(clock.t);
    clock.advanceTo(t1);
    await until('first swap job', async () => (await jobsOf(env, 'swap')).length === 1);
    clock.advanceTo(t1 + MIN);
    await until('replaced', async () => (await jobsOf(env, 'swap')).join() === `swap-${t1 / MIN + 1}`);
    await ctl.stop();

    // Down for five minutes: on restart, one Job for the latest time only, and only if not later than the deadline.
    await until('late has its first job', async () => (await jobsOf(env, 'late')).length >= 1);
    const before = await jobsOf(env, 'late');
    clock.advanceTo(t1 + 6 * MIN + 45_000);
    ctl = env.start((ctx) => runCronJobController(ctx, { now: clock.now, setTimer: clock.setTimer }));
    await settle();
    assert.deepEqual(await jobsOf(env, 'late'), before, 'missed by 45 s > 30 s deadline: skipped');
    const swapNow = await until('swap catches up with the latest time', async () => {
      const l = await jobsOf(env, 'swap');
      return l.join() === `swap-${t1 / MIN + 6}` && l;
    });
    assert.equal(swapNow.length, 1);
    await ctl.stop();
  } finally {
    await env.close();
  }
});
