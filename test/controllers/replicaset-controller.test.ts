// The ReplicaSet controller against the real resource service and store, no
// agent: Pods are created and deleted for real, and made ready by writing
// their status as an agent would.
import { Expectations } from '../../src/controllers/replicaset/expectations.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Pod } from '../../src/apis/core/v1/types.js';
import type { KubeObject } from '../../src/apis/types.js';
import { InformerFactory } from '../../src/controllers/runtime/informer-factory.js';
import { eventually, isReadyPod, NS, podTemplate, WorkloadEnv } from './workload-env.js';
import { eventLines } from '../events/events-of.js';

let env: WorkloadEnv;
before(async () => {
  env = await WorkloadEnv.open();
  env.startReplicaSets();
});
after(async () => env.close());

function replicaSet(name: string, replicas: number, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: NS }, spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels) } } as KubeObject;
}

const owned = async (rs: KubeObject): Promise<Pod[]> => (await env.pods_()).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid && r.controller));
const status = async (name: string): Promise<Record<string, unknown>> => ((await env.get(env.rs, name))?.status ?? {}) as Record<string, unknown>;

test('creates spec.replicas Pods it controls, counts them ready, and deletes the least useful first on scale-down', async () => {
  const rs = await env.create(env.rs, replicaSet('web', 3, { app: 'web' }));
  const pods = await eventually('3 pods', async () => ((await owned(rs)).length === 3 ? owned(rs) : false));
  for (const p of pods) {
    assert.equal(p.metadata.labels?.app, 'web');
    assert.equal(p.metadata.ownerReferences?.[0].blockOwnerDeletion, true);
    assert.match(String(p.metadata.name), /^web-[a-z0-9]{5}$/);
  }
  await env.markReady(pods[0].metadata.name as string);
  await env.markReady(pods[1].metadata.name as string);
  await eventually('status with 2 ready', async () => {
    const s = await status('web');
    return s.replicas === 3 && s.readyReplicas === 2 && s.availableReplicas === 2 && s.fullyLabeledReplicas === 3 && s.observedGeneration === 1;
  });
  // Scale to 2: the Pod that is not ready goes, the ready ones stay.
  await env.patch(env.rs, 'web', { spec: { replicas: 2 } });
  const left = await eventually('2 pods', async () => ((await owned(rs)).length === 2 ? owned(rs) : false));
  const gone = pods.find((p) => !left.some((l) => l.metadata.name === p.metadata.name))!;
  const wanted = [...pods.map((p) => `Normal SuccessfulCreate: Created pod: ${p.metadata.name}`), `Normal SuccessfulDelete: Deleted pod: ${gone.metadata.name}`];
  await eventually('create and delete events', async () => {
    const lines = await eventLines(env.svc, rs.metadata.uid);
    return wanted.every((w) => lines.includes(w));
  });
  assert.deepEqual(left.map((p) => p.metadata.name).sort(), [pods[0].metadata.name, pods[1].metadata.name].sort());
  assert.ok(left.every(isReadyPod));
  await eventually('status observes generation 2', async () => {
    const s = await status('web');
    return s.observedGeneration === 2 && s.replicas === 2 && s.readyReplicas === 2;
  });
  // Scale to 1 with both ready: the one ready for less time (newer readiness) goes.
  await env.markReady(left[0].metadata.name as string, Date.now() - 60_000);
  await env.markReady(left[1].metadata.name as string, Date.now());
  await env.patch(env.rs, 'web', { spec: { replicas: 1 } });
  const last = await eventually('1 pod', async () => ((await owned(rs)).length === 1 ? owned(rs) : false));
  assert.equal(last[0].metadata.name, left[0].metadata.name);
  await env.patch(env.rs, 'web', { spec: { replicas: 0 } });
  await eventually('no pods', async () => (await owned(rs)).length === 0);
});

test('adopts matching orphans instead of creating, and releases a Pod relabelled away', async () => {
  const orphan = await env.create(env.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: NS, labels: { app: 'adopt' } }, spec: podTemplate({}).spec } as KubeObject);
  const rs = await env.create(env.rs, replicaSet('adopter', 2, { app: 'adopt' }));
  const pods = await eventually('2 owned pods', async () => ((await owned(rs)).length === 2 ? owned(rs) : false));
  assert.ok(pods.some((p) => p.metadata.uid === orphan.metadata.uid), 'the orphan was adopted');
  // Relabelled: it leaves the set (its ownerReference is removed) and a replacement is made.
  await env.patch(env.pods, 'stray', { metadata: { labels: { app: 'elsewhere' } } });
  await eventually('stray released and replaced', async () => {
    const stray = (await env.get(env.pods, 'stray')) as Pod;
    const mine = await owned(rs);
    return !stray.metadata.ownerReferences?.length && mine.length === 2 && !mine.some((p) => p.metadata.name === 'stray');
  });
  // Pods another controller owns are left alone.
  const other = await env.create(env.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'taken', namespace: NS, labels: { app: 'adopt' }, ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'x', uid: '00000000-0000-0000-0000-000000000001', controller: true }] }, spec: podTemplate({}).spec } as KubeObject);
  await env.patch(env.rs, 'adopter', { spec: { replicas: 3 } });
  await eventually('3 owned pods', async () => (await owned(rs)).length === 3);
  assert.equal(((await env.get(env.pods, 'taken')) as Pod).metadata.ownerReferences?.[0].uid, other.metadata.ownerReferences?.[0].uid);
  await env.patch(env.rs, 'adopter', { spec: { replicas: 0 } });
  await eventually('none owned', async () => (await owned(rs)).length === 0);
});

test('Expectations: a key waits until its creations and deletions are seen (or failed), and stops waiting after their TTL', () => {
  let now = 0;
  const e = new Expectations(() => now);
  assert.equal(e.satisfied('ns/rs'), true, 'nothing asked for');
  e.expectCreations('ns/rs', 2);
  assert.equal(e.satisfied('ns/rs'), false);
  e.creationObserved('ns/rs');
  assert.equal(e.satisfied('ns/rs'), false, 'one of two seen');
  e.creationObserved('ns/rs');
  assert.equal(e.satisfied('ns/rs'), true);
  e.expectDeletions('ns/rs', ['a', 'b']);
  e.deletionObserved('ns/rs', 'a');
  e.deletionObserved('ns/rs', 'x');
  assert.equal(e.satisfied('ns/rs'), false, 'b not seen yet');
  e.deletionObserved('ns/rs', 'b');
  assert.equal(e.satisfied('ns/rs'), true);
  e.expectCreations('ns/rs', 1);
  now += 5 * 60_000 + 1;
  assert.equal(e.satisfied('ns/rs'), true, 'a lost event does not stall the set for ever');
});

// End to end (the real API and store): the invariant expectations serve. In process the informer often catches up
// before the next sync, so this alone would not catch a controller without them; the unit test above does.
test('a burst of events while its creations are in flight never makes more Pods than replicas', async () => {
  // Count every Pod ever created for this set, through an informer of the test's own.
  const abort = new AbortController();
  const informers = new InformerFactory(env.svc, { info() {}, warn() {}, error() {}, child() { return this; } }, abort.signal);
  const created = new Set<string>();
  informers.for(env.pods).addHandlers({ onAdd: (p) => p.metadata.labels?.app === 'burst' && created.add(p.metadata.uid as string) });
  await informers.waitForSync();
  try {
    const rs = await env.create(env.rs, replicaSet('burst', 8, { app: 'burst' }));
    // Each annotation write is an event that queues the set again while its Pods are being made.
    await Promise.all(Array.from({ length: 30 }, (_, i) => env.patch(env.rs, 'burst', { metadata: { annotations: { [`poke-${i}`]: 'x' } } })));
    await eventually('8 pods', async () => (await owned(rs)).length === 8);
    // The status it writes is one more event per Pod; give every queued sync its turn before counting.
    await eventually('status settled', async () => (await status('burst')).replicas === 8);
    await eventually('informer has all', async () => created.size >= 8);
    assert.equal(created.size, 8, 'no Pod beyond replicas was ever created');
    await env.patch(env.rs, 'burst', { spec: { replicas: 0 } });
    await eventually('none', async () => (await owned(rs)).length === 0);
  } finally {
    abort.abort();
    await informers.stopped();
  }
});

test('a template whose Pods cannot be created sets ReplicaFailure (FailedCreate) naming the cause', async () => {
  // Long enough that the Pod name (NAME-xxxxx) is over 253 characters, which Pod validation refuses.
  const name = `f${'x'.repeat(249)}`;
  await env.create(env.rs, replicaSet(name, 1, { app: 'fail' }));
  const cond = await eventually('ReplicaFailure', async () => ((await status(name)).conditions as Array<Record<string, string>> | undefined)?.find((c) => c.type === 'ReplicaFailure'));
  assert.equal(cond.status, 'True');
  assert.equal(cond.reason, 'FailedCreate');
  assert.match(cond.message, /metadata\.name/);
  await env.patch(env.rs, name, { spec: { replicas: 0 } });
  await eventually('condition cleared', async () => !((await status(name)).conditions as unknown[] | undefined)?.length);
});
