// Informers shared across leadership terms: a controller started on a scope
// of an informer that already runs is handed what is cached (as a fresh
// list would), and a stopped term's handlers no longer fire.
import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../src/apis/types.js';
import { runReplicaSetController } from '../../src/controllers/replicaset-controller.js';
import { controllerWrite, InformerFactory } from '../../src/controllers/runtime/informer-factory.js';
import type { Logger } from '../../src/util/log.js';
import { ControllerEnv, eventually } from './controller-env.js';

const quiet: Logger = { info: () => {}, warn: () => {}, error: (m, f) => process.stderr.write(`${JSON.stringify({ m, ...f })}\n`), child: () => quiet };
const write = controllerWrite('scoped-test');
let env: ControllerEnv;
before(async () => {
  env = await ControllerEnv.open('lodge-scoped-', quiet);
});
after(async () => {
  await env.close();
});

test('a second term on the same informers finds what exists and acts on it; the first term\'s handlers are gone', async () => {
  const process_ = new AbortController();
  setMaxListeners(0, process_.signal);
  const shared = new InformerFactory(env.svc, quiet, process_.signal);
  const rsType = env.svc.registry.resource('apps', 'v1', 'replicasets')!;
  const pods = env.svc.registry.resource('', 'v1', 'pods')!;
  const term = (): { stop(): Promise<void> } => {
    const a = new AbortController();
    setMaxListeners(0, a.signal);
    const done = runReplicaSetController({ svc: env.svc, registry: env.svc.registry, informers: shared.scoped(a.signal), log: quiet, signal: a.signal });
    return { stop: async () => (a.abort(), await done) };
  };
  const podsOf = async (app: string): Promise<KubeObject[]> =>
    (await env.svc.list(pods, 'default', {})).items.map((i) => JSON.parse(i.value) as KubeObject).filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
  const rs = (name: string, replicas: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  });

  const first = term();
  await env.svc.create(rsType, 'default', rs('one', 2), write);
  await eventually('first term made 2 Pods', async () => (await podsOf('one')).length === 2);
  await first.stop();

  // Made while no term runs: the informer caches it, nobody acts.
  await env.svc.create(rsType, 'default', rs('two', 3), write);
  await eventually('cached', async () => shared.for(rsType).cache.has('default/two'));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await podsOf('two')).length, 0, 'a stopped term does not act');

  // The next term is handed the cached ReplicaSet at once.
  const second = term();
  await eventually('second term made 3 Pods', async () => (await podsOf('two')).length === 3);
  assert.equal((await podsOf('one')).length, 2, 'and did not duplicate the first one\'s');
  await second.stop();
  process_.abort();
  await shared.stopped();
});
