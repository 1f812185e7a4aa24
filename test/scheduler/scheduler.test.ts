// The scheduler against the real resource service on SQLite (no agent):
// Nodes are written as an agent would register them, workloads are created,
// and the test reads where the binding subresource put them — or the
// PodScheduled=False condition saying why nowhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { runScheduler, type SchedulerEvents } from '../../src/scheduler/scheduler.js';
import { fitErrorMessage } from '../../src/scheduler/fit-error.js';
import { feasibleNodesToFind } from '../../src/scheduler/schedule-one.js';
import { bind } from '../../src/api/binding/binding.js';
import { ApiError } from '../../src/api/status.js';
import { ControllerEnv, eventually, type Running, quietLog } from '../controllers/controller-env.js';

const write = controllerWrite('scheduler-test');
const quiet = quietLog;

let env: ControllerEnv;
let nodes: ResourceType;
let pods: ResourceType;
let instances: ResourceType;
let scheduler: Running;
const events: Array<{ name: string; type: string; reason: string; message: string }> = [];
const recorder: SchedulerEvents = { event: (obj, type, reason, message) => events.push({ name: String(obj.metadata.name), type, reason, message }) };

async function node(name: string, o: { cpu?: string; memory?: string; pods?: number; labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean } = {}): Promise<void> {
  const spec: Record<string, unknown> = {};
  if (o.taints) spec.taints = o.taints;
  if (o.unschedulable) spec.unschedulable = true;
  await env.svc.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } }, spec }, write);
  const got = await env.svc.get(nodes, undefined, name);
  const allocatable = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: String(o.pods ?? 110) };
  await env.svc.update(nodes, undefined, name, { ...got.obj, status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True' }] } }, write, 'status');
}

function podSpec(o: { cpu?: string; memory?: string; spec?: Record<string, unknown> } = {}): Record<string, unknown> {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return { containers: [{ name: 'c', image: 'busybox', ...(o.cpu || o.memory ? { resources: { requests } } : {}) }], ...o.spec };
}

async function pod(name: string, o: { cpu?: string; memory?: string; spec?: Record<string, unknown>; labels?: Record<string, string>; ns?: string; owner?: KubeObject } = {}): Promise<void> {
  const metadata: Record<string, unknown> = { name, labels: o.labels ?? {} };
  if (o.owner) metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: o.owner.metadata.name, uid: o.owner.metadata.uid, controller: true }];
  await env.svc.create(pods, o.ns ?? 'default', { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec(o) }, write);
}

const nodeOf = async (name: string, ns = 'default'): Promise<string | undefined> => ((await env.svc.tryGet(pods, ns, name))?.obj.spec as { nodeName?: string } | undefined)?.nodeName;
const boundTo = (name: string, ns = 'default'): Promise<string> => eventually(`${name} bound`, () => nodeOf(name, ns));
async function unschedulable(name: string): Promise<string> {
  return eventually(`${name} reported unschedulable`, async () => {
    const conds = ((await env.svc.get(pods, 'default', name)).obj.status?.conditions ?? []) as Array<{ type: string; status: string; reason?: string; message?: string }>;
    const c = conds.find((x) => x.type === 'PodScheduled');
    return c?.status === 'False' && c.reason === 'Unschedulable' ? c.message : undefined;
  });
}
async function removePods(): Promise<void> {
  for (const p of (await env.svc.list(pods, undefined, {})).items) {
    const obj = JSON.parse(p.value) as KubeObject;
    await env.svc.delete(pods, obj.metadata.namespace, String(obj.metadata.name), { gracePeriodSeconds: 0 } as never).catch(() => undefined);
  }
}

describe('scheduler', () => {
  before(async () => {
    env = await ControllerEnv.open('lodge-scheduler-', quiet);
    nodes = env.svc.registry.resource('', 'v1', 'nodes')!;
    pods = env.svc.registry.resource('', 'v1', 'pods')!;
    instances = env.svc.registry.resource('lodge.dev', 'v1alpha1', 'instances')!;
    await node('small', { cpu: '1', memory: '1Gi', labels: { disk: 'hdd', zone: 'a' } });
    await node('big', { cpu: '8', memory: '16Gi', labels: { disk: 'ssd', zone: 'a', 'lodge.dev/accelerator': 'tcg' } });
    await node('tainted', { cpu: '8', memory: '16Gi', labels: { zone: 'b' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
    scheduler = env.start((ctx) => runScheduler(ctx, { events: recorder }));
  });
  after(async () => {
    await env.close();
  });

  test('fit: a Pod goes where its requests fit, and one that fits nowhere says why, per node', async () => {
    await pod('needs-4-cpu', { cpu: '4' });
    assert.equal(await boundTo('needs-4-cpu'), 'big');
    await pod('needs-64-cpu', { cpu: '64', memory: '32Gi' });
    const msg = await unschedulable('needs-64-cpu');
    assert.equal(msg, '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.');
    assert.ok(events.some((e) => e.name === 'needs-64-cpu' && e.type === 'Warning' && e.reason === 'FailedScheduling' && e.message === msg));
    assert.ok(events.some((e) => e.name === 'needs-4-cpu' && e.reason === 'Scheduled' && e.message === 'Successfully assigned default/needs-4-cpu to big'));
    // Room appears (a bigger node joins): the waiting Pod is placed without being touched.
    await node('huge', { cpu: '96', memory: '64Gi' });
    assert.equal(await boundTo('needs-64-cpu'), 'huge');
    const cond = ((await env.svc.get(pods, 'default', 'needs-64-cpu')).obj.status?.conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'PodScheduled');
    assert.equal(cond?.status, 'True');
    await env.svc.delete(nodes, undefined, 'huge', {} as never);
    await removePods();
  });

  test('nodeSelector, required node affinity (also matchFields metadata.name), taints and tolerations, cordon', async () => {
    await pod('on-ssd', { spec: { nodeSelector: { disk: 'ssd' } } });
    assert.equal(await boundTo('on-ssd'), 'big');
    await pod('by-name', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['small'] }] }] } } } } });
    assert.equal(await boundTo('by-name'), 'small');
    await pod('not-a', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }] } } } } });
    // Only the tainted node is in zone b: without a toleration, nowhere.
    assert.equal(await unschedulable('not-a'), "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
    await pod('db', { spec: { nodeSelector: { zone: 'b' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] } });
    assert.equal(await boundTo('db'), 'tainted');
    // Cordoned: only a Pod tolerating node.kubernetes.io/unschedulable goes there.
    const big = (await env.svc.get(nodes, undefined, 'big')).obj;
    await env.svc.update(nodes, undefined, 'big', { ...big, spec: { ...big.spec, unschedulable: true } }, write);
    await pod('ssd-cordoned', { spec: { nodeSelector: { disk: 'ssd' } } });
    assert.match(await unschedulable('ssd-cordoned'), /1 node\(s\) were unschedulable/);
    await pod('ssd-tolerant', { spec: { nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } });
    assert.equal(await boundTo('ssd-tolerant'), 'big');
    // As `kubectl uncordon` does it: a patch that removes the field.
    await env.svc.patch(nodes, undefined, 'big', 'merge', { spec: { unschedulable: null } }, { ...write, force: false });
    assert.equal(await boundTo('ssd-cordoned'), 'big', 'uncordoned: the waiting Pod is placed');
    await removePods();
  });

  test('pod anti-affinity spreads over hostnames, affinity co-locates, existing anti-affinity is honoured both ways; host ports', async () => {
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    for (const n of ['web-1', 'web-2', 'web-3']) await pod(n, { labels: { app: 'web' }, spec: { affinity: anti } });
    const placed = [await boundTo('web-1'), await boundTo('web-2')];
    assert.match(await unschedulable('web-3'), /node\(s\) didn't match pod anti-affinity rules/);
    assert.deepEqual([...placed].sort(), ['big', 'small']);
    // Affinity to app=web in the same zone: zone a (small, big), not b.
    await pod('near-web', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'zone' }] } } } });
    assert.ok(['small', 'big'].includes(await boundTo('near-web')));
    // Symmetry: a plain app=web Pod (no rules of its own) may not join the anti-affine ones on their hostnames.
    await pod('web-plain', { labels: { app: 'web' }, spec: { nodeSelector: { disk: 'ssd' } } });
    assert.match(await unschedulable('web-plain'), /node\(s\) didn't satisfy existing pods anti-affinity rules/);
    // Host ports: a second Pod wanting the same host port on the one feasible node waits.
    const port = { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }] }], nodeSelector: { disk: 'hdd' } };
    await env.svc.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'port-1' }, spec: port }, write);
    assert.equal(await boundTo('port-1'), 'small');
    await env.svc.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'port-2' }, spec: port }, write);
    assert.match(await unschedulable('port-2'), /1 node\(s\) didn't have free ports for the requested pod ports/);
    await removePods();
  });

  test('replicas of one owner are spread over the nodes', async () => {
    await node('spare', { cpu: '8', memory: '16Gi' });
    const cm = await env.svc.create(env.svc.registry.resource('', 'v1', 'configmaps')!, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner' } }, write);
    // Three untainted nodes; the same requests everywhere, so only spreading differs.
    for (let i = 0; i < 6; i++) await pod(`r-${i}`, { owner: cm.obj, spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['big', 'spare'] }] }] } } } } });
    const where = await Promise.all(Array.from({ length: 6 }, (_, i) => boundTo(`r-${i}`)));
    const count = (n: string): number => where.filter((x) => x === n).length;
    assert.equal(count('big'), 3, where.join(','));
    assert.equal(count('spare'), 3, where.join(','));
    await removePods();
    await env.svc.delete(nodes, undefined, 'spare', {} as never);
  });

  test('topologySpreadConstraints: DoNotSchedule keeps zones within maxSkew (a node without the label is out), ScheduleAnyway prefers the emptier zone', async () => {
    await node('zx', { labels: { zone: 'x', spread: 'yes' } });
    await node('zy', { labels: { zone: 'y', spread: 'yes' } });
    await node('nozone', { labels: { spread: 'yes' } });
    const constraint = (when: string): Record<string, unknown> => ({ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: when, labelSelector: { matchLabels: { app: 's' } } });
    const spec = (when: string): Record<string, unknown> => ({ nodeSelector: { spread: 'yes' }, topologySpreadConstraints: [constraint(when)] });
    for (let i = 0; i < 4; i++) {
      await pod(`s-${i}`, { labels: { app: 's' }, spec: spec('DoNotSchedule') });
      await boundTo(`s-${i}`);
    }
    const where = await Promise.all([0, 1, 2, 3].map((i) => boundTo(`s-${i}`)));
    assert.deepEqual([...where].sort(), ['zx', 'zx', 'zy', 'zy'], where.join(','));
    // Zone y cordoned: one more fits in x (3 vs 2), the next would make the skew 2.
    const zy = (await env.svc.get(nodes, undefined, 'zy')).obj;
    await env.svc.update(nodes, undefined, 'zy', { ...zy, spec: { ...zy.spec, unschedulable: true } }, write);
    await pod('s-4', { labels: { app: 's' }, spec: spec('DoNotSchedule') });
    assert.equal(await boundTo('s-4'), 'zx');
    await pod('s-5', { labels: { app: 's' }, spec: spec('DoNotSchedule') });
    assert.equal(
      await unschedulable('s-5'),
      "0/6 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) didn't match pod topology spread constraints (missing required label), 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/6 nodes are available: 1 No preemption victims found for incoming pod, 5 Preemption is not helpful for scheduling.",
    );
    // ScheduleAnyway: placed, and where the fewest are (the label-less node counts as the worst).
    await env.svc.patch(nodes, undefined, 'zy', 'merge', { spec: { unschedulable: null } }, { ...write, force: false });
    await pod('soft', { labels: { app: 's' }, spec: spec('ScheduleAnyway') });
    assert.equal(await boundTo('soft'), 'zy');
    await removePods();
    for (const n of ['zx', 'zy', 'nozone']) await env.svc.delete(nodes, undefined, n, {} as never);
  });

  test('Instances: VMs only on nodes that run QEMU, spec.nodeName as a filter, status.nodeName through instances/binding', async () => {
    const create = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
      env.svc.create(instances, 'default', { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name }, spec: { image: 'busybox', ...spec } }, write);
    const instanceNode = (name: string): Promise<string> => eventually(`${name} bound`, async () => ((await env.svc.get(instances, 'default', name)).obj.status as { nodeName?: string } | undefined)?.nodeName);
    await create('vm1', { type: 'vm', memory: '256Mi', cpu: 1 });
    assert.equal(await instanceNode('vm1'), 'big');
    const st = (await env.svc.get(instances, 'default', 'vm1')).obj.status as { phase?: string; conditions?: Array<{ type: string; status: string }> };
    assert.equal(st.phase, 'Scheduled');
    assert.equal(st.conditions?.find((c) => c.type === 'Scheduled')?.status, 'True');
    await create('c1', { type: 'container', nodeName: 'small', memory: '128Mi', cpu: 1 });
    assert.equal(await instanceNode('c1'), 'small');
    await create('too-big', { type: 'vm', memory: '64Gi', cpu: 2 });
    const msg = await eventually('too-big unschedulable', async () => {
      const c = (((await env.svc.get(instances, 'default', 'too-big')).obj.status as { conditions?: Array<{ type: string; status: string; message?: string }> } | undefined)?.conditions ?? []).find((x) => x.type === 'Scheduled');
      return c?.status === 'False' ? c.message : undefined;
    });
    assert.equal(msg, '0/3 nodes are available: 1 Insufficient memory, 1 node(s) cannot run virtual machines (no QEMU), 1 node(s) had untolerated taint {dedicated: db}. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.');
  });

  test('the binding subresource refuses a second binding, a deleted object and a uid mismatch', async () => {
    await env.svc.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'manual' }, spec: { ...podSpec(), schedulerName: 'someone-else' } }, write);
    await bind(env.svc, pods, 'default', { name: 'manual', nodeName: 'small' }, write);
    assert.equal(await nodeOf('manual'), 'small');
    await assert.rejects(bind(env.svc, pods, 'default', { name: 'manual', nodeName: 'big' }, write), (e: ApiError) => e.code === 409 && /already assigned to node "small"/.test(e.message));
    await env.svc.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'manual-2' }, spec: { ...podSpec(), schedulerName: 'someone-else' } }, write);
    await assert.rejects(bind(env.svc, pods, 'default', { name: 'manual-2', uid: 'not-its-uid', nodeName: 'big' }, write), (e: ApiError) => e.code === 409 && /Precondition failed: UID/.test(e.message));
    await assert.rejects(bind(env.svc, pods, 'default', { name: 'nope', nodeName: 'big' }, write), (e: ApiError) => e.code === 404);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await nodeOf('manual-2'), undefined, 'another scheduler\'s Pods are left alone');
    await removePods();
  });

  test('a restarted scheduler counts what is already bound', async () => {
    await scheduler.stop();
    // 'small' has 1 cpu: one 600m Pod is bound; a restarted scheduler must not put a second one there.
    await pod('first', { cpu: '600m', spec: { nodeSelector: { disk: 'hdd' } } });
    await bind(env.svc, pods, 'default', { name: 'first', nodeName: 'small' }, write);
    scheduler = env.start((ctx) => runScheduler(ctx, { events: recorder }));
    await pod('second', { cpu: '600m', spec: { nodeSelector: { disk: 'hdd' } } });
    assert.match(await unschedulable('second'), /Insufficient cpu/);
    await removePods();
  });
});

describe('scheduler arithmetic', () => {
  test('kube-scheduler\'s share of nodes to find feasible, and its fit error wording', () => {
    assert.equal(feasibleNodesToFind(50), 50);
    assert.equal(feasibleNodesToFind(1000), 420);
    assert.equal(feasibleNodesToFind(5000), 500);
    assert.equal(feasibleNodesToFind(200), 100);
    assert.equal(fitErrorMessage(0, new Map()), 'no nodes available to schedule pods');
    assert.equal(fitErrorMessage(2, new Map([['Too many pods', 1], ['Insufficient cpu', 1]])), '0/2 nodes are available: 1 Insufficient cpu, 1 Too many pods.');
  });
});
