// The control plane dies and comes back, or hands over, with real Pods:
// SIGKILL of `lodge up` in the middle of a rolling update (the update carries
// on after the restart, never more Pods than replicas + maxSurge, no Pod
// without its ReplicaSet), and a second control plane on the same store that
// stands by — only the holder of the Leases acts — and takes over when the
// first is killed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, kubectlOk, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const w = useWorkloadLodge('lodge-cpf-', `lodge-cpf-${process.pid}`);
const k = (...args: string[]): string => kubectlOk(w.lodge, args, { timeoutMs: 90_000 }).stdout;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON fields
const json = (...args: string[]): any => JSON.parse(k(...args, '-o', 'json'));

function deployment(name: string, replicas: number): string {
  const d = JSON.parse(k('create', 'deployment', name, '--image=busybox', `--replicas=${replicas}`, '--dry-run=client', '-o', 'json', '--', 'sleep', '3600'));
  d.spec.template.spec.terminationGracePeriodSeconds = 1;
  d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  return JSON.stringify(d);
}

/** Pods of app=NAME as the API has them (an empty list while lodge is down). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function podsOf(l: Lodge, app: string): Promise<any[] | undefined> {
  try {
    const r = await api(l, 'GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`);
    return r.status === 200 ? r.json().items : undefined;
  } catch {
    return undefined;
  }
}

test('SIGKILL of lodge up during a rolling update: it carries on after the restart, within maxSurge, no orphaned Pod', async () => {
  kubectlOk(w.lodge, ['create', '-f', '-'], { input: deployment('roll', 4) });
  assert.match(k('rollout', 'status', 'deployment/roll', '--timeout=90s'), /successfully rolled out/);

  // Watch the Pod count the whole time, through the kill and restart.
  let most = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const items = await podsOf(w.lodge, 'roll').catch(() => undefined);
      if (items) most = Math.max(most, items.filter((p) => !p.metadata.deletionTimestamp).length);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    k('set', 'env', 'deployment/roll', 'STEP=2');
    // Kill as soon as the new ReplicaSet has a Pod: the rollout is half done.
    await waitFor('the rollout under way', async () => {
      const rs = json('get', 'rs', '-l', 'app=roll').items as Array<{ status?: { replicas?: number }; metadata: { annotations?: Record<string, string> } }>;
      return rs.some((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision'] === '2' && (r.status?.replicas ?? 0) >= 1);
    }, 60_000, 20);
    await w.lodge.kill();
    await w.restart();
    assert.match(k('rollout', 'status', 'deployment/roll', '--timeout=120s'), /successfully rolled out/);
  } finally {
    watching = false;
    await watcher;
  }
  assert.ok(most <= 5, `never more than replicas + maxSurge = 5 Pods; saw ${most}`);
  const rs = json('get', 'rs', '-l', 'app=roll').items as Array<{ metadata: { uid: string; name: string }; spec: { replicas: number } }>;
  const pods = json('get', 'pods', '-l', 'app=roll').items as Array<{ metadata: { name: string; deletionTimestamp?: string; ownerReferences?: Array<{ uid: string; controller?: boolean }> }; spec: { containers: Array<{ env?: unknown[] }> } }>;
  for (const p of pods) {
    const owner = p.metadata.ownerReferences?.find((o) => o.controller);
    assert.ok(owner && rs.some((r) => r.metadata.uid === owner.uid), `Pod ${p.metadata.name} has its ReplicaSet`);
  }
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  assert.equal(live.length, 4);
  assert.ok(live.every((p) => JSON.stringify(p.spec.containers[0].env ?? []).includes('STEP')), 'all Pods run the new template');
  k('delete', 'deployment', 'roll', '--wait=true', '--timeout=60s');
});

test('two control planes on one store: only the Lease holder acts; SIGKILL it and the other takes over', async () => {
  const a = w.lodge;
  // The second one: API server and controllers on the same data dir (same store, same ranges), no agent.
  const b = await startLodge({ dataDir: w.dataDir, args: ['--no-agent'], env: { LODGE_LOG_LEVEL: 'info' } });
  try {
    const holder = async (name: string): Promise<string> => {
      const r = await api(b, 'GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`);
      assert.equal(r.status, 200, r.text);
      return String(r.json().spec.holderIdentity ?? '');
    };
    for (const lease of ['lodge-controller-manager', 'lodge-scheduler']) assert.match(await holder(lease), new RegExp(`_${a.proc.pid}_`), `${lease} is held by the first control plane`);
    // B serves the API (the same store) but does not act: a Deployment made through B is handled by A alone.
    const viaB = { ...a, url: b.url, kubeconfig: b.kubeconfig };
    kubectlOk(viaB, ['create', '-f', '-'], { input: deployment('pair', 2) });
    await waitFor('2 Pods bound by the leader', async () => ((await podsOf(b, 'pair')) ?? []).filter((p) => p.spec.nodeName).length === 2 || undefined, 60_000);
    assert.doesNotMatch(b.logs(), /became leader/, 'the standby never led');

    await a.kill();
    for (const lease of ['lodge-controller-manager', 'lodge-scheduler'])
      await waitFor(`${lease} taken over by the second control plane`, async () => new RegExp(`_${b.proc.pid}_`).test(await holder(lease)), 30_000);
    assert.match(b.logs(), /became leader/);
    // B's controllers and scheduler act now: a third replica is made and bound (to the node, whose agent died with A).
    kubectlOk(viaB, ['scale', 'deployment/pair', '--replicas=3']);
    await waitFor('3 Pods bound by the new leader', async () => ((await podsOf(b, 'pair')) ?? []).filter((p) => p.spec.nodeName).length === 3 || undefined, 60_000);
  } finally {
    // Not shutdown(): it would remove the shared data dir the file's own cleanup still needs.
    await b.stop().catch(() => undefined);
  }
});
