// `lodge cordon|uncordon|drain` against a real `lodge up --no-agent` with
// three hollow nodes (`lodge agent --hollow 3`), so Pods and Instances are
// placed and "run" cheaply: cordon output and spec.unschedulable, drain's
// refusals (a DaemonSet Pod without --ignore-daemonsets, a Pod no
// controller manages without --force, a running Instance without
// --stop-instances), a drain whose Deployment Pods come back on the other
// nodes (the drained node keeps only its DaemonSet Pod), and a drain that
// stops an Instance as `lodge stop` does.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { api, lodgeCli, shutdown, startLodge, waitFor, type Lodge, type RunResult } from './harness.js';
import { startHollowAgent, type HollowAgent } from './hollow-agent.js';

const PREFIX = `drain-t${process.pid}`;
const [N0, N1, N2] = [0, 1, 2].map((i) => `${PREFIX}-${String(i).padStart(4, '0')}`);
const NS = 'default';
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-drain-'));
let lodge: Lodge | undefined;
let hollow: HollowAgent | undefined;

type Obj = { metadata: { name: string; uid: string; namespace?: string; annotations?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string }> }; spec?: Record<string, any>; status?: Record<string, any> };

const get = async (path: string): Promise<Obj | undefined> => {
  const r = await api(lodge!, 'GET', path);
  return r.status === 200 ? (r.json() as Obj) : undefined;
};
const post = async (path: string, body: unknown): Promise<Obj> => {
  const r = await api(lodge!, 'POST', path, { body: JSON.stringify(body), contentType: 'application/json' });
  assert.equal(r.status, 201, r.text);
  return r.json() as Obj;
};
const podsOn = async (node: string): Promise<Obj[]> =>
  ((await api(lodge!, 'GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`)).json().items as Obj[]).filter((p) => !p.metadata.deletionTimestamp);
const unschedulable = async (node: string): Promise<boolean> => Boolean((await get(`/api/v1/nodes/${node}`))!.spec?.unschedulable);
const cli = (...args: string[]): RunResult => lodgeCli(lodge!, args, { timeoutMs: 90_000 });
const show = (r: RunResult): string => `[exit ${r.code}]\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
const ok = (...args: string[]): RunResult => {
  const r = cli(...args);
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n${show(r)}`);
  return r;
};
const ownerKind = (p: Obj): string | undefined => p.metadata.ownerReferences?.[0]?.kind;

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
  hollow = await startHollowAgent(lodge, dataDir, 3, PREFIX);
  // A DaemonSet: one Pod on each hollow node, which drain must leave (or refuse over).
  const labels = { app: 'drain-ds' };
  await post(`/apis/apps/v1/namespaces/${NS}/daemonsets`, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'drain-ds' },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { 'lodge.dev/hollow': 'true' }, containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  await waitFor('a DaemonSet Pod running on each node', async () => {
    for (const n of [N0, N1, N2]) if (!(await podsOn(n)).some((p) => ownerKind(p) === 'DaemonSet' && p.status?.phase === 'Running')) return false;
    return true;
  }, 30_000);
});

after(async () => {
  await hollow?.kill();
  await shutdown(lodge, dataDir);
});

test('cordon and uncordon: kubectl\'s lines, spec.unschedulable, an unknown node named in the error', async () => {
  assert.equal(ok('cordon', N0).stdout, `node/${N0} cordoned\n`);
  assert.equal(await unschedulable(N0), true);
  assert.equal(ok('cordon', N0).stdout, `node/${N0} already cordoned\n`);
  assert.equal(ok('uncordon', N0).stdout, `node/${N0} uncordoned\n`);
  assert.equal(await unschedulable(N0), false);
  assert.equal(ok('uncordon', N0).stdout, `node/${N0} already uncordoned\n`);
  assert.equal(ok('cordon', N0, '--dry-run').stdout, `node/${N0} cordoned (dry run)\n`);
  assert.equal(await unschedulable(N0), false, 'a dry run changes nothing');
  for (const verb of ['cordon', 'uncordon', 'drain']) {
    const r = cli(verb, 'no-such-node');
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /nodes "no-such-node" not found/, show(r));
  }
});

test('drain refuses a Pod no controller manages (and a DaemonSet Pod) without the flags, then evicts it with --force', async () => {
  await post(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' }, spec: { nodeName: N1, containers: [{ name: 'c', image: 'busybox' }] } });
  await waitFor('bare Running', async () => (await get(`/api/v1/namespaces/${NS}/pods/bare`))?.status?.phase === 'Running');
  const ds = (await podsOn(N1)).find((p) => ownerKind(p) === 'DaemonSet')!;

  const refused = cli('drain', N1, '--timeout', '60s');
  assert.equal(refused.code, 1, show(refused));
  assert.equal(refused.stdout, `node/${N1} cordoned\n`);
  assert.match(refused.stderr, new RegExp(`cannot delete DaemonSet-managed Pods \\(use --ignore-daemonsets to ignore\\): ${NS}/${ds.metadata.name}`), show(refused));
  assert.match(refused.stderr, new RegExp(`cannot delete Pods that declare no controller \\(use --force to override\\): ${NS}/bare`), show(refused));
  assert.match(refused.stderr, new RegExp(`^error: unable to drain node "${N1}"`, 'm'), show(refused));
  const still = await get(`/api/v1/namespaces/${NS}/pods/bare`);
  assert.ok(still && !still.metadata.deletionTimestamp, 'nothing is evicted when drain refuses');
  assert.equal(await unschedulable(N1), true, 'the node is left cordoned, as kubectl leaves it');

  const dry = ok('drain', N1, '--ignore-daemonsets', '--force', '--dry-run=client');
  assert.match(dry.stdout, new RegExp(`^evicting pod ${NS}/bare \\(dry run\\)$`, 'm'), show(dry));
  assert.ok(await get(`/api/v1/namespaces/${NS}/pods/bare`));

  const forced = ok('drain', N1, '--ignore-daemonsets', '--force', '--timeout', '60s');
  assert.match(forced.stdout, new RegExp(`^node/${N1} already cordoned$`, 'm'), show(forced));
  assert.match(forced.stdout, new RegExp(`^evicting pod ${NS}/bare$`, 'm'), show(forced));
  assert.match(forced.stdout, /^pod\/bare evicted$/m, show(forced));
  assert.match(forced.stdout, new RegExp(`node/${N1} drained\\n$`), show(forced));
  // One warning line, its parts in the order the Pods are listed.
  const warning = forced.stderr.split('\n').find((l) => l.startsWith('Warning: ')) ?? '';
  assert.deepEqual(warning.slice('Warning: '.length).split('; ').sort(), [`deleting Pods that declare no controller: ${NS}/bare`, `ignoring DaemonSet-managed Pods: ${NS}/${ds.metadata.name}`], show(forced));
  assert.equal(await get(`/api/v1/namespaces/${NS}/pods/bare`), undefined);
  assert.deepEqual((await podsOn(N1)).map((p) => p.metadata.name), [ds.metadata.name], 'only the DaemonSet Pod is left');
  ok('uncordon', N1);
});

test('drain of a node with Deployment Pods: evicted, recreated on the other nodes; the node keeps only its DaemonSet Pod', async () => {
  // Every replica on N0: the other nodes are cordoned while they are placed.
  ok('cordon', N1);
  ok('cordon', N2);
  const labels = { app: 'drain-web' };
  await post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'drain-web' },
    spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { 'lodge.dev/hollow': 'true' }, containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  await waitFor('3 available on N0', async () => (await get(`/apis/apps/v1/namespaces/${NS}/deployments/drain-web`))?.status?.availableReplicas === 3, 30_000);
  const web = (await podsOn(N0)).filter((p) => ownerKind(p) === 'ReplicaSet');
  assert.equal(web.length, 3);
  ok('uncordon', N1);
  ok('uncordon', N2);

  const r = ok('drain', N0, '--ignore-daemonsets', '--timeout', '60s');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], `node/${N0} cordoned`, show(r));
  assert.equal(lines.at(-1), `node/${N0} drained`, show(r));
  for (const p of web) {
    assert.ok(lines.includes(`evicting pod ${NS}/${p.metadata.name}`), show(r));
    assert.ok(lines.includes(`pod/${p.metadata.name} evicted`), show(r));
  }
  assert.match(r.stderr, /^Warning: ignoring DaemonSet-managed Pods: /m, show(r));
  assert.equal(await unschedulable(N0), true);
  const left = await podsOn(N0);
  assert.deepEqual(left.map(ownerKind), ['DaemonSet'], `left on ${N0}: ${left.map((p) => p.metadata.name).join(', ')}`);
  await waitFor('3 available again, elsewhere', async () => {
    const d = await get(`/apis/apps/v1/namespaces/${NS}/deployments/drain-web`);
    const pods = ((await api(lodge!, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Ddrain-web`)).json().items as Obj[]).filter((p) => !p.metadata.deletionTimestamp);
    return d?.status?.availableReplicas === 3 && pods.length === 3 && pods.every((p) => p.spec?.nodeName === N1 || p.spec?.nodeName === N2);
  }, 30_000);
  ok('uncordon', N0);
  const del = await api(lodge!, 'DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/drain-web?propagationPolicy=Background`);
  assert.equal(del.status, 200, del.text);
});

test('drain refuses while an Instance runs on the node; --stop-instances stops it as lodge stop does', async () => {
  const path = `/apis/lodge.dev/v1alpha1/namespaces/${NS}/instances/drain-vm`;
  await post(`/apis/lodge.dev/v1alpha1/namespaces/${NS}/instances`, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'drain-vm' }, spec: { type: 'container', image: 'busybox', nodeName: N2 } });
  await waitFor('Instance Running on N2', async () => {
    const i = await get(path);
    return i?.status?.phase === 'Running' && i.status.nodeName === N2;
  });

  const refused = cli('drain', N2, '--ignore-daemonsets', '--timeout', '60s');
  assert.equal(refused.code, 1, show(refused));
  assert.match(refused.stderr, new RegExp(`cannot drain: 1 instance\\(s\\) run on ${N2} and cannot be migrated yet: ${NS}/drain-vm; stop them or pass --stop-instances`), show(refused));
  const untouched = (await get(path))!;
  assert.equal(untouched.spec!.runStrategy, 'Always');
  assert.equal(untouched.status!.phase, 'Running');

  const r = ok('drain', N2, '--ignore-daemonsets', '--stop-instances', '--timeout', '60s');
  assert.match(r.stdout, new RegExp(`^stopping instance ${NS}/drain-vm$`, 'm'), show(r));
  assert.match(r.stdout, /^instance\.lodge\.dev\/drain-vm stopped$/m, show(r));
  assert.match(r.stdout, new RegExp(`node/${N2} drained\\n$`), show(r));
  const i = (await get(path))!;
  assert.equal(i.spec!.runStrategy, 'Halted');
  assert.equal(i.metadata.annotations?.['lodge.dev/lastRunStrategy'], 'Always', 'lodge start brings back what it was');
  assert.equal(i.status!.phase, 'Stopped');
  // A second drain has nothing left to do: the stopped Instance does not block it.
  const again = ok('drain', N2, '--ignore-daemonsets', '--timeout', '60s');
  assert.match(again.stdout, new RegExp(`^node/${N2} already cordoned\\nnode/${N2} drained\\n$`), show(again));
  ok('uncordon', N2);
  const del = await api(lodge!, 'DELETE', path);
  assert.ok(del.status === 200 || del.status === 202, del.text);
  await waitFor('Instance gone', async () => (await get(path)) === undefined);
});

test('a PodDisruptionBudget holds evictions back (429, retried every 5 s) until the replacements are available', async () => {
  ok('cordon', N0);
  ok('cordon', N2);
  const labels = { app: 'drain-pdb' };
  await post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'drain-pdb' },
    spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { 'lodge.dev/hollow': 'true' }, containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  await post(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'drain-pdb' }, spec: { minAvailable: 2, selector: { matchLabels: labels } } });
  await waitFor('2 available on N1, and the budget allowing no disruption', async () => {
    const d = await get(`/apis/apps/v1/namespaces/${NS}/deployments/drain-pdb`);
    const b = await get(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/drain-pdb`);
    return d?.status?.availableReplicas === 2 && b?.status?.currentHealthy === 2 && b.status.disruptionsAllowed === 0;
  }, 30_000);
  ok('uncordon', N0);
  ok('uncordon', N2);
  // minAvailable 2 of 2: no eviction is allowed, so the drain gives up at its timeout with kubectl's messages.
  const r = cli('drain', N1, '--ignore-daemonsets', '--timeout', '2s');
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /^error when evicting pods\/"drain-pdb-[^"]+" -n "default" \(will retry after 5s\): /m, show(r));
  assert.match(r.stderr, /global timeout reached: 2s/, show(r));
  assert.equal((await podsOn(N1)).filter((p) => ownerKind(p) === 'ReplicaSet').length, 2, 'both Pods are still there');
  // With the budget relaxed to 1, one Pod goes at once, the other once its replacement is available (a 429 retried meanwhile).
  const patch = await api(lodge!, 'PATCH', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/drain-pdb`, { body: JSON.stringify({ spec: { minAvailable: 1 } }), contentType: 'application/merge-patch+json' });
  assert.equal(patch.status, 200, patch.text);
  const drained = ok('drain', N1, '--ignore-daemonsets', '--timeout', '60s');
  assert.match(drained.stdout, new RegExp(`node/${N1} drained\\n$`), show(drained));
  assert.equal((await podsOn(N1)).filter((p) => ownerKind(p) === 'ReplicaSet').length, 0);
  ok('uncordon', N1);
  for (const path of [`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/drain-pdb`, `/apis/apps/v1/namespaces/${NS}/deployments/drain-pdb?propagationPolicy=Background`]) {
    const del = await api(lodge!, 'DELETE', path);
    assert.equal(del.status, 200, del.text);
  }
});
