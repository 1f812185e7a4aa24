// Deployments with real Pods under runc: kubectl's verbs (create, rollout
// status/history/undo/restart/pause/resume, scale, set image) and lodge's
// scale and rollout, against one `lodge up` with its agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubectlOk, runKubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const w = useWorkloadLodge('lodge-dep-', `lodge-dep-${process.pid}`);
const k = (...args: string[]): string => kubectlOk(w.lodge, args, { timeoutMs: 60_000 }).stdout;
const json = (...args: string[]): any => JSON.parse(k(...args, '-o', 'json'));
const runningPods = (): any[] => json('get', 'pods', '-l', 'app=web').items.filter((p: any) => !p.metadata.deletionTimestamp);

test('kubectl and lodge drive a Deployment of real Pods through scale, updates, undo, restart and pause', async () => {
  // Fast Pods: busybox sleep, one-second grace, probes none.
  // kubectl builds the Deployment; a one-second grace period is added before it is sent.
  const manifest = JSON.parse(k('create', 'deployment', 'web', '--image=busybox', '--replicas=2', '--dry-run=client', '-o', 'json', '--', 'sleep', '3600'));
  manifest.spec.template.spec.terminationGracePeriodSeconds = 1;
  kubectlOk(w.lodge, ['create', '-f', '-'], { input: JSON.stringify(manifest) });
  assert.match(k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  assert.equal(runningPods().length, 2);

  k('scale', 'deployment/web', '--replicas=3');
  await waitFor('3 ready', async () => json('get', 'deployment', 'web').status?.readyReplicas === 3);
  assert.match(w.cli('scale', 'deployment/web', '1'), /deployment.apps\/web scaled/);
  await waitFor('1 pod', async () => runningPods().length === 1 && json('get', 'deployment', 'web').status?.replicas === 1);
  k('scale', 'rs', '-l', 'app=web', '--replicas=1');

  // A template change: a new ReplicaSet, the rollout completes, history has both.
  k('set', 'env', 'deployment/web', 'STEP=2');
  k('annotate', 'deployment/web', 'kubernetes.io/change-cause=step two');
  assert.match(k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  const history = k('rollout', 'history', 'deployment/web');
  assert.match(history, /^1\s+<none>$/m, history);
  assert.match(history, /^2\s+step two$/m, history);
  assert.match(w.cli('rollout', 'history', 'deployment/web'), /step two/);

  // Undo (kubectl's client-side rollback) brings the first template back.
  k('rollout', 'undo', 'deployment/web');
  assert.match(k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  const env = json('get', 'deployment', 'web').spec.template.spec.containers[0].env;
  assert.equal(env, undefined);

  // Pause: a template change waits; resume: it rolls out.
  k('rollout', 'pause', 'deployment/web');
  const before = runningPods().map((p: any) => p.metadata.name);
  k('set', 'env', 'deployment/web', 'STEP=3');
  await waitFor('paused observed', async () => json('get', 'deployment', 'web').status?.conditions?.some((c: any) => c.reason === 'DeploymentPaused'));
  assert.deepEqual(runningPods().map((p: any) => p.metadata.name), before);
  assert.match(w.cli('rollout', 'resume', 'deployment/web'), /resumed/);
  assert.match(w.cli('rollout', 'status', 'deployment/web', '--timeout', '60s'), /successfully rolled out/);
  // lodge's restart replaces the Pod; its undo goes back to the previous template.
  const beforeRestart = await waitFor('one pod', async () => {
    const now = runningPods();
    return now.length === 1 && now[0].metadata.name !== before[0] ? now[0].metadata.name : false;
  });
  assert.match(w.cli('rollout', 'restart', 'deployment/web'), /restarted/);
  assert.match(k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  await waitFor('pod replaced', async () => {
    const now = runningPods();
    return now.length === 1 && now[0].metadata.name !== beforeRestart;
  });
  assert.match(w.cli('rollout', 'undo', 'deployment/web'), /rolled back/);
  assert.match(k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  assert.equal(json('get', 'deployment', 'web').spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'], undefined);

  const r = runKubectl(w.lodge, ['delete', 'deployment', 'web', '--cascade=foreground', '--timeout=60s']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor('pods gone', async () => json('get', 'pods', '-l', 'app=web').items.length === 0, 30_000);
});
