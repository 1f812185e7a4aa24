// The node lifecycle controller on a real store: a node whose agent went
// silent turns Unknown, is tainted unreachable, and the Pods bound to it are
// marked not Ready (so Services stop sending them traffic before eviction).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../src/apis/types.js';
import { runNodeLifecycleController } from '../../src/controllers/node-lifecycle-controller.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { ControllerEnv, eventually, quietLog } from './controller-env.js';

const write = controllerWrite('node-lifecycle-test');
let env: ControllerEnv;
before(async () => {
  env = await ControllerEnv.open('lodge-nodelife-', quietLog);
});
after(async () => {
  await env.close();
});

test('a silent node: Unknown, tainted unreachable, its Ready Pods marked not Ready', async () => {
  const nodes = env.svc.registry.resource('', 'v1', 'nodes')!;
  const pods = env.svc.registry.resource('', 'v1', 'pods')!;
  await env.svc.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'quiet' } }, write);
  const n = (await env.svc.get(nodes, undefined, 'quiet')).obj;
  await env.svc.update(nodes, undefined, 'quiet', { ...n, status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date().toISOString() }] } }, write, 'status');
  for (const name of ['ready', 'finished']) {
    await env.svc.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: 'quiet', containers: [{ name: 'c', image: 'busybox' }] } }, write);
    const p = (await env.svc.get(pods, 'default', name)).obj;
    const phase = name === 'ready' ? 'Running' : 'Succeeded';
    await env.svc.update(pods, 'default', name, { ...p, status: { phase, conditions: [{ type: 'Ready', status: name === 'ready' ? 'True' : 'False' }] } }, write, 'status');
  }
  // No Lease at all: the grace period runs from the node's creation.
  env.start((ctx) => runNodeLifecycleController(ctx, { graceMs: 300 }));
  const readyOf = async (name: string): Promise<{ status?: string; reason?: string } | undefined> =>
    ((await env.svc.get(pods, 'default', name)).obj.status?.conditions as Array<{ type: string; status?: string; reason?: string }>).find((c) => c.type === 'Ready');
  await eventually('the Pod marked not Ready', async () => (await readyOf('ready'))?.status === 'False', 15_000);
  assert.equal((await readyOf('ready'))?.reason, 'NodeNotReady');
  const node: KubeObject = (await env.svc.get(nodes, undefined, 'quiet')).obj;
  assert.equal((node.status?.conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'Ready')?.status, 'Unknown');
  assert.ok((node.spec?.taints as Array<{ key: string; effect: string }>).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
  assert.equal((await readyOf('finished'))?.reason, undefined, 'a finished Pod is left as it is');
});
