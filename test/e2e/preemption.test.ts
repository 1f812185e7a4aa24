// End-to-end: PriorityClasses and preemption with real kubectl against a real
// `lodge up --no-agent` and one small hollow node (`lodge agent --hollow 1
// --hollow-cpu 2`, whose Pods run at once). `kubectl get priorityclass`
// lists the two system classes; `kubectl create priorityclass` works; a Pod
// naming an unknown class is refused with 403; a high-priority Pod that fits
// nowhere preempts a low-priority one — the victim gets a DisruptionTarget
// condition (PreemptionByScheduler) and is deleted, the preemptor is
// nominated to the node and bound there once the victim is gone, and a
// Preempted event says so.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { api, kubectl, parseTable, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { startHollowAgent, type HollowAgent } from './hollow-agent.js';

const PREFIX = `prio-t${process.pid}`;
const NODE = `${PREFIX}-0000`;
const NS = 'default';
/** Holds the victim after its deletion, so the test sees it marked before it goes. */
const HOLD = 'lodge.dev/test-hold';
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-preemption-'));
let lodge: Lodge | undefined;
let hollow: HollowAgent | undefined;

type Obj = { metadata: { name: string; uid: string; deletionTimestamp?: string; finalizers?: string[] }; spec?: Record<string, any>; status?: Record<string, any> };

function k(...args: string[]): string {
  const r = kubectl(lodge!, args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}
const getPod = async (name: string): Promise<Obj | undefined> => {
  const r = await api(lodge!, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`);
  return r.status === 200 ? (r.json() as Obj) : undefined;
};
const podManifest = (name: string, cpu: string, o: { priorityClassName?: string; finalizers?: string[] } = {}): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, ...(o.finalizers ? { finalizers: o.finalizers } : {}) },
    spec: { ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}), containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu } } }] },
  });

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
  hollow = await startHollowAgent(lodge, dataDir, 1, PREFIX, ['--hollow-cpu', '2']);
});

after(async () => {
  if (lodge && lodge.proc.exitCode === null) {
    kubectl(lodge, ['patch', 'pod', 'victim', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    kubectl(lodge, ['delete', 'pod', 'victim', 'preemptor', '--wait=false', '--ignore-not-found', '--grace-period=0', '--force']);
    kubectl(lodge, ['delete', 'priorityclass', 'e2e-low', 'e2e-high', '--ignore-not-found']);
  }
  await hollow?.kill();
  await shutdown(lodge, dataDir);
});

test('kubectl get/create priorityclass, 403 for an unknown class, and a high-priority Pod preempting a low one', async () => {
  // The system classes exist from the first start.
  const system = parseTable(k('get', 'priorityclass'));
  assert.deepEqual(system.columns, ['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE']);
  assert.deepEqual(system.rows.map((r) => [r.NAME, r.VALUE, r['GLOBAL-DEFAULT']]), [
    ['system-cluster-critical', '2000000000', 'false'],
    ['system-node-critical', '2000001000', 'false'],
  ]);
  const del = kubectl(lodge!, ['delete', 'priorityclass', 'system-node-critical']);
  assert.notEqual(del.code, 0);
  assert.match(del.stderr, /\(Forbidden\): priorityclasses\.scheduling\.k8s\.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted/, del.stderr);

  assert.match(k('create', 'priorityclass', 'e2e-low', '--value=100', '--description=batch work'), /priorityclass\.scheduling\.k8s\.io\/e2e-low created/);
  assert.match(k('create', 'priorityclass', 'e2e-high', '--value=100000'), /priorityclass\.scheduling\.k8s\.io\/e2e-high created/);
  const wide = parseTable(k('get', 'pc', 'e2e-high', '-o', 'wide'));
  assert.deepEqual(wide.columns, ['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY']);
  assert.equal(wide.rows[0]?.PREEMPTIONPOLICY, 'PreemptLowerPriority');
  const tooHigh = kubectl(lodge!, ['create', 'priorityclass', 'e2e-too-high', '--value=2000000000']);
  assert.notEqual(tooHigh.code, 0);
  assert.match(tooHigh.stderr, /value: Forbidden: maximum allowed value of a user defined priority is 1000000000/);

  // An unknown class: 403 in Kubernetes' words.
  const unknown = kubectl(lodge!, ['create', '-f', '-'], { input: podManifest('lost', '100m', { priorityClassName: 'foo' }) });
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /pods "lost" is forbidden: no PriorityClass with name foo was found/);

  // The low-priority victim takes most of the node's 2 cpus.
  const created = kubectl(lodge!, ['create', '-f', '-'], { input: podManifest('victim', '1500m', { priorityClassName: 'e2e-low', finalizers: [HOLD] }) });
  assert.equal(created.code, 0, created.stderr);
  const victim = await waitFor('victim running', async () => {
    const p = await getPod('victim');
    return p?.spec?.nodeName === NODE && p.status?.phase === 'Running' && p;
  }, 30_000);
  assert.equal(victim.spec?.priority, 100);

  // The preemptor fits only if the victim goes.
  const made = kubectl(lodge!, ['create', '-f', '-'], { input: podManifest('preemptor', '1', { priorityClassName: 'e2e-high' }) });
  assert.equal(made.code, 0, made.stderr);
  const marked = await waitFor('victim marked DisruptionTarget and deleted', async () => {
    const p = await getPod('victim');
    return p?.metadata.deletionTimestamp && p.status?.conditions?.some((c: { type: string }) => c.type === 'DisruptionTarget') && p;
  }, 30_000);
  const cond = marked.status!.conditions.find((c: { type: string }) => c.type === 'DisruptionTarget');
  assert.deepEqual([cond.status, cond.reason, cond.message], ['True', 'PreemptionByScheduler', 'default-scheduler: preempting to accommodate a higher priority pod']);
  const nominated = await waitFor('preemptor nominated', async () => {
    const p = await getPod('preemptor');
    return p?.status?.nominatedNodeName && p;
  });
  assert.equal(nominated.status?.nominatedNodeName, NODE);
  assert.equal(nominated.spec?.nodeName, undefined, 'not bound while the victim holds the room');
  assert.equal(nominated.spec?.priority, 100000);

  // The victim goes (its hold released): the preemptor is bound there.
  k('patch', 'pod', 'victim', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]');
  await waitFor('victim gone', async () => (await getPod('victim')) === undefined, 30_000);
  const bound = await waitFor('preemptor bound', async () => {
    const p = await getPod('preemptor');
    return p?.spec?.nodeName && p;
  }, 30_000);
  assert.equal(bound.spec?.nodeName, NODE);
  assert.equal(bound.status?.nominatedNodeName, undefined, 'the nomination is spent once bound (cleared by the binding)');
  await waitFor('Preempted event', async () => /Normal\s+Preempted\s+pod\/victim\s+Preempted by pod [0-9a-f-]+ on node/.test(k('get', 'events', '--field-selector', 'reason=Preempted')), 20_000);

  k('delete', 'pod', 'preemptor', '--wait=false');
  k('delete', 'priorityclass', 'e2e-low', 'e2e-high');
  assert.doesNotMatch(lodge!.logs(), /request failed/);
});
