// The Job controller against the real resource service and store, no agent:
// the tests finish Pods as an agent would and check the Pods created and the
// Job's status and conditions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../src/apis/types.js';
import type { Job } from '../../src/apis/batch/v1/names.js';
import { runJobController } from '../../src/controllers/job-controller.js';
import { runGarbageCollector } from '../../src/controllers/garbage-collector.js';
import { eventLines } from '../events/events-of.js';
import { batchEnv, finishPod, jobBody, NS, settle, until, write, type BatchEnv } from './batch-env.js';

const fast = { backoffBaseMs: 20, backoffMaxMs: 100 };
const podsOf = async (env: BatchEnv, job: string): Promise<KubeObject[]> =>
  (await env.list(env.pods)).filter((p) => p.metadata.ownerReferences?.some((r) => r.kind === 'Job' && r.name === job));
const activeOf = async (env: BatchEnv, job: string): Promise<KubeObject[]> =>
  (await podsOf(env, job)).filter((p) => !['Succeeded', 'Failed'].includes(String((p.status as { phase?: string } | undefined)?.phase)) && !p.metadata.deletionTimestamp);
const jobOf = async (env: BatchEnv, name: string): Promise<Job> => (await env.get(env.jobs, name)) as Job;
const condition = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type && c.status === 'True');

test('defaults, generated selector and labels, and validation naming the field', async () => {
  const env = await batchEnv();
  try {
    const j = (await env.svc.create(env.jobs, NS, jobBody('plain', {}), write)).obj as Job;
    const uid = String(j.metadata.uid);
    assert.equal(j.spec?.completions, 1);
    assert.equal(j.spec?.parallelism, 1);
    assert.equal(j.spec?.backoffLimit, 6);
    assert.equal(j.spec?.completionMode, 'NonIndexed');
    assert.deepEqual(j.spec?.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    assert.deepEqual(j.spec?.template?.metadata?.labels, { 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid, 'batch.kubernetes.io/job-name': 'plain', 'job-name': 'plain' });
    await assert.rejects(env.svc.create(env.jobs, NS, jobBody('always', {}, 'Always'), write), /spec\.template\.spec\.restartPolicy[\s\S]*Unsupported value: "Always"/);
    await assert.rejects(env.svc.create(env.jobs, NS, jobBody('neg', { backoffLimit: -1 }), write), /spec\.backoffLimit/);
    await assert.rejects(env.svc.create(env.jobs, NS, jobBody('idx', { completionMode: 'Indexed', parallelism: 2 }), write), /spec\.completions[\s\S]*Required value/);
    await assert.rejects(env.svc.create(env.jobs, NS, { ...jobBody('sel', {}), spec: { ...jobBody('sel', {}).spec, selector: { matchLabels: { a: 'b' } } } }, write), /spec\.selector/);
    // The template is immutable.
    await assert.rejects(env.svc.patch(env.jobs, NS, 'plain', 'merge', { spec: { template: { spec: { containers: [{ name: 'main', image: 'other' }] } } } }, { ...write, force: false }), /spec\.template[\s\S]*field is immutable/);
  } finally {
    await env.close();
  }
});

test('completions and parallelism: Pods up to parallelism while completions remain, then Complete', async () => {
  const env = await batchEnv();
  try {
    const ctl = env.start((ctx) => runJobController(ctx, fast));
    await env.svc.create(env.jobs, NS, jobBody('work', { completions: 3, parallelism: 2 }), write);
    const first = await until('two pods', async () => ((await podsOf(env, 'work')).length === 2 ? podsOf(env, 'work') : false));
    await settle();
    assert.equal((await podsOf(env, 'work')).length, 2, 'no more than parallelism');
    const labels = first[0].metadata.labels ?? {};
    assert.equal(labels['batch.kubernetes.io/job-name'], 'work');
    assert.match(String(first[0].metadata.name), /^work-[a-z0-9]{5}$/);
    assert.equal(first[0].metadata.ownerReferences?.[0].controller, true);
    await until('status active 2', async () => (await jobOf(env, 'work')).status?.active === 2);
    assert.ok((await jobOf(env, 'work')).status?.startTime);

    await finishPod(env, first[0], 0);
    await finishPod(env, first[1], 0);
    // One completion remains: one more Pod, not two.
    await until('the third pod', async () => (await podsOf(env, 'work')).length === 3);
    await settle();
    assert.equal((await podsOf(env, 'work')).length, 3);
    const third = (await activeOf(env, 'work'))[0];
    await finishPod(env, third, 0);
    const done = await until('Complete', async () => {
      const j = await jobOf(env, 'work');
      return condition(j, 'Complete') ? j : false;
    });
    assert.equal(done.status?.succeeded, 3);
    assert.equal(done.status?.active, 0);
    assert.ok(done.status?.completionTime);
    assert.equal(condition(done, 'Complete')?.reason, 'CompletionsReached');
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('backoffLimit: failures are retried after a back-off, then the Job fails with BackoffLimitExceeded', async () => {
  const env = await batchEnv();
  try {
    const ctl = env.start((ctx) => runJobController(ctx, fast));
    await env.svc.create(env.jobs, NS, jobBody('flaky', { backoffLimit: 1 }), write);
    for (let n = 1; n <= 2; n++) {
      const [pod] = await until(`pod ${n}`, async () => {
        const a = await activeOf(env, 'flaky');
        return a.length === 1 && (await podsOf(env, 'flaky')).length === n && a;
      });
      await finishPod(env, pod, 1);
    }
    const failed = await until('Failed', async () => {
      const j = await jobOf(env, 'flaky');
      return condition(j, 'Failed') ? j : false;
    });
    assert.equal(condition(failed, 'Failed')?.reason, 'BackoffLimitExceeded');
    await until('events', async () => {
      const lines = await eventLines(env.svc, failed.metadata.uid);
      return lines.includes('Warning BackoffLimitExceeded: Job has reached the specified backoff limit') && lines.filter((l) => l.startsWith('Normal SuccessfulCreate: Created pod: flaky-')).length === 2;
    });
    assert.equal(failed.status?.failed, 2);
    await settle();
    assert.equal((await podsOf(env, 'flaky')).length, 2, 'no retry after the limit');
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('activeDeadlineSeconds fails the Job and stops its Pods; suspend stops and resumes', async () => {
  const env = await batchEnv();
  try {
    const ctl = env.start((ctx) => runJobController(ctx, fast));
    await env.svc.create(env.jobs, NS, jobBody('slow', { activeDeadlineSeconds: 1 }), write);
    await until('a pod', async () => (await podsOf(env, 'slow')).length === 1);
    const failed = await until('DeadlineExceeded', async () => {
      const j = await jobOf(env, 'slow');
      return condition(j, 'Failed') ? j : false;
    });
    assert.equal(condition(failed, 'Failed')?.reason, 'DeadlineExceeded');
    await until('its pod deleted', async () => (await podsOf(env, 'slow')).length === 0);

    await env.svc.create(env.jobs, NS, jobBody('held', { suspend: true, parallelism: 2, completions: 2 }), write);
    const held = await until('Suspended', async () => {
      const j = await jobOf(env, 'held');
      return condition(j, 'Suspended') ? j : false;
    });
    assert.equal(condition(held, 'Suspended')?.reason, 'JobSuspended');
    assert.equal(held.status?.startTime, undefined);
    assert.equal((await podsOf(env, 'held')).length, 0);
    await env.svc.patch(env.jobs, NS, 'held', 'merge', { spec: { suspend: false } }, { ...write, force: false });
    await until('two pods after resuming', async () => (await activeOf(env, 'held')).length === 2);
    const resumed = await jobOf(env, 'held');
    assert.equal(resumed.status?.conditions?.find((c) => c.type === 'Suspended')?.status, 'False');
    await env.svc.patch(env.jobs, NS, 'held', 'merge', { spec: { suspend: true } }, { ...write, force: false });
    await until('pods stopped when suspended again', async () => (await podsOf(env, 'held')).length === 0);
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('ttlSecondsAfterFinished deletes the Job and the garbage collector its Pods', async () => {
  const env = await batchEnv();
  try {
    const ctl = env.start((ctx) => runJobController(ctx, fast));
    const gc = env.start((ctx) => runGarbageCollector(ctx));
    await env.svc.create(env.jobs, NS, jobBody('brief', { ttlSecondsAfterFinished: 0 }), write);
    const [pod] = await until('a pod', async () => {
      const p = await podsOf(env, 'brief');
      return p.length === 1 && p;
    });
    await finishPod(env, pod, 0);
    await until('the job deleted', async () => (await env.get(env.jobs, 'brief')) === undefined);
    await until('its pod collected', async () => (await podsOf(env, 'brief')).length === 0);
    await ctl.stop();
    await gc.stop();
  } finally {
    await env.close();
  }
});

test('a restarted controller counts from the Pods: no double counting, no extra Pods', async () => {
  const env = await batchEnv();
  try {
    let ctl = env.start((ctx) => runJobController(ctx, fast));
    await env.svc.create(env.jobs, NS, jobBody('steady', { completions: 2, parallelism: 1, backoffLimit: 3 }), write);
    const [p1] = await until('first pod', async () => (await activeOf(env, 'steady')).length === 1 && activeOf(env, 'steady'));
    await finishPod(env, p1, 0);
    await until('succeeded 1', async () => (await jobOf(env, 'steady')).status?.succeeded === 1);
    const [p2] = await until('second pod', async () => (await activeOf(env, 'steady')).length === 1 && activeOf(env, 'steady'));
    await ctl.stop();
    // Finished while no controller ran.
    await finishPod(env, p2, 1);
    ctl = env.start((ctx) => runJobController(ctx, fast));
    await until('failed 1', async () => (await jobOf(env, 'steady')).status?.failed === 1);
    await ctl.stop();
    ctl = env.start((ctx) => runJobController(ctx, fast));
    const [p3] = await until('a retry pod', async () => (await activeOf(env, 'steady')).length === 1 && activeOf(env, 'steady'));
    await finishPod(env, p3, 0);
    const done = await until('Complete', async () => {
      const j = await jobOf(env, 'steady');
      return condition(j, 'Complete') ? j : false;
    });
    assert.equal(done.status?.succeeded, 2);
    assert.equal(done.status?.failed, 1);
    assert.equal((await podsOf(env, 'steady')).length, 3);
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('Indexed: one Pod per index with JOB_COMPLETION_INDEX, completedIndexes', async () => {
  const env = await batchEnv();
  try {
    const ctl = env.start((ctx) => runJobController(ctx, fast));
    await env.svc.create(env.jobs, NS, jobBody('idx', { completionMode: 'Indexed', completions: 3, parallelism: 3 }), write);
    const pods = await until('three pods', async () => (await podsOf(env, 'idx')).length === 3 && podsOf(env, 'idx'));
    const indexes = pods.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']).sort();
    assert.deepEqual(indexes, ['0', '1', '2']);
    const p0 = pods.find((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '0')!;
    const env0 = (p0.spec as { containers: Array<{ env?: Array<{ name: string; value: string }> }> }).containers[0].env;
    assert.deepEqual(env0, [{ name: 'JOB_COMPLETION_INDEX', value: '0' }]);
    assert.match(String(p0.metadata.name), /^idx-0-/);
    for (const p of pods) if (p !== pods.find((q) => q.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1')) await finishPod(env, p, 0);
    await until('completedIndexes 0,2', async () => (await jobOf(env, 'idx')).status?.completedIndexes === '0,2');
    await ctl.stop();
  } finally {
    await env.close();
  }
});
