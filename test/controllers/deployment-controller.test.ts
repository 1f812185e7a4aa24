// The Deployment controller (with the ReplicaSet controller under it)
// against the real resource service and store, no agent: the test plays the
// agent and makes Pods ready one at a time, so every step of a rollout is
// seen. An informer of the test's own checks the rollout's bounds on every
// Pod change: never more than replicas+maxSurge Pods, never fewer than
// replicas-maxUnavailable ready ones once the rollout started.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Pod } from '../../src/apis/core/v1/types.js';
import type { KubeObject } from '../../src/apis/types.js';
import { InformerFactory } from '../../src/controllers/runtime/informer-factory.js';
import { eventually, isReadyPod, NS, podTemplate, WorkloadEnv, type Running } from './workload-env.js';
import { eventLines } from '../events/events-of.js';

let env: WorkloadEnv;
let controllers: Running[] = [];
const startControllers = (): void => {
  controllers = [env.startReplicaSets(), env.startDeployments(), env.startGarbageCollector()];
};
before(async () => {
  env = await WorkloadEnv.open();
  startControllers();
});
after(async () => env.close());

type D = KubeObject & { spec: Record<string, unknown>; status?: Record<string, unknown> & { conditions?: Array<Record<string, string>> } };

function deployment(name: string, replicas: number, strategy: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS }, spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate({ app: name }), strategy, ...extra } } as KubeObject;
}

const getD = async (name: string): Promise<D> => (await env.get(env.deployments, name)) as D;
const podsOf = async (app: string): Promise<Pod[]> => (await env.pods_()).filter((p) => p.metadata.labels?.app === app);
const setsOf = async (d: KubeObject): Promise<KubeObject[]> => (await env.list(env.rs)).filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
const condition = (d: D, type: string): Record<string, string> | undefined => d.status?.conditions?.find((c) => c.type === type);

/** The rollout is done as `kubectl rollout status` sees it. */
function rolledOut(d: D): boolean {
  const s = d.status ?? {};
  const n = d.spec.replicas as number;
  return (s.observedGeneration as number) >= (d.metadata.generation as number) && s.updatedReplicas === n && s.replicas === n && s.availableReplicas === n;
}

/** Play the agent: make not-ready Pods of the app ready one at a time until the rollout is done. */
async function drive(name: string): Promise<D> {
  for (;;) {
    const d = await getD(name);
    if (rolledOut(d) && (await podsOf(name)).every(isReadyPod)) return d;
    const next = await eventually(`a pod of ${name} to make ready, or the end`, async () => {
      const waiting = (await podsOf(name)).find((p) => !isReadyPod(p) && !p.metadata.deletionTimestamp);
      if (waiting) return waiting;
      const now = await getD(name);
      return rolledOut(now) ? 'done' : false;
    });
    if (next !== 'done') await env.markReady(next.metadata.name as string).catch(() => {}); // it may have just been deleted
  }
}

/** Watches the app's Pods and records every bound broken. */
async function boundsWatch(app: string, maxPods: number, minReady: number): Promise<{ violations: string[]; stop(): Promise<void> }> {
  const abort = new AbortController();
  const informers = new InformerFactory(env.svc, { info() {}, warn() {}, error() {}, child() { return this; } }, abort.signal);
  const inf = informers.for(env.pods);
  const violations: string[] = [];
  // The first list arrives one object at a time: only states after it count.
  let synced = false;
  const check = (): void => {
    if (!synced) return;
    const pods = (inf.list() as Pod[]).filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
    const ready = pods.filter(isReadyPod).length;
    if (pods.length > maxPods) violations.push(`${pods.length} pods > ${maxPods}`);
    if (ready < minReady) violations.push(`${ready} ready < ${minReady}`);
  };
  inf.addHandlers({ onAdd: check, onUpdate: check, onDelete: check });
  await informers.waitForSync();
  synced = true;
  check();
  return { violations, stop: async () => (abort.abort(), informers.stopped()) };
}

const rolling = (maxSurge: number | string, maxUnavailable: number | string): Record<string, unknown> => ({ type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } });
const setImage = (name: string, image: string): Promise<KubeObject> => env.patch(env.deployments, name, { spec: { template: { spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } } } });

test('a rolling update stays within maxSurge and maxUnavailable at every step, and records revisions', async () => {
  const created = await env.create(env.deployments, deployment('roll', 4, rolling(1, 1)));
  let d = await drive('roll');
  assert.equal(condition(d, 'Progressing')?.reason, 'NewReplicaSetAvailable');
  assert.equal(condition(d, 'Available')?.status, 'True');
  const [first] = await setsOf(created);
  assert.match(String(first.metadata.name), /^roll-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(first.metadata.labels?.['pod-template-hash'], String(first.metadata.name).slice('roll-'.length));
  assert.equal(first.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');

  const bounds = await boundsWatch('roll', 5, 3);
  await setImage('roll', 'busybox:v2');
  d = await drive('roll');
  await bounds.stop();
  assert.deepEqual(bounds.violations, []);
  const sets = await setsOf(created);
  assert.equal(sets.length, 2);
  const byRevision = Object.fromEntries(sets.map((rs) => [rs.metadata.annotations?.['deployment.kubernetes.io/revision'], rs]));
  assert.equal((byRevision['1'] as D).spec.replicas, 0);
  assert.equal((byRevision['2'] as D).spec.replicas, 4);
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(d.status?.updatedReplicas, 4);
  assert.equal(d.status?.unavailableReplicas, 0);
  assert.ok((await podsOf('roll')).every((p) => p.metadata.labels?.['pod-template-hash'] === byRevision['2'].metadata.labels?.['pod-template-hash']));
  // Kubernetes' ScalingReplicaSet events (1.29+ wording), on the Deployment.
  const [v1, v2] = [byRevision['1'].metadata.name, byRevision['2'].metadata.name];
  await eventually('scaling events', async () => {
    const lines = await eventLines(env.svc, created.metadata.uid);
    return lines.includes(`Normal ScalingReplicaSet: Scaled up replica set ${v1} from 0 to 4`) && lines.some((l) => l.startsWith(`Normal ScalingReplicaSet: Scaled up replica set ${v2} from 0 to `)) && lines.some((l) => new RegExp(`^Normal ScalingReplicaSet: Scaled down replica set ${v1} from \\d+ to 0$`).test(l));
  });
});

test('percentages: maxSurge rounds up and maxUnavailable down (10 replicas, 25% → 13 pods, 8 ready)', async () => {
  await env.create(env.deployments, deployment('pct', 10, rolling('25%', '25%')));
  await drive('pct');
  const bounds = await boundsWatch('pct', 13, 8);
  await setImage('pct', 'busybox:v2');
  await drive('pct');
  await bounds.stop();
  assert.deepEqual(bounds.violations, []);
});

test('Recreate stops every old Pod before the first new one exists', async () => {
  const created = await env.create(env.deployments, deployment('recreate', 2, { type: 'Recreate' }));
  await drive('recreate');
  const oldHash = (await podsOf('recreate'))[0].metadata.labels?.['pod-template-hash'];
  const abort = new AbortController();
  const informers = new InformerFactory(env.svc, { info() {}, warn() {}, error() {}, child() { return this; } }, abort.signal);
  const inf = informers.for(env.pods);
  let mixed = false;
  const check = (): void => {
    const hashes = new Set((inf.list() as Pod[]).filter((p) => p.metadata.labels?.app === 'recreate').map((p) => p.metadata.labels?.['pod-template-hash']));
    if (hashes.size > 1) mixed = true;
  };
  inf.addHandlers({ onAdd: check, onUpdate: check, onDelete: check });
  await informers.waitForSync();
  await setImage('recreate', 'busybox:v2');
  await drive('recreate');
  abort.abort();
  await informers.stopped();
  assert.equal(mixed, false, 'old and new pods never coexisted');
  const pods = await podsOf('recreate');
  assert.equal(pods.length, 2);
  assert.ok(pods.every((p) => p.metadata.labels?.['pod-template-hash'] !== oldHash));
  assert.equal((await setsOf(created)).length, 2);
});

test('revisionHistoryLimit: old ReplicaSets beyond the limit are deleted, oldest revision first', async () => {
  const created = await env.create(env.deployments, deployment('hist', 1, rolling(1, 0), { revisionHistoryLimit: 1 }));
  await drive('hist');
  for (const v of ['v2', 'v3', 'v4']) {
    await setImage('hist', `busybox:${v}`);
    await drive('hist');
  }
  const sets = await eventually('2 sets left', async () => {
    const s = await setsOf(created);
    return s.length === 2 ? s : false;
  });
  assert.deepEqual(sets.map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']).sort(), ['3', '4']);
});

test('paused: template changes wait, scaling still applies, resume rolls out', async () => {
  const created = await env.create(env.deployments, deployment('pause', 2, rolling(1, 0)));
  await drive('pause');
  await env.patch(env.deployments, 'pause', { spec: { paused: true } });
  await eventually('DeploymentPaused', async () => condition(await getD('pause'), 'Progressing')?.reason === 'DeploymentPaused');
  await setImage('pause', 'busybox:v2');
  await env.patch(env.deployments, 'pause', { spec: { replicas: 3 } });
  await eventually('scaled while paused', async () => (await podsOf('pause')).length === 3);
  for (const p of await podsOf('pause')) if (!isReadyPod(p)) await env.markReady(p.metadata.name as string);
  const d = await eventually('status observed', async () => {
    const x = await getD('pause');
    return (x.status?.observedGeneration as number) >= (x.metadata.generation as number) ? x : false;
  });
  assert.equal((await setsOf(created)).length, 1, 'no new ReplicaSet while paused');
  assert.equal(d.status?.updatedReplicas, 0);
  await env.patch(env.deployments, 'pause', { spec: { paused: false } });
  const done = await drive('pause');
  assert.equal((await setsOf(created)).length, 2);
  assert.equal(condition(done, 'Progressing')?.reason, 'NewReplicaSetAvailable');
  assert.equal((await podsOf('pause')).length, 3);
});

test('a restarted controller carries a rolling update on from the stored state, within bounds', async () => {
  await env.create(env.deployments, deployment('restart', 4, rolling(1, 1)));
  await drive('restart');
  const bounds = await boundsWatch('restart', 5, 3);
  await setImage('restart', 'busybox:v2');
  // Let one step happen: a new Pod exists and is made ready.
  const fresh = await eventually('a new pod', async () => (await podsOf('restart')).find((p) => !isReadyPod(p)));
  for (const c of controllers) await c.stop();
  await env.markReady(fresh.metadata.name as string);
  startControllers();
  const d = await drive('restart');
  await bounds.stop();
  assert.deepEqual(bounds.violations, []);
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
});

test('progressDeadlineSeconds: a rollout whose Pods never become ready is reported ProgressDeadlineExceeded', async () => {
  await env.create(env.deployments, deployment('stuck', 1, rolling(1, 0), { progressDeadlineSeconds: 1 }));
  const cond = await eventually('deadline exceeded', async () => {
    const c = condition(await getD('stuck'), 'Progressing');
    return c?.reason === 'ProgressDeadlineExceeded' ? c : false;
  });
  assert.equal(cond.status, 'False');
  assert.match(cond.message, /has timed out progressing/);
});
