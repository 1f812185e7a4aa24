// The DaemonSet controller against the real resource service and store, no
// agent and no scheduler: Nodes are written directly (labels, taints), the
// daemon Pods stay unbound (so deleting one removes it at once), and a Pod is
// made ready by writing its status as an agent would. Each test uses its own
// node label, so the DaemonSets of different tests never share nodes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rfc3339 } from '../../src/api/resources/clock.js';
import type { Pod } from '../../src/apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { runDaemonSetController } from '../../src/controllers/daemonset-controller.js';
import { Expectations } from '../../src/controllers/replicaset/expectations.js';
import { controllerWrite, InformerFactory } from '../../src/controllers/runtime/informer-factory.js';
import { ControllerEnv, eventually, type Running, quietLog } from './controller-env.js';

const NS = 'default';
const write = controllerWrite('daemonset-test');
const quiet = quietLog;

let env: ControllerEnv;
let controller: Running;
let rt: { ds: ResourceType; cr: ResourceType; pods: ResourceType; nodes: ResourceType };
before(async () => {
  env = await ControllerEnv.open('lodge-daemonset-', quiet);
  const reg = env.svc.registry;
  rt = { ds: reg.resource('apps', 'v1', 'daemonsets')!, cr: reg.resource('apps', 'v1', 'controllerrevisions')!, pods: reg.resource('', 'v1', 'pods')!, nodes: reg.resource('', 'v1', 'nodes')! };
  controller = env.start((ctx) => runDaemonSetController(ctx));
});
after(async () => env.close());

type Taint = { key: string; value?: string; effect: string };
type Ds = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, number | undefined> };

async function node(name: string, labels: Record<string, string>, taints: Taint[] = []): Promise<void> {
  const ready = { type: 'Ready', status: 'True', lastTransitionTime: rfc3339(Date.now()) };
  await env.svc.create(rt.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: taints.length ? { taints } : {}, status: { conditions: [ready] } }, write);
}
const patchNode = (name: string, p: Record<string, unknown>): Promise<unknown> => env.svc.patch(rt.nodes, undefined, name, 'merge', p, { ...write, force: false });
const patchDs = (name: string, type: 'merge' | 'strategic', p: unknown): Promise<unknown> => env.svc.patch(rt.ds, NS, name, type, p, { ...write, force: false });

function daemonSet(name: string, pool: string, extra: Record<string, unknown> = {}): KubeObject {
  const labels = { ds: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { nodeSelector: { pool }, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1 } },
      ...extra,
    },
  } as KubeObject;
}

const list = async <T extends KubeObject>(r: ResourceType): Promise<T[]> => (await env.svc.list(r, NS, {})).items.map((i) => JSON.parse(i.value) as T);
const podsOf = async (ds: string): Promise<Pod[]> => (await list<Pod>(rt.pods)).filter((p) => p.metadata.labels?.ds === ds && !p.metadata.deletionTimestamp);
const dsStatus = async (name: string): Promise<Record<string, number | undefined>> => (((await env.svc.tryGet(rt.ds, NS, name))?.obj as Ds | undefined)?.status ?? {});
const revisionsOf = async (ds: string): Promise<Array<KubeObject & { revision?: number }>> => (await list<KubeObject & { revision?: number }>(rt.cr)).filter((r) => r.metadata.labels?.ds === ds);
const nodeOf = (p: Pod): string | undefined => {
  const terms = (p.spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchFields?: Array<{ values?: string[] }> }> } } })?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return terms?.[0]?.matchFields?.[0]?.values?.[0];
};
const byNode = async (ds: string): Promise<string[]> => (await podsOf(ds)).map((p) => nodeOf(p) ?? '?').sort();
const hashOf = (p: Pod): string | undefined => p.metadata.labels?.['controller-revision-hash'];

/** What an agent writes once a Pod's containers run and pass readiness. */
async function markReady(p: Pod): Promise<void> {
  const t = rfc3339(Date.now());
  const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] };
  await env.svc.patch(rt.pods, NS, p.metadata.name as string, 'merge', { status }, { ...controllerWrite('fake-agent'), force: false }, 'status');
}
const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
async function markAllReady(ds: string): Promise<void> {
  for (const p of await podsOf(ds)) if (!isReady(p)) await markReady(p);
}

test('validation names the field: both limits zero, a selector that misses the template, a changed selector', async () => {
  const fail = async (body: KubeObject, field: RegExp): Promise<void> => {
    await assert.rejects(env.svc.create(rt.ds, NS, body, write), (e: Error & { code?: number }) => e.code === 422 && field.test(e.message));
  };
  await fail(daemonSet('bad1', 'none', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }), /spec\.updateStrategy\.rollingUpdate\.maxUnavailable/);
  await fail(daemonSet('bad2', 'none', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } }), /spec\.updateStrategy\.rollingUpdate\.maxSurge/);
  const mismatched = daemonSet('bad3', 'none');
  (mismatched.spec as { selector: unknown }).selector = { matchLabels: { other: 'x' } };
  await fail(mismatched, /spec\.template\.metadata\.labels/);
  const created = (await env.svc.create(rt.ds, NS, daemonSet('defaults', 'none'), write)).obj as Ds;
  assert.deepEqual(created.spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(created.spec?.revisionHistoryLimit, 10);
  await assert.rejects(patchDs('defaults', 'merge', { spec: { selector: { matchLabels: { ds: 'defaults', more: 'x' } } } }), (e: Error & { code?: number }) => e.code === 422 && /spec\.selector/.test(e.message));
});

test('one Pod per qualifying node, pinned by matchFields with the daemon tolerations; nodes that stop qualifying lose it, new ones get one', async () => {
  await node('p-a', { pool: 'place' });
  await node('p-b', { pool: 'place' });
  await node('p-c', { pool: 'elsewhere' });
  await node('p-d', { pool: 'place' }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  await node('p-e', { pool: 'place' }, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);
  const ds = (await env.svc.create(rt.ds, NS, daemonSet('place', 'place'), write)).obj;
  // p-e's taint is one the daemon tolerations cover; p-d's is not.
  await eventually('pods on p-a, p-b, p-e', async () => jsonIs(await byNode('place'), ['p-a', 'p-b', 'p-e']));
  const pods = await podsOf('place');
  for (const p of pods) {
    assert.equal(p.spec?.nodeName, undefined, 'left for the scheduler to bind');
    assert.deepEqual(p.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]), [['DaemonSet', ds.metadata.uid, true]]);
    assert.ok(hashOf(p));
    assert.equal(p.metadata.labels?.['pod-template-generation'], '1');
    assert.deepEqual(p.spec?.affinity, { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeOf(p)] }] }] } } });
    assert.deepEqual(
      p.spec?.tolerations?.map((t) => `${t.key}:${t.effect}:${t.operator}:${t.tolerationSeconds ?? '-'}`),
      ['not-ready:NoExecute', 'unreachable:NoExecute', 'disk-pressure:NoSchedule', 'memory-pressure:NoSchedule', 'pid-pressure:NoSchedule', 'unschedulable:NoSchedule'].map((s) => {
        const [k, e] = s.split(':');
        return `node.kubernetes.io/${k}:${e}:Exists:-`;
      }),
    );
  }
  await markAllReady('place');
  await eventually('status counts 3 ready', async () => {
    const s = await dsStatus('place');
    return s.desiredNumberScheduled === 3 && s.currentNumberScheduled === 3 && s.numberReady === 3 && s.numberAvailable === 3 && s.updatedNumberScheduled === 3 && s.numberMisscheduled === 0 && s.observedGeneration === 1;
  });

  // A new NoSchedule taint keeps new daemons out but evicts nothing (Kubernetes): the Pod stays, counted misscheduled.
  await patchNode('p-b', { spec: { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] } });
  await eventually('p-b misscheduled', async () => (await dsStatus('place')).numberMisscheduled === 1 && (await dsStatus('place')).desiredNumberScheduled === 2);
  assert.deepEqual(await byNode('place'), ['p-a', 'p-b', 'p-e']);
  // An untolerated NoExecute taint, or a lost label, removes it; a new node gets one.
  await patchNode('p-b', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
  await patchNode('p-a', { metadata: { labels: { pool: null } } });
  await node('p-f', { pool: 'place' });
  await eventually('pods on p-e and p-f', async () => jsonIs(await byNode('place'), ['p-e', 'p-f']));
  await eventually('status follows', async () => {
    const s = await dsStatus('place');
    return s.desiredNumberScheduled === 2 && s.currentNumberScheduled === 2 && s.numberMisscheduled === 0 && s.numberReady === 1 && s.numberUnavailable === 1;
  });

  // A failed daemon Pod is replaced (after its back-off, which starts at once for a first failure).
  const onF = (await podsOf('place')).find((p) => nodeOf(p) === 'p-f')!;
  await env.svc.patch(rt.pods, NS, onF.metadata.name as string, 'merge', { status: { phase: 'Failed' } }, { ...controllerWrite('fake-agent'), force: false }, 'status');
  await eventually('failed pod replaced', async () => {
    const now = (await podsOf('place')).filter((p) => nodeOf(p) === 'p-f');
    return now.length === 1 && now[0].metadata.uid !== onF.metadata.uid;
  });
  // What kubectl describe shows under Events, in Kubernetes' reasons.
  const events = env.svc.registry.resource('', 'v1', 'events')!;
  await eventually('events on the DaemonSet', async () => {
    const reasons = new Set((await list<KubeObject & { reason?: string; involvedObject?: { uid?: string } }>(events)).filter((e) => e.involvedObject?.uid === ds.metadata.uid).map((e) => e.reason));
    return ['SuccessfulCreate', 'SuccessfulDelete', 'FailedDaemonPod'].every((r) => reasons.has(r));
  });
});

test('RollingUpdate replaces at most maxUnavailable at a time, survives a controller restart mid-rollout, and keeps history for undo', async () => {
  for (const n of ['r-a', 'r-b', 'r-c']) await node(n, { pool: 'roll' });
  await env.svc.create(rt.ds, NS, daemonSet('roll', 'roll'), write);
  await eventually('3 pods', async () => (await podsOf('roll')).length === 3);
  await markAllReady('roll');
  await eventually('rolled out', async () => (await dsStatus('roll')).numberAvailable === 3);
  const firstHash = hashOf((await podsOf('roll'))[0]);
  await patchDs('roll', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'STEP', value: '2' }] }] } } } });

  let leastAvailable = 3;
  /** One step: exactly one node is without an available Pod (maxUnavailable 1); its new Pod is made ready. */
  const step = async (updated: number): Promise<void> => {
    const fresh = await eventually(`new pod ${updated}`, async () => {
      const pods = await podsOf('roll');
      const news = pods.filter((p) => hashOf(p) !== firstHash);
      // Recorded, not asserted here: eventually() retries on a throw.
      leastAvailable = Math.min(leastAvailable, pods.filter(isReady).length);
      return news.length === updated && pods.length === 3 ? news.find((p) => !isReady(p)) : undefined;
    });
    await markReady(fresh);
  };
  await step(1);
  // The controller goes away mid-rollout; a new one carries on from what is stored.
  await controller.stop();
  controller = env.start((ctx) => runDaemonSetController(ctx));
  await step(2);
  await step(3);
  assert.equal(leastAvailable, 2, 'never more than one node without an available pod');
  await eventually('rollout complete', async () => {
    const s = await dsStatus('roll');
    return s.observedGeneration === 2 && s.updatedNumberScheduled === 3 && s.numberAvailable === 3;
  });
  const revs = (await revisionsOf('roll')).sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  assert.deepEqual(revs.map((r) => r.revision), [1, 2]);
  assert.equal(revs[0].metadata.name, `roll-${firstHash}`);

  // kubectl's undo: the old revision's data, sent as a strategic merge patch, brings its template back; that revision becomes 3.
  await patchDs('roll', 'strategic', (revs[0] as { data?: unknown }).data);
  await eventually('revision renumbered', async () => jsonIs((await revisionsOf('roll')).map((r) => [r.metadata.name, r.revision]).sort(), [[`roll-${firstHash}`, 3], [revs[1].metadata.name, 2]]));
  for (let i = 0; i < 3; i++) {
    const p = await eventually('an old-template pod', async () => (await podsOf('roll')).find((x) => hashOf(x) === firstHash && !isReady(x)));
    await markReady(p);
  }
  await eventually('back on the first template', async () => (await podsOf('roll')).every((p) => hashOf(p) === firstHash) && (await dsStatus('roll')).updatedNumberScheduled === 3);
});

test('maxSurge starts the new Pod beside the old one and deletes the old one once the new one is available', async () => {
  await node('s-a', { pool: 'surge' });
  await env.svc.create(rt.ds, NS, daemonSet('surge', 'surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }), write);
  const old = await eventually('pod', async () => (await podsOf('surge'))[0]);
  await markReady(old);
  await patchDs('surge', 'merge', { spec: { template: { metadata: { annotations: { step: '2' } } } } });
  const fresh = await eventually('new pod beside the old', async () => {
    const pods = await podsOf('surge');
    return pods.length === 2 ? pods.find((p) => p.metadata.uid !== old.metadata.uid) : undefined;
  });
  assert.ok(await env.svc.tryGet(rt.pods, NS, old.metadata.name as string), 'the old pod stays while the new one is not available');
  await markReady(fresh);
  await eventually('old pod gone', async () => jsonIs((await podsOf('surge')).map((p) => p.metadata.uid), [fresh.metadata.uid]));
});

test('OnDelete replaces only Pods that were deleted; history beyond revisionHistoryLimit is pruned', async () => {
  for (const n of ['o-a', 'o-b']) await node(n, { pool: 'ondelete' });
  await env.svc.create(rt.ds, NS, daemonSet('ondel', 'ondelete', { updateStrategy: { type: 'OnDelete' }, revisionHistoryLimit: 1 }), write);
  await eventually('2 pods', async () => (await podsOf('ondel')).length === 2);
  const before = await podsOf('ondel');
  for (let i = 2; i <= 4; i++) await patchDs('ondel', 'merge', { spec: { template: { metadata: { annotations: { step: String(i) } } } } });
  await eventually('generation 4 observed', async () => (await dsStatus('ondel')).observedGeneration === 4);
  assert.deepEqual((await podsOf('ondel')).map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort(), 'no pod replaced');
  assert.equal((await dsStatus('ondel')).updatedNumberScheduled ?? 0, 0);
  // Revisions 2 and 3 run nothing and are beyond the limit of 1 old one; revision 1 still has Pods.
  await eventually('history pruned', async () => jsonIs((await revisionsOf('ondel')).map((r) => r.revision).sort(), [1, 4]));
  await env.svc.delete(rt.pods, NS, before[0].metadata.name as string, {});
  await eventually('deleted pod replaced with the new template', async () => {
    const pods = await podsOf('ondel');
    return pods.length === 2 && pods.some((p) => p.metadata.uid === before[1].metadata.uid) && pods.some((p) => p.metadata.annotations?.step === '4');
  });
  await eventually('updated 1', async () => (await dsStatus('ondel')).updatedNumberScheduled === 1);
});

// The invariant expectations serve, end to end. In process the informer often catches up before the next sync, so
// this alone would not catch a controller without them; the Expectations unit tests (replicaset-controller.test) do.
test('a burst of events while its creations are in flight never makes a second Pod for a node', async () => {
  // Count every Pod ever created for this DaemonSet, through an informer of the test's own.
  const abort = new AbortController();
  const informers = new InformerFactory(env.svc, quiet, abort.signal);
  const created = new Set<string>();
  informers.for(rt.pods).addHandlers({ onAdd: (p) => p.metadata.labels?.ds === 'burst' && created.add(p.metadata.uid as string) });
  await informers.waitForSync();
  try {
    for (let i = 0; i < 6; i++) await node(`b-${i}`, { pool: 'burst' });
    await env.svc.create(rt.ds, NS, daemonSet('burst', 'burst'), write);
    // Each annotation write is an event that queues the DaemonSet again while its Pods are being made.
    await Promise.all(Array.from({ length: 30 }, (_, i) => patchDs('burst', 'merge', { metadata: { annotations: { [`poke-${i}`]: 'x' } } })));
    await eventually('6 pods counted', async () => (await dsStatus('burst')).currentNumberScheduled === 6);
    await eventually('informer has all', async () => created.size >= 6);
    assert.equal(created.size, 6, 'no node ever got a second Pod');
  } finally {
    abort.abort();
    await informers.stopped();
  }
});

test('Expectations.expect: creations and deletions of one sync are both awaited', () => {
  const e = new Expectations(() => 0);
  e.expect('ns/ds', 1, ['old']);
  e.creationObserved('ns/ds');
  assert.equal(e.satisfied('ns/ds'), false, 'the deletion is not seen yet');
  e.deletionObserved('ns/ds', 'old');
  assert.equal(e.satisfied('ns/ds'), true);
});

function jsonIs(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
