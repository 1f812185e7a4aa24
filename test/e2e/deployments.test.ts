// Deployments and DaemonSets with real Pods under runc: kubectl's verbs
// (create, rollout status/history/undo/restart/pause/resume, scale, set
// image) and lodge's scale and rollout, against one `lodge up` with its agent.
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

test('events: describe shows the Deployment scaling, get events the scheduler placing and the kubelet starting and backing off containers, describe a Pod that fits nowhere', async () => {
  const manifest = JSON.parse(k('create', 'deployment', 'ev', '--image=busybox', '--replicas=1', '--dry-run=client', '-o', 'json', '--', 'sleep', '3600'));
  manifest.spec.template.spec.terminationGracePeriodSeconds = 1;
  kubectlOk(w.lodge, ['create', '-f', '-'], { input: JSON.stringify(manifest) });
  // A container that always fails: restarted at once, then backed off.
  await w.pods.create('crash', { restartPolicy: 'Always', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 1'] }] });
  try {
    assert.match(k('rollout', 'status', 'deployment/ev', '--timeout=60s'), /successfully rolled out/);
    // kubectl describe finds the Deployment's Events by involvedObject field selectors.
    await waitFor('ScalingReplicaSet in describe', async () => /Normal\s+ScalingReplicaSet\s+.*Scaled up replica set ev-\w+ from 0 to 1/.test(k('describe', 'deployment', 'ev')));
    const pod = json('get', 'pods', '-l', 'app=ev').items[0].metadata.name;
    await waitFor('Created and Started', async () => {
      const table = k('get', 'events', '--field-selector', `involvedObject.name=${pod}`);
      return (
        /Normal\s+Scheduled\s+pod\/\S+\s+Successfully assigned default\/\S+ to \S+/.test(table) &&
        /Normal\s+Created\s+pod\/\S+\s+Created container busybox/.test(table) &&
        /Normal\s+Started\s+pod\/\S+\s+Started container busybox/.test(table)
      );
    });
    // A Pod that fits nowhere: Pending, and describe says why, per node, as kube-scheduler words it.
    await w.pods.create('nowhere', { nodeSelector: { 'lodge.dev/no-such-label': 'x' }, containers: [{ name: 'c', image: 'busybox' }] });
    await waitFor('FailedScheduling', async () => /Warning\s+FailedScheduling\s+.*0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector\./.test(k('describe', 'pod', 'nowhere')));
    assert.match(k('get', 'pod', 'nowhere'), /nowhere\s+0\/1\s+Pending/);
    await waitFor('BackOff', async () => /Warning\s+BackOff\s+pod\/crash\s+Back-off restarting failed container main in pod crash_default\(/.test(k('get', 'events')));
    assert.match(k('describe', 'pod', 'crash'), /Warning\s+BackOff\s+.*kubelet/);
  } finally {
    runKubectl(w.lodge, ['delete', 'pod', 'crash', 'nowhere', '--wait=false']);
    runKubectl(w.lodge, ['delete', 'deployment', 'ev', '--wait=false']);
  }
});

test('kubectl and lodge roll a DaemonSet of real Pods: one Pod on the node, status, history, undo', async () => {
  const daemonPods = (): any[] => json('get', 'pods', '-l', 'app=agent').items.filter((p: any) => !p.metadata.deletionTimestamp);
  const manifest = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'agent', image: 'busybox', command: ['sleep', '3600'] }] } },
    },
  };
  kubectlOk(w.lodge, ['create', '-f', '-'], { input: JSON.stringify(manifest) });
  try {
    assert.match(k('rollout', 'status', 'ds/agent', '--timeout=60s'), /daemon set "agent" successfully rolled out/);
    const first = daemonPods();
    assert.equal(first.length, 1);
    assert.equal(first[0].spec.nodeName, `lodge-dep-${process.pid}`);
    assert.match(k('get', 'ds', 'agent'), /^agent\s+1\s+1\s+1\s+1\s+1\s+<none>\s+/m);

    // A template change rolls the Pod; history then has two revisions.
    k('set', 'env', 'ds/agent', 'STEP=2');
    assert.match(k('rollout', 'status', 'ds/agent', '--timeout=60s'), /successfully rolled out/);
    await waitFor('pod replaced', async () => {
      const now = daemonPods();
      return now.length === 1 && now[0].metadata.uid !== first[0].metadata.uid && now[0].spec.containers[0].env?.[0]?.value === '2';
    });
    const history = k('rollout', 'history', 'ds/agent');
    assert.match(history, /^1\s+<none>$/m, history);
    assert.match(history, /^2\s+<none>$/m, history);

    // kubectl's undo sends revision 1's data back; the first template runs again, as revision 3.
    assert.match(k('rollout', 'undo', 'ds/agent'), /rolled back/);
    assert.match(w.cli('rollout', 'status', 'ds/agent', '--timeout', '60s'), /successfully rolled out/);
    assert.equal(json('get', 'ds', 'agent').spec.template.spec.containers[0].env, undefined);
    assert.match(w.cli('rollout', 'history', 'daemonset/agent'), /^3\s+<none>$/m);
    await waitFor('first template running', async () => {
      const now = daemonPods();
      return now.length === 1 && now[0].spec.containers[0].env === undefined;
    });
    // lodge's undo: back to revision 2's template.
    assert.match(w.cli('rollout', 'undo', 'ds/agent', '--to-revision', '2'), /rolled back/);
    assert.match(k('rollout', 'status', 'ds/agent', '--timeout=60s'), /successfully rolled out/);
    assert.equal(json('get', 'ds', 'agent').spec.template.spec.containers[0].env?.[0]?.value, '2');
    assert.match(k('describe', 'ds', 'agent'), /Desired Number of Nodes Scheduled: 1/);
  } finally {
    runKubectl(w.lodge, ['delete', 'ds', 'agent', '--cascade=foreground', '--timeout=60s']);
  }
  await waitFor('pods gone', async () => json('get', 'pods', '-l', 'app=agent').items.length === 0, 30_000);
});

test('kubectl cordon, drain (through pods/eviction) and uncordon: evicted Pods come back once the node takes Pods again', async () => {
  const node = `lodge-dep-${process.pid}`;
  const manifest = JSON.parse(k('create', 'deployment', 'drained', '--image=busybox', '--replicas=2', '--dry-run=client', '-o', 'json', '--', 'sleep', '3600'));
  manifest.spec.template.spec.terminationGracePeriodSeconds = 1;
  kubectlOk(w.lodge, ['create', '-f', '-'], { input: JSON.stringify(manifest) });
  try {
    assert.match(k('rollout', 'status', 'deployment/drained', '--timeout=60s'), /successfully rolled out/);
    const before = json('get', 'pods', '-l', 'app=drained').items.map((p: any) => p.metadata.name);
    const out = k('drain', node, '--ignore-daemonsets', '--timeout=60s');
    for (const p of before) assert.match(out, new RegExp(`pod/${p} evicted`));
    assert.match(out, /drained/);
    assert.match(k('get', 'node', node), /SchedulingDisabled/);
    // The replacements wait: the only node is cordoned.
    await waitFor('replacements Pending, unschedulable', async () => {
      const pods = json('get', 'pods', '-l', 'app=drained').items.filter((p: any) => !p.metadata.deletionTimestamp);
      return pods.length === 2 && pods.every((p: any) => !before.includes(p.metadata.name) && /1 node\(s\) were unschedulable/.test(p.status?.conditions?.find((c: any) => c.type === 'PodScheduled')?.message ?? ''));
    }, 60_000);
    k('uncordon', node);
    assert.match(k('rollout', 'status', 'deployment/drained', '--timeout=60s'), /successfully rolled out/);
  } finally {
    runKubectl(w.lodge, ['uncordon', node]);
    runKubectl(w.lodge, ['delete', 'deployment', 'drained', '--wait=false']);
  }
});
