// The garbage collector across scopes: a namespaced object may name a
// cluster-scoped owner (as each node's kube-dns EndpointSlice names its
// Node), and goes when that owner does — and only then.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runGarbageCollector } from '../../src/controllers/garbage-collector.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { dnsEndpointSlice } from '../../src/agent/dns/dns-endpoint-slice.js';
import { ControllerEnv, eventually, quietLog } from './controller-env.js';

const write = controllerWrite('gc-test');
let env: ControllerEnv;

before(async () => {
  env = await ControllerEnv.open('lodge-gc-', quietLog);
  env.start((ctx) => runGarbageCollector(ctx));
});
after(async () => env?.close());

test("a node's kube-dns EndpointSlice is collected when its Node is deleted, and not before", async () => {
  const nodes = env.svc.registry.resource('', 'v1', 'nodes')!;
  const slices = env.svc.registry.resource('discovery.k8s.io', 'v1', 'endpointslices')!;
  const node = (await env.svc.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gc-node' } }, write)).obj;
  const other = (await env.svc.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gc-other' } }, write)).obj;
  await env.svc.create(slices, 'kube-system', dnsEndpointSlice({ name: 'gc-node', uid: String(node.metadata.uid) }, '10.1.0.1', 53, true), write);
  await env.svc.create(slices, 'kube-system', dnsEndpointSlice({ name: 'gc-other', uid: String(other.metadata.uid) }, '10.1.1.1', 53, true), write);

  await env.svc.delete(nodes, undefined, 'gc-node', {});
  await eventually('the deleted node\'s slice collected', async () => !(await env.svc.tryGet(slices, 'kube-system', 'kube-dns-gc-node')));
  assert.ok(await env.svc.tryGet(slices, 'kube-system', 'kube-dns-gc-other'), 'the other node keeps its slice');
});
