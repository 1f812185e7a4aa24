// Priority and preemption: the queue pops higher priorities first (then
// oldest); victim selection removes the fewest lower-priority Pods, prefers
// sparing Pods a PodDisruptionBudget protects, never touches Instances or
// failures removing Pods cannot fix, and picks the node by kube-scheduler's
// order. Then the scheduler against a real resource service: a high-priority
// Pod preempts a low one (DisruptionTarget, deletion, Preempted event,
// nominatedNodeName) and is bound once the victim is gone; and priority
// admission resolves, defaults and refuses as Kubernetes does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { installPriorityAdmission, bootstrapPriorityClasses } from '../../src/api/admission/priority.js';
import { ApiError } from '../../src/api/status.js';
import { SchedulerCache } from '../../src/scheduler/cache.js';
import { CycleState } from '../../src/scheduler/framework.js';
import { defaultProfile } from '../../src/scheduler/profile.js';
import { eligibleToPreempt, findPreemption, NO_VICTIMS, NOT_HELPFUL, pickOneNode, selectVictimsOnNode, splitByBudget, type Candidate, type PdbInfo } from '../../src/scheduler/preemption.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import { runScheduler, type SchedulerEvents } from '../../src/scheduler/scheduler.js';
import { instanceWorkload, podWorkload, type Workload } from '../../src/scheduler/workload.js';
import type { Pod } from '../../src/apis/core/v1/types.js';
import type { Instance } from '../../src/apis/lodge/v1alpha1/instance-types.js';
import { ControllerEnv, eventually, quietLog } from '../controllers/controller-env.js';

describe('scheduling queue order', () => {
  test('higher priority first, then in arrival order; unknown priorities count as 0', async () => {
    const prio: Record<string, number> = { a: 0, b: 10, c: 10, d: -5, e: 1000 };
    const q = new SchedulingQueue((k) => prio[k] ?? 0);
    try {
      for (const k of ['a', 'b', 'c', 'd', 'x', 'e']) q.add(k);
      const got: string[] = [];
      for (let i = 0; i < 6; i++) got.push((await q.pop())!);
      assert.deepEqual(got, ['e', 'b', 'c', 'a', 'x', 'd']);
      // A later high-priority arrival overtakes what waits.
      q.add('a');
      q.add('b');
      q.add('e');
      assert.equal(await q.pop(), 'e');
      assert.equal(await q.pop(), 'b');
      assert.equal(await q.pop(), 'a');
    } finally {
      q.stop();
    }
  });

  test('a large queue keeps the order (heap)', async () => {
    const n = 2000;
    const prio = (k: string): number => Number(k.split('-')[1]) % 7;
    const q = new SchedulingQueue(prio);
    try {
      for (let i = 0; i < n; i++) q.add(`w-${i}`);
      let last = { p: Infinity, i: -1 };
      for (let i = 0; i < n; i++) {
        const k = (await q.pop())!;
        const p = prio(k);
        const idx = Number(k.split('-')[1]);
        assert.ok(p < last.p || (p === last.p && idx > last.i), `${k} after ${JSON.stringify(last)}`);
        last = { p, i: idx };
      }
    } finally {
      q.stop();
    }
  });
});

// ---- victim selection on a hand-made cache ----------------------------------

let uid = 0;
function mkPod(name: string, o: { cpu?: string; priority?: number; labels?: Record<string, string>; ns?: string; policy?: string; deleting?: boolean; tolerations?: unknown[] } = {}): Workload {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.ns ?? 'default', uid: `u${++uid}-${name}`, labels: o.labels ?? {}, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: o.cpu ?? '1' } } }], priority: o.priority, preemptionPolicy: o.policy, tolerations: o.tolerations },
  } as unknown as Pod;
  return podWorkload(pod);
}
function mkNode(name: string, cpu: string, o: { taints?: unknown[] } = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: { taints: o.taints }, status: { allocatable: { cpu, memory: '64Gi', pods: '110' } } };
}
function cacheWith(nodes: Array<[KubeObject, Workload[]]>): SchedulerCache {
  const c = new SchedulerCache();
  for (const [n, ws] of nodes) {
    c.upsertNode(n);
    for (const w of ws) c.bound(w, String(n.metadata.name));
  }
  return c;
}
const names = (ws: Workload[]): string[] => ws.map((w) => w.name);

describe('victim selection', () => {
  test('the fewest lower-priority victims: all removed, then reprieved most important first while it still fits', () => {
    const low1 = mkPod('low1', { cpu: '1', priority: 1 });
    const low2 = mkPod('low2', { cpu: '1', priority: 2 });
    const low3 = mkPod('low3', { cpu: '2', priority: 3 });
    const same = mkPod('same', { cpu: '1', priority: 100 });
    const cache = cacheWith([[mkNode('n1', '5'), [low1, low2, low3, same]]]);
    const w = mkPod('high', { cpu: '2', priority: 100 });
    const state = new CycleState(w, cache);
    for (const f of defaultProfile.filters) f.prepare?.(state);
    const r = selectVictimsOnNode(w, cache.nodes.get('n1')!, state, defaultProfile, []);
    assert.ok(typeof r !== 'string', String(r));
    // low3 (priority 3) is given back first and fits (2 cpu free needed of 5: 1+1+2+1 = 5 used);
    // then low2 does not fit any more, nor low1: both go. The equal-priority Pod is never a victim.
    assert.deepEqual(names(r.victims), ['low2', 'low1']);
    assert.equal(r.pdbViolations, 0);
    // The node is left as it was.
    assert.equal(cache.nodes.get('n1')!.workloads.size, 4);
    assert.equal(cache.nodes.get('n1')!.requested.cpu, 5000);
  });

  test('no victims when only equal or higher priorities hold the node, or when they are already terminating', () => {
    const cache = cacheWith([[mkNode('n1', '2'), [mkPod('a', { cpu: '1', priority: 5 }), mkPod('b', { cpu: '1', priority: 0, deleting: true })]]]);
    const w = mkPod('w', { cpu: '2', priority: 5 });
    const state = new CycleState(w, cache);
    assert.equal(selectVictimsOnNode(w, cache.nodes.get('n1')!, state, defaultProfile, []), NO_VICTIMS);
  });

  test('a taint the preemptor does not tolerate is not helped by preemption; Instances are never victims', () => {
    const inst = instanceWorkload({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'vm', namespace: 'default', uid: 'inst-1' }, spec: { image: 'x', cpu: 40, memory: '1Gi' } } as Instance);
    const cache = cacheWith([
      [mkNode('tainted', '1', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }), [mkPod('t-low', { cpu: '1', priority: 0 })]],
      [mkNode('instances', '4'), [inst, mkPod('i-low', { cpu: '1', priority: 0 })]],
    ]);
    const w = mkPod('w', { cpu: '2', priority: 10 });
    const r = findPreemption(w, cache, defaultProfile, []);
    assert.equal(r.candidate, undefined);
    // The instance takes 4 cpu: removing the one Pod there (1 cpu) is not enough.
    assert.deepEqual([...r.reasons].sort(), [[NO_VICTIMS, 1], [NOT_HELPFUL, 1]].sort());
  });

  test('Pods a budget protects are spared first; the node with fewer budget violations wins', () => {
    const pdbs: PdbInfo[] = [{ namespace: 'default', selector: { matchLabels: { app: 'db' } }, disruptionsAllowed: 0 }];
    const { violating, nonViolating } = splitByBudget([mkPod('d1', { labels: { app: 'db' } }), mkPod('w1', { labels: { app: 'web' } }), mkPod('x', { ns: 'other', labels: { app: 'db' } })], pdbs);
    assert.deepEqual(names(violating), ['d1']);
    assert.deepEqual(names(nonViolating), ['w1', 'x']);
    // An empty selector protects nothing for preemption (kube-scheduler's rule).
    assert.equal(splitByBudget([mkPod('d2', { labels: { app: 'db' } })], [{ namespace: 'default', selector: {}, disruptionsAllowed: 0 }]).violating.length, 0);

    const cache = cacheWith([
      [mkNode('a', '2'), [mkPod('db-a', { cpu: '2', priority: 0, labels: { app: 'db' } })]],
      [mkNode('b', '2'), [mkPod('web-b', { cpu: '2', priority: 5, labels: { app: 'web' } })]],
    ]);
    const w = mkPod('w', { cpu: '2', priority: 10 });
    // Without budgets the lower victim (priority 0, on a) is preferred; with the budget, b (no violation).
    assert.equal(findPreemption(w, cache, defaultProfile, []).candidate?.node, 'a');
    const r = findPreemption(w, cache, defaultProfile, pdbs);
    assert.equal(r.candidate?.node, 'b');
    assert.deepEqual(names(r.candidate!.victims), ['web-b']);
  });

  test("kube-scheduler's node order: fewest PDB violations, lowest highest victim, smallest sum, fewest victims", () => {
    const v = (p: number): Workload => mkPod(`p${p}-${uid}`, { priority: p });
    const c = (node: string, victims: Workload[], pdbViolations = 0): Candidate => ({ node, victims, pdbViolations });
    assert.equal(pickOneNode([c('x', [v(1)], 1), c('y', [v(9)], 0)])?.node, 'y');
    assert.equal(pickOneNode([c('x', [v(9)]), c('y', [v(5), v(5), v(5)])])?.node, 'y');
    assert.equal(pickOneNode([c('x', [v(5), v(4)]), c('y', [v(5), v(1)])])?.node, 'y');
    // Negative priorities: more victims do not make a smaller sum.
    assert.equal(pickOneNode([c('x', [v(-5), v(-5)]), c('y', [v(-5)])])?.node, 'y');
    assert.equal(pickOneNode([c('x', [v(3)]), c('y', [v(3)])])?.node, 'x');
    assert.equal(pickOneNode([]), undefined);
  });

  test('preemptionPolicy Never does not preempt; a nominated node with lower-priority Pods terminating is waited for', () => {
    const cache = cacheWith([[mkNode('n', '2'), [mkPod('going', { cpu: '2', priority: 0, deleting: true })]]]);
    assert.equal(eligibleToPreempt(mkPod('never', { priority: 10, policy: 'Never' }), cache), false);
    assert.equal(eligibleToPreempt(mkPod('p', { priority: 10 }), cache), true);
    assert.equal(eligibleToPreempt(mkPod('p', { priority: 10 }), cache, 'n'), false);
  });
});

// ---- the scheduler and admission on a real resource service -----------------

describe('preemption and priority admission (resource service)', () => {
  const write = controllerWrite('preemption-test');
  let env: ControllerEnv;
  let nodes: ResourceType;
  let pods: ResourceType;
  let pcs: ResourceType;
  const events: Array<{ name: string; reason: string; message: string }> = [];
  const recorder: SchedulerEvents = { event: (obj, _type, reason, message) => events.push({ name: String(obj.metadata.name), reason, message }) };

  before(async () => {
    env = await ControllerEnv.open('lodge-preemption-', quietLog);
    nodes = env.svc.registry.resource('', 'v1', 'nodes')!;
    pods = env.svc.registry.resource('', 'v1', 'pods')!;
    pcs = env.svc.registry.resource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
    installPriorityAdmission(env.svc, env.svc.store);
    await bootstrapPriorityClasses(env.svc);
    await env.svc.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'only', labels: { 'kubernetes.io/hostname': 'only' } } }, write);
    const n = await env.svc.get(nodes, undefined, 'only');
    const alloc = { cpu: '2', memory: '4Gi', pods: '110' };
    await env.svc.update(nodes, undefined, 'only', { ...n.obj, status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: 'True' }] } }, write, 'status');
    env.start((ctx) => runScheduler(ctx, { events: recorder }));
  });
  after(async () => {
    await env.close();
  });

  const pc = (name: string, value: number, extra: Record<string, unknown> = {}): Promise<unknown> =>
    env.svc.create(pcs, undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra }, write);
  const pod = (name: string, cpu: string, spec: Record<string, unknown> = {}): Promise<{ obj: KubeObject }> =>
    env.svc.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu } } }], ...spec } }, write);
  async function refused(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ApiError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    });
  }

  test('admission: class resolved to priority and preemptionPolicy; unknown class, a disagreeing priority, a second default refused', async () => {
    await pc('low', 10);
    await pc('high', 1000, { preemptionPolicy: 'PreemptLowerPriority' });
    await pc('polite', 500, { preemptionPolicy: 'Never' });
    const plain = (await pod('plain', '0')).obj.spec as { priority?: number; priorityClassName?: string; preemptionPolicy?: string };
    assert.deepEqual([plain.priority, plain.priorityClassName, plain.preemptionPolicy], [0, undefined, 'PreemptLowerPriority']);
    const p = (await pod('polite-pod', '0', { priorityClassName: 'polite' })).obj.spec as { priority?: number; preemptionPolicy?: string };
    assert.deepEqual([p.priority, p.preemptionPolicy], [500, 'Never']);
    const crit = (await pod('crit', '0', { priorityClassName: 'system-node-critical' })).obj.spec as { priority?: number };
    assert.equal(crit.priority, 2000001000);
    await refused(pod('nope', '0', { priorityClassName: 'foo' }), 403, /^pods "nope" is forbidden: no PriorityClass with name foo was found$/);
    await refused(pod('liar', '0', { priorityClassName: 'low', priority: 7 }), 403, /the integer value of priority \(7\) must not be provided in pod spec; priority admission controller computed 10 from the given PriorityClass name/);
    await refused(pod('liar2', '0', { priorityClassName: 'polite', preemptionPolicy: 'PreemptLowerPriority' }), 403, /the string value of PreemptionPolicy \(PreemptLowerPriority\) must not be provided/);
    await pc('default-class', 3, { globalDefault: true });
    const d = (await pod('defaulted', '0')).obj.spec as { priority?: number; priorityClassName?: string };
    assert.deepEqual([d.priority, d.priorityClassName], [3, 'default-class']);
    await refused(pc('another-default', 4, { globalDefault: true }), 403, /PriorityClass default-class is already marked as default\. Only one default can exist/);
    await env.svc.delete(pcs, undefined, 'default-class', {});
    // PriorityClass validation: 422 naming the field.
    await refused(pc('too-high', 1_000_000_001), 422, /value: Forbidden: maximum allowed value of a user defined priority is 1000000000/);
    await refused(pc('system-mine', 5), 422, /metadata\.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only/);
    const low = (await env.svc.get(pcs, undefined, 'low')).obj;
    await refused(env.svc.update(pcs, undefined, 'low', { ...low, value: 11 }, write), 422, /value: Forbidden: may not be changed in an update/);
    await refused(env.svc.update(pcs, undefined, 'low', { ...low, preemptionPolicy: 'Never' }, write), 422, /preemptionPolicy: Invalid value: "Never": field is immutable/);
    await refused(env.svc.delete(pcs, undefined, 'system-cluster-critical', {}), 403, /forbidden/);
    for (const n of ['plain', 'polite-pod', 'crit', 'defaulted']) await env.svc.delete(pods, 'default', n, { gracePeriodSeconds: 0 });
  });

  test('a high-priority Pod preempts a low one: DisruptionTarget, deleted, Preempted event, nominatedNodeName; bound once it is gone', async () => {
    await pod('victim', '1500m', { priorityClassName: 'low' });
    await pod('bystander', '500m', { priorityClassName: 'high' });
    const nodeOf = async (n: string): Promise<string | undefined> => ((await env.svc.tryGet(pods, 'default', n))?.obj.spec as { nodeName?: string })?.nodeName;
    await eventually('victim and bystander bound', async () => (await nodeOf('victim')) && (await nodeOf('bystander')));
    await pod('preemptor', '1', { priorityClassName: 'high' });
    const victim = await eventually('victim marked and being deleted', async () => {
      const v = (await env.svc.tryGet(pods, 'default', 'victim'))?.obj as Pod | undefined;
      return v?.metadata.deletionTimestamp ? v : undefined;
    });
    const cond = victim.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'PreemptionByScheduler');
    assert.equal(cond?.message, 'default-scheduler: preempting to accommodate a higher priority pod');
    const preemptor = await eventually('preemptor nominated', async () => {
      const p = (await env.svc.get(pods, 'default', 'preemptor')).obj as Pod;
      return p.status?.nominatedNodeName ? p : undefined;
    });
    assert.equal(preemptor.status?.nominatedNodeName, 'only');
    assert.ok(events.some((e) => e.name === 'victim' && e.reason === 'Preempted' && e.message === `Preempted by pod ${preemptor.metadata.uid} on node only`), JSON.stringify(events));
    // A lower-priority newcomer does not take the room held for the preemptor, and preempts nothing (nothing lower).
    await pod('latecomer', '1', { priorityClassName: 'low' });
    // No agent here: finish the victim's deletion as its node's agent would.
    await env.svc.delete(pods, 'default', 'victim', { gracePeriodSeconds: 0 });
    assert.equal(await eventually('preemptor bound', () => nodeOf('preemptor')), 'only');
    assert.equal(await nodeOf('latecomer'), undefined);
    assert.equal((await env.svc.tryGet(pods, 'default', 'bystander')) !== null, true, 'the equal-priority bystander stays');
    for (const n of ['bystander', 'preemptor', 'latecomer']) await env.svc.delete(pods, 'default', n, { gracePeriodSeconds: 0 });
  });
});
