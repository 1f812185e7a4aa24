// PodDisruptionBudgets against the real resource service and store, no
// agent: the kind's validation, the disruption controller's status (expected,
// healthy, desired, allowed, the DisruptionAllowed condition), and the
// eviction subresource's decisions (src/api/eviction/evict.ts) — taking one
// allowed disruption and recording the Pod, 429 when none is left, 500 for
// two budgets, Pods that go without asking. Pods are made ready by writing
// their status as an agent would; a finalizer keeps an evicted Pod in view.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rfc3339 } from '../../src/api/resources/clock.js';
import { ApiError } from '../../src/api/status.js';
import { evictPod, MORE_THAN_ONE_BUDGET, WOULD_VIOLATE } from '../../src/api/eviction/evict.js';
import type { Pod } from '../../src/apis/core/v1/types.js';
import type { PodDisruptionBudget } from '../../src/apis/policy/v1/poddisruptionbudget.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { runDisruptionController } from '../../src/controllers/disruption-controller.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { ControllerEnv, eventually, quietLog } from './controller-env.js';

const NS = 'default';
const HOLD = 'test.lodge.dev/hold';
const write = controllerWrite('disruption-test');

let env: ControllerEnv;
let pods: ResourceType;
let pdbs: ResourceType;
let sets: ResourceType;
let deployments: ResourceType;
before(async () => {
  env = await ControllerEnv.open('lodge-disruption-', quietLog);
  const reg = env.svc.registry;
  pods = reg.resource('', 'v1', 'pods')!;
  pdbs = reg.resource('policy', 'v1', 'poddisruptionbudgets')!;
  sets = reg.resource('apps', 'v1', 'replicasets')!;
  deployments = reg.resource('apps', 'v1', 'deployments')!;
  env.start((ctx) => runDisruptionController(ctx));
});
after(async () => {
  // Let go of the Pods a finalizer holds, so nothing is left half-deleted.
  for (const it of (await env.svc.list(pods, NS, {})).items) {
    const p = JSON.parse(it.value) as Pod;
    if (p.metadata.finalizers?.includes(HOLD)) await env.svc.update(pods, NS, String(p.metadata.name), { ...p, metadata: { ...p.metadata, finalizers: [] } }, write).catch(() => undefined);
  }
  await env.close();
});

const code = (e: unknown): number | undefined => (e as { code?: number }).code;

async function createPod(name: string, labels: Record<string, string>, o: { owner?: KubeObject; hold?: boolean } = {}): Promise<Pod> {
  const metadata: Record<string, unknown> = { name, namespace: NS, labels };
  if (o.owner) metadata.ownerReferences = [{ apiVersion: o.owner.apiVersion, kind: o.owner.kind, name: o.owner.metadata.name, uid: o.owner.metadata.uid, controller: true }];
  if (o.hold) metadata.finalizers = [HOLD];
  return (await env.svc.create(pods, NS, { apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [{ name: 'app', image: 'busybox' }] } }, write)).obj as Pod;
}
/** Write the Pod's status as its agent would: Running, and Ready or not. */
async function setReady(name: string, ready: boolean): Promise<void> {
  const p = (await env.svc.get(pods, NS, name)).obj as Pod;
  const conditions = [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: rfc3339() }];
  await env.svc.update(pods, NS, name, { ...p, status: { ...p.status, phase: 'Running', conditions } }, write, 'status');
}
async function readyPods(prefix: string, n: number, labels: Record<string, string>, o: { owner?: KubeObject; hold?: boolean } = {}): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const name of names) {
    await createPod(name, labels, o);
    await setReady(name, true);
  }
  return names;
}
async function createPdb(name: string, spec: Record<string, unknown>): Promise<PodDisruptionBudget> {
  return (await env.svc.create(pdbs, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: NS }, spec }, write)).obj as PodDisruptionBudget;
}
const getPdb = async (name: string): Promise<PodDisruptionBudget> => (await env.svc.get(pdbs, NS, name)).obj as PodDisruptionBudget;
const getPod = async (name: string): Promise<Pod | undefined> => (await env.svc.tryGet(pods, NS, name))?.obj as Pod | undefined;
/** The budget's status once the controller has written one that `ok` accepts. */
const statusWhen = (name: string, ok: (s: NonNullable<PodDisruptionBudget['status']>) => boolean): Promise<NonNullable<PodDisruptionBudget['status']>> =>
  eventually(`pdb ${name} status`, async () => {
    const p = await getPdb(name);
    return p.status && (p.status.observedGeneration ?? 0) >= (p.metadata.generation ?? 1) && ok(p.status) ? p.status : false;
  });
const condition = (s: NonNullable<PodDisruptionBudget['status']>): { status?: string; reason?: string; message?: string } | undefined => s.conditions?.find((c) => c.type === 'DisruptionAllowed');
const evict = (name: string, dryRun = false): ReturnType<typeof evictPod> => evictPod(env.svc, pods, NS, name, dryRun ? { dryRun: true } : {});
async function refused(name: string): Promise<ApiError> {
  const e = await evict(name).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof ApiError, `eviction of ${name} should have been refused`);
  return e;
}

test('validation: one of minAvailable and maxUnavailable, non-negative counts, percentages up to 100%, a valid selector and policy', async () => {
  const bad = async (spec: Record<string, unknown>, field: string, message: RegExp): Promise<void> => {
    const e = await createPdb('bad', spec).then(
      () => undefined,
      (err: unknown) => err as ApiError,
    );
    assert.ok(e, `accepted ${JSON.stringify(spec)}`);
    assert.equal(e.code, 422, e.message);
    assert.ok(e.details?.causes?.some((c) => c.field === field && message.test(c.message)), JSON.stringify(e.toStatus()));
    assert.match(e.message, /^PodDisruptionBudget\.policy "bad" is invalid: /);
  };
  await bad({ minAvailable: 1, maxUnavailable: 1, selector: {} }, 'spec', /^Invalid value: .*: minAvailable and maxUnavailable cannot be both set$/);
  await bad({ minAvailable: -1 }, 'spec.minAvailable', /must be greater than or equal to 0/);
  await bad({ maxUnavailable: '101%' }, 'spec.maxUnavailable', /must not be greater than 100%/);
  await bad({ maxUnavailable: 'half' }, 'spec.maxUnavailable', /a valid percent string/);
  await bad({ minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }, 'spec.selector.matchExpressions[0].values', /Required value/);
  await bad({ minAvailable: 1, unhealthyPodEvictionPolicy: 'Sometimes' }, 'spec.unhealthyPodEvictionPolicy', /Unsupported value/);
  await createPdb('good', { minAvailable: '100%', selector: { matchLabels: { app: 'nothing' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  await env.svc.delete(pdbs, NS, 'good', {});
});

test('an integer minAvailable counts the matching Pods: allowed = healthy - desired, with the DisruptionAllowed condition', async () => {
  const names = await readyPods('count', 3, { app: 'count' });
  await createPod('count-other', { app: 'other' });
  await createPdb('count', { minAvailable: 2, selector: { matchLabels: { app: 'count' } } });
  let s = await statusWhen('count', (x) => x.currentHealthy === 3);
  assert.deepEqual({ expected: s.expectedPods, healthy: s.currentHealthy, desired: s.desiredHealthy, allowed: s.disruptionsAllowed, gen: s.observedGeneration }, { expected: 3, healthy: 3, desired: 2, allowed: 1, gen: 1 });
  assert.deepEqual({ status: condition(s)?.status, reason: condition(s)?.reason }, { status: 'True', reason: 'SufficientPods' });
  await setReady(names[0]!, false);
  s = await statusWhen('count', (x) => x.currentHealthy === 2);
  assert.deepEqual({ expected: s.expectedPods, allowed: s.disruptionsAllowed }, { expected: 3, allowed: 0 });
  assert.deepEqual({ status: condition(s)?.status, reason: condition(s)?.reason }, { status: 'False', reason: 'InsufficientPods' });
  // A spec change is observed (generation 2).
  const pdb = await getPdb('count');
  await env.svc.update(pdbs, NS, 'count', { ...pdb, spec: { ...pdb.spec, minAvailable: 1 } }, write);
  s = await statusWhen('count', (x) => x.observedGeneration === 2);
  assert.deepEqual({ desired: s.desiredHealthy, allowed: s.disruptionsAllowed, reason: condition(s)?.reason }, { desired: 1, allowed: 1, reason: 'SufficientPods' });
});

test('maxUnavailable and percentages count the replicas of the Pods\' controllers; a Pod without one fails the sync safe', async () => {
  const dep = (await env.svc.create(deployments, NS, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'scaled' },
    spec: { replicas: 4, selector: { matchLabels: { app: 'scaled' } }, template: { metadata: { labels: { app: 'scaled' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
  }, write)).obj;
  const rs = (await env.svc.create(sets, NS, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'scaled-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled', uid: dep.metadata.uid, controller: true }] },
    spec: { replicas: 2, selector: { matchLabels: { app: 'scaled' } }, template: { metadata: { labels: { app: 'scaled' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
  }, write)).obj;
  await readyPods('scaled', 3, { app: 'scaled' }, { owner: rs });
  // The Deployment's 4 replicas are expected (not the ReplicaSet's 2): 4 - 1 = 3 must stay healthy.
  await createPdb('scaled-max', { maxUnavailable: 1, selector: { matchLabels: { app: 'scaled' } } });
  let s = await statusWhen('scaled-max', (x) => x.expectedPods === 4);
  assert.deepEqual({ healthy: s.currentHealthy, desired: s.desiredHealthy, allowed: s.disruptionsAllowed }, { healthy: 3, desired: 3, allowed: 0 });
  // 50% of 4, rounded up: 2 must stay.
  await createPdb('scaled-pct', { minAvailable: '50%', selector: { matchLabels: { app: 'scaled' } } });
  s = await statusWhen('scaled-pct', (x) => x.expectedPods === 4);
  assert.deepEqual({ desired: s.desiredHealthy, allowed: s.disruptionsAllowed }, { desired: 2, allowed: 1 });
  // Scaling the Deployment moves what is expected.
  const d = (await env.svc.get(deployments, NS, 'scaled')).obj;
  await env.svc.update(deployments, NS, 'scaled', { ...d, spec: { ...d.spec, replicas: 3 } }, write);
  s = await statusWhen('scaled-max', (x) => x.expectedPods === 3);
  assert.deepEqual({ desired: s.desiredHealthy, allowed: s.disruptionsAllowed }, { desired: 2, allowed: 1 });
  // A matching Pod no controller owns: SyncFailed, nothing allowed.
  await createPod('scaled-orphan', { app: 'scaled' });
  s = await eventually('SyncFailed', async () => {
    const x = (await getPdb('scaled-max')).status;
    return x && condition(x)?.reason === 'SyncFailed' && x;
  });
  assert.equal(s.disruptionsAllowed, 0);
  assert.deepEqual(condition(s), { ...condition(s), status: 'False', message: 'found no controller ref for pod "scaled-orphan"' });
  // …and said on the budget in Kubernetes' words (the recorder writes Events in the background).
  const events = env.svc.registry.resource('', 'v1', 'events')!;
  const reasons = await eventually('the budget\'s Warning events', async () => {
    const got = new Set(
      (await env.svc.list(events, NS, {})).items
        .map((it) => JSON.parse(it.value) as KubeObject & { reason?: string; type?: string; involvedObject?: { kind?: string; name?: string } })
        .filter((e) => e.involvedObject?.kind === 'PodDisruptionBudget' && e.involvedObject.name === 'scaled-max' && e.type === 'Warning')
        .map((e) => e.reason),
    );
    return got.has('NoControllerRef') && got.has('CalculateExpectedPodCountFailed') && got;
  });
  assert.ok(reasons);
  await env.svc.delete(pods, NS, 'scaled-orphan', {});
  s = await statusWhen('scaled-max', (x) => condition(x)?.reason === 'SufficientPods');
  assert.equal(s.disruptionsAllowed, 1);
});

test('eviction takes one allowed disruption and records the Pod, then answers 429 with the budget\'s cause; the controller forgets the Pod once it is deleting', async () => {
  const names = await readyPods('evict', 3, { app: 'evict' }, { hold: true });
  await createPdb('evict', { minAvailable: 2, selector: { matchLabels: { app: 'evict' } } });
  await statusWhen('evict', (x) => x.disruptionsAllowed === 1);
  // dryRun: checked, nothing written.
  const before = await getPdb('evict');
  assert.deepEqual(await evict(names[0]!, true), { ok: true });
  assert.equal((await getPdb('evict')).metadata.resourceVersion, before.metadata.resourceVersion);
  assert.equal((await getPod(names[0]!))?.metadata.deletionTimestamp, undefined);

  assert.deepEqual(await evict(names[0]!), { ok: true });
  const evicted = (await getPod(names[0]!))!;
  assert.ok(evicted.metadata.deletionTimestamp, 'the evicted Pod is being deleted');
  const target = evicted.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
  assert.deepEqual({ status: target?.status, reason: target?.reason, message: target?.message }, { status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' });
  // The deleting Pod leaves disruptedPods and the healthy count; 2 healthy of 2 desired: nothing allowed.
  const s = await statusWhen('evict', (x) => !x.disruptedPods && x.currentHealthy === 2);
  assert.equal(s.disruptionsAllowed, 0);
  const e = await refused(names[1]!);
  assert.equal(e.code, 429);
  assert.deepEqual(e.toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: WOULD_VIOLATE,
    reason: 'TooManyRequests',
    code: 429,
    details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget evict needs 2 healthy pods and has 2 currently' }] },
  });
  assert.equal((await getPod(names[1]!))?.metadata.deletionTimestamp, undefined, 'a refused Pod stays');
  // A replacement becomes ready: one may go again.
  await readyPods('evict-new', 1, { app: 'evict' });
  await statusWhen('evict', (x) => x.disruptionsAllowed === 1);
  assert.deepEqual(await evict(names[1]!), { ok: true });
});

test('a budget whose sync failed (or that no sync has observed yet) refuses evictions with 429', async () => {
  const names = await readyPods('race', 3, { app: 'race' }, { hold: true });
  await createPdb('race', { maxUnavailable: '0%', selector: { matchLabels: { app: 'race' } } });
  // Pods without a controller and a percentage: the sync fails safe and never observes the generation, so evictions are refused.
  const s = await eventually('SyncFailed', async () => {
    const x = (await getPdb('race')).status;
    return x && condition(x)?.reason === 'SyncFailed' && x;
  });
  assert.equal(s.disruptionsAllowed, 0);
  const e = await refused(names[0]!);
  assert.equal(e.code, 429);
  assert.equal(e.details?.causes?.[0]?.message, 'The disruption budget race is still being processed by the server.');
  assert.equal(e.details?.retryAfterSeconds, 10);
});

test('Pods that are Pending, unready under an allowing policy, or not covered go at once; two budgets answer 500', async () => {
  // Pending (never started): no budget is consulted.
  await createPod('free-pending', { app: 'free' }, { hold: true });
  await createPdb('free', { minAvailable: '100%', selector: { matchLabels: { app: 'free' } } });
  assert.deepEqual(await evict('free-pending'), { ok: true });
  assert.ok((await getPod('free-pending'))?.metadata.deletionTimestamp);
  // Not covered by any budget.
  await readyPods('uncovered', 1, { app: 'uncovered' });
  assert.deepEqual(await evict('uncovered-0'), { ok: true });
  assert.equal(await getPod('uncovered-0'), undefined);
  // Unready, AlwaysAllow: goes without taking from the budget.
  await readyPods('sick', 2, { app: 'sick' });
  await createPdb('sick', { minAvailable: 2, selector: { matchLabels: { app: 'sick' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  await statusWhen('sick', (x) => x.currentHealthy === 2);
  await setReady('sick-1', false);
  await statusWhen('sick', (x) => x.currentHealthy === 1);
  assert.deepEqual(await evict('sick-1'), { ok: true });
  assert.equal(await getPod('sick-1'), undefined);
  assert.equal((await refused('sick-0')).code, 429, 'the healthy one is protected');
  // Unready, IfHealthyBudget (the default): goes only while the budget is met.
  await readyPods('meh', 3, { app: 'meh' });
  await createPdb('meh', { minAvailable: 2, selector: { matchLabels: { app: 'meh' } } });
  await setReady('meh-2', false);
  await statusWhen('meh', (x) => x.currentHealthy === 2 && x.disruptionsAllowed === 0);
  assert.deepEqual(await evict('meh-2'), { ok: true });
  assert.equal(await getPod('meh-2'), undefined);
  // Two budgets over one Pod.
  await readyPods('two', 1, { app: 'two', tier: 'web' });
  await createPdb('two-a', { maxUnavailable: 1, selector: { matchLabels: { app: 'two' } } });
  await createPdb('two-b', { maxUnavailable: 1, selector: { matchLabels: { tier: 'web' } } });
  assert.deepEqual(await evict('two-0'), { ok: false, code: 500, message: MORE_THAN_ONE_BUDGET });
  assert.ok(await getPod('two-0'));
  // A Pod that does not exist: 404.
  assert.equal(code(await evict('nope').catch((err: unknown) => err)), 404);
});

test('a DisruptionTarget condition no deletion followed is reset to False after two minutes; a fresh one is left alone', async () => {
  const mark = async (name: string, at: number): Promise<void> => {
    const p = (await env.svc.get(pods, NS, name)).obj as Pod;
    const conditions = [
      { type: 'Ready', status: 'True', lastTransitionTime: rfc3339() },
      { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: rfc3339(at) },
    ];
    await env.svc.update(pods, NS, name, { ...p, status: { ...p.status, phase: 'Running', conditions } }, write, 'status');
  };
  const target = async (name: string): Promise<{ status?: string; reason?: string } | undefined> =>
    (await getPod(name))?.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
  await createPod('stale-old', { app: 'stale' });
  await createPod('stale-fresh', { app: 'stale' });
  await mark('stale-old', Date.now() - 3 * 60_000);
  await mark('stale-fresh', Date.now());
  const reset = await eventually('the old mark reset', async () => {
    const c = await target('stale-old');
    return c?.status === 'False' && c;
  });
  assert.equal(reset.reason, 'EvictionByEvictionAPI', 'the reason stays: it says what was attempted');
  assert.equal((await target('stale-fresh'))?.status, 'True', 'a mark younger than two minutes stays');
});
