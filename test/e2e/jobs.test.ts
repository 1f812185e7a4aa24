// Jobs and CronJobs with the real kubectl 1.33 against one `lodge up` with
// its agent: real busybox Pods under runc that exit at once. The CronJob's
// schedule is not waited for; `kubectl create job --from=cronjob/NAME`
// checks its jobTemplate path instead (the controller's timing is covered
// with a fake clock in test/controllers/cronjob-controller.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRun, kubectlOk, runKubectl } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const w = useWorkloadLodge('lodge-jobs-', `lodge-jobs-${process.pid}`, {
  // Jobs go first, or their controller would replace the Pods the fixture deletes.
  beforeStop: async (l) => void runKubectl(l, ['delete', 'jobs,cronjobs', '--all', '--cascade=background', '--wait=false'], { version: '1.33' }),
});
const k = (...args: string[]): string => kubectlOk(w.lodge, args, { version: '1.33', timeoutMs: 90_000 }).stdout;

test('kubectl create job, wait for complete, a failing Job hits its backoffLimit, create job --from=cronjob', async () => {
  assert.equal(k('create', 'job', 'pair', '--image=busybox', '--', 'sh', '-c', 'exit 0'), 'job.batch/pair created\n');
  k('patch', 'job', 'pair', '--type=merge', '-p', '{"spec":{"suspend":true}}');
  // completions and parallelism are not flags of `kubectl create job`: the Job goes through apply instead.
  const manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'two' },
    spec: { completions: 2, parallelism: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 0'] }] } } },
  };
  kubectlOk(w.lodge, ['apply', '-f', '-'], { version: '1.33', input: JSON.stringify(manifest) });
  const failing = { ...manifest, metadata: { name: 'bad' }, spec: { backoffLimit: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 3'] }] } } } };
  kubectlOk(w.lodge, ['apply', '-f', '-'], { version: '1.33', input: JSON.stringify(failing) });

  assert.equal(k('wait', '--for=condition=complete', 'job/two', '--timeout=60s'), 'job.batch/two condition met\n');
  const two = JSON.parse(k('get', 'job', 'two', '-o', 'json'));
  assert.equal(two.status.succeeded, 2);
  const pods = JSON.parse(k('get', 'pods', '-l', 'batch.kubernetes.io/job-name=two', '-o', 'json')).items;
  assert.equal(pods.length, 2);
  for (const p of pods) assert.equal(p.status.phase, 'Succeeded');

  // Two failures (backoffLimit 1), ten seconds of back-off between them.
  assert.equal(k('wait', '--for=condition=failed', 'job/bad', '--timeout=60s'), 'job.batch/bad condition met\n');
  const bad = JSON.parse(k('get', 'job', 'bad', '-o', 'json'));
  assert.equal(bad.status.conditions.find((c: { type: string }) => c.type === 'Failed').reason, 'BackoffLimitExceeded');
  assert.equal(bad.status.failed, 2);

  assert.equal(k('create', 'cronjob', 'nightly', '--image=busybox', '--schedule=*/1 * * * *', '--', 'sh', '-c', 'exit 0'), 'cronjob.batch/nightly created\n');
  assert.equal(k('create', 'job', 'manual', '--from=cronjob/nightly'), 'job.batch/manual created\n');
  assert.equal(k('wait', '--for=condition=complete', 'job/manual', '--timeout=60s'), 'job.batch/manual condition met\n');
  const manual = JSON.parse(k('get', 'job', 'manual', '-o', 'json'));
  assert.equal(manual.metadata.annotations['cronjob.kubernetes.io/instantiate'], 'manual');
  assert.equal(manual.metadata.ownerReferences[0].kind, 'CronJob');

  const table = k('get', 'jobs,cronjobs');
  assert.match(table, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/m);
  assert.match(table, /^job\.batch\/two\s+Complete\s+2\/2\s+\S+\s+\S+$/m);
  assert.match(table, /^job\.batch\/bad\s+Failed\s+0\/1\s/m);
  assert.match(table, /^job\.batch\/pair\s+Suspended\s+0\/1\s/m);
  assert.match(table, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE$/m);
  assert.match(table, /^cronjob\.batch\/nightly\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+\d+\s+\S+\s+\S+$/m);
  const r = runKubectl(w.lodge, ['create', 'job', 'nope', '--image=busybox', '--restart=Always'], { version: '1.33' });
  assert.notEqual(r.code, 0, describeRun(r));
});
