// Taint eviction against the real resource service and store, no agent:
// Nodes and Pods are written directly (Pods bound by spec.nodeName), taints
// too. An evicted Pod is one the controller marked DisruptionTarget and
// started deleting (its node exists, so it waits there for the agent).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rfc3339 } from '../../src/api/resources/clock.js';
import { DEFAULT_TOLERATION_SECONDS, NOT_READY_TAINT, UNREACHABLE_TAINT } from '../../src/apis/core/v1/pod-defaults.js';
import type { Pod, Taint, Toleration } from '../../src/apis/core/v1/types.js';
import type { ResourceType } from '../../src/apis/types.js';
import { runNodeLifecycleController } from '../../src/controllers/node-lifecycle-controller.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { runTaintEvictionController } from '../../src/controllers/taint-eviction-controller.js';
import { ControllerEnv, eventually, quietLog } from './controller-env.js';

const quiet = quietLog;
const NS = 'default';
const write = controllerWrite('taint-eviction-test');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let env: ControllerEnv;
let nodes: ResourceType;
let pods: ResourceType;
before(async () => {
  env = await ControllerEnv.open('lodge-taint-eviction-', quiet);
  nodes = env.svc.registry.resource('', 'v1', 'nodes')!;
  pods = env.svc.registry.resource('', 'v1', 'pods')!;
});
after(async () => env.close());

async function createNode(name: string): Promise<void> {
  await env.svc.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name } }, write);
}
async function setTaints(name: string, taints: Taint[]): Promise<void> {
  const node = (await env.svc.get(nodes, undefined, name)).obj;
  await env.svc.update(nodes, undefined, name, { ...node, spec: { ...node.spec, taints } }, write);
}
async function createPod(name: string, nodeName: string | undefined, tolerations?: Toleration[]): Promise<Pod> {
  const spec = { containers: [{ name: 'app', image: 'busybox' }], ...(nodeName ? { nodeName } : {}), ...(tolerations ? { tolerations } : {}) };
  return (await env.svc.create(pods, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec }, write)).obj as Pod;
}
const getPod = async (name: string): Promise<Pod | undefined> => (await env.svc.tryGet(pods, NS, name))?.obj as Pod | undefined;
/** When the controller decided to evict the Pod (its DisruptionTarget condition), or undefined while it stays. */
async function evictedAt(name: string): Promise<number | undefined> {
  const p = await getPod(name);
  if (p && !p.metadata.deletionTimestamp) return undefined;
  const c = p?.status?.conditions?.find((x) => x.type === 'DisruptionTarget');
  assert.ok(c, `pod ${name} was deleted without a DisruptionTarget condition`);
  assert.equal(c.reason, 'DeletionByTaintManager');
  return Date.parse(String(c.lastTransitionTime));
}
/**
 * A timeAdded on the next whole second: timestamps have second precision,
 * so "now" would be up to a second in the past and a 1 s toleration could
 * run out before the test looks. This way the deadline is at least
 * tolerationSeconds away when the taint is written.
 */
const nextSecond = (): string => rfc3339(Math.ceil((Date.now() + 1) / 1000) * 1000);
/** A read that finished before the deadline must not see the Pod evicted (no claim about when after it). */
function stillThereBefore(deadline: number, evicted: number | undefined, why: string): void {
  if (Date.now() < deadline) assert.equal(evicted, undefined, why);
}
const unreachable = (timeAdded: string): Taint[] => [
  { key: UNREACHABLE_TAINT, effect: 'NoSchedule' },
  { key: UNREACHABLE_TAINT, effect: 'NoExecute', timeAdded },
];
const tolerate = (key: string, tolerationSeconds?: number): Toleration => ({ key, operator: 'Exists', effect: 'NoExecute', ...(tolerationSeconds === undefined ? {} : { tolerationSeconds }) });

test('a created Pod gets 300 s not-ready and unreachable tolerations, unless it says otherwise; updates add none', async () => {
  const plain = await createPod('defaults-plain', undefined);
  assert.deepEqual(plain.spec?.tolerations, [tolerate(NOT_READY_TAINT, DEFAULT_TOLERATION_SECONDS), tolerate(UNREACHABLE_TAINT, DEFAULT_TOLERATION_SECONDS)]);
  const own = await createPod('defaults-own', undefined, [tolerate(UNREACHABLE_TAINT, 5)]);
  assert.deepEqual(own.spec?.tolerations, [tolerate(UNREACHABLE_TAINT, 5), tolerate(NOT_READY_TAINT, DEFAULT_TOLERATION_SECONDS)]);
  const all = await createPod('defaults-all', undefined, [{ operator: 'Exists' }]);
  assert.deepEqual(all.spec?.tolerations, [{ operator: 'Exists' }]);
  const relabelled = await env.svc.update(pods, NS, 'defaults-own', { ...own, metadata: { ...own.metadata, labels: { a: 'b' } } }, write);
  assert.deepEqual((relabelled.stored.obj as Pod).spec?.tolerations, own.spec?.tolerations);
});

test('NoExecute taints evict untolerated Pods at once, tolerated ones after tolerationSeconds from timeAdded, others never', async () => {
  const controller = env.start((ctx) => runTaintEvictionController(ctx));
  try {
    await createNode('down');
    await createNode('drained');
    await createNode('flapping');
    await createPod('fast', 'down', [tolerate(UNREACHABLE_TAINT, 1)]);
    await createPod('forever', 'down', [tolerate(UNREACHABLE_TAINT)]);
    await createPod('default', 'down');
    await createPod('untolerated', 'drained');
    await createPod('kept', 'flapping', [tolerate(UNREACHABLE_TAINT, 1)]);
    const timeAdded = nextSecond();
    await setTaints('down', unreachable(timeAdded));
    await setTaints('flapping', unreachable(timeAdded));
    await setTaints('drained', [{ key: 'example.com/drain', effect: 'NoExecute', timeAdded: rfc3339() }]);

    const deadline = Date.parse(timeAdded) + 1000;
    await eventually('untolerated pod evicted', () => evictedAt('untolerated'));
    stillThereBefore(deadline, await evictedAt('fast'), 'a 1 s toleration must hold the pod for a second');
    // The node is back before the deadline: its pod stays.
    await setTaints('flapping', []);
    const removedInTime = Date.now() < deadline;

    const at = await eventually('pod tolerating 1 s evicted', () => evictedAt('fast'));
    assert.ok(at >= Date.parse(timeAdded) + 1000, `evicted at ${rfc3339(at)}, before timeAdded ${timeAdded} + 1 s`);
    // "fast" and "kept" had the same deadline; give "kept"'s timer the same chance to (wrongly) fire.
    await sleep(300);
    // (Only meaningful when the removal was stored before the deadline, as it is unless the machine stalls for a second.)
    if (removedInTime) assert.equal(await evictedAt('kept'), undefined, 'the taint was removed before the deadline');
    assert.equal(await evictedAt('forever'), undefined, 'a toleration without tolerationSeconds holds for good');
    assert.equal(await evictedAt('default'), undefined, 'the default toleration holds for 300 s');
  } finally {
    await controller.stop();
  }
});

test('a restarted controller keeps the deadline counted from timeAdded', async () => {
  await createNode('restart');
  await createPod('patient', 'restart', [tolerate(UNREACHABLE_TAINT, 2)]);
  const first = env.start((ctx) => runTaintEvictionController(ctx));
  const timeAdded = nextSecond();
  try {
    await setTaints('restart', unreachable(timeAdded));
    await sleep(200);
    stillThereBefore(Date.parse(timeAdded) + 2000, await evictedAt('patient'), 'evicted before its deadline');
  } finally {
    await first.stop();
  }
  const second = env.start((ctx) => runTaintEvictionController(ctx));
  try {
    stillThereBefore(Date.parse(timeAdded) + 2000, await evictedAt('patient'), 'evicted before its deadline after a restart');
    const at = await eventually('pod evicted by the restarted controller', () => evictedAt('patient'));
    assert.ok(at >= Date.parse(timeAdded) + 2000, `evicted at ${rfc3339(at)}, before timeAdded ${timeAdded} + 2 s`);
  } finally {
    await second.stop();
  }
});

test('the node lifecycle controller taints a node reporting Ready=False not-ready, and untaints it when Ready', async () => {
  const lifecycle = env.start((ctx) => runNodeLifecycleController(ctx));
  try {
    await createNode('sick');
    const setReady = async (status: string): Promise<void> => {
      const node = (await env.svc.get(nodes, undefined, 'sick')).obj;
      const conditions = [{ type: 'Ready', status, reason: 'Test', lastHeartbeatTime: rfc3339(), lastTransitionTime: rfc3339() }];
      await env.svc.update(nodes, undefined, 'sick', { ...node, status: { ...node.status, conditions } }, write, 'status');
    };
    const taintsOf = async (): Promise<Taint[]> => ((await env.svc.get(nodes, undefined, 'sick')).obj.spec?.taints ?? []) as Taint[];
    await setReady('False');
    const taints = await eventually('not-ready taints', async () => {
      const t = await taintsOf();
      return t.length === 2 ? t : undefined;
    });
    assert.deepEqual(taints.map((t) => `${t.key}:${t.effect}`).sort(), [`${NOT_READY_TAINT}:NoExecute`, `${NOT_READY_TAINT}:NoSchedule`]);
    assert.ok(taints.find((t) => t.effect === 'NoExecute')?.timeAdded, 'the NoExecute taint says when it was added');
    await setReady('True');
    await eventually('taints removed', async () => (await taintsOf()).length === 0);
  } finally {
    await lifecycle.stop();
  }
});

