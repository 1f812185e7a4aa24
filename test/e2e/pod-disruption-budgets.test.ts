// End-to-end: PodDisruptionBudgets with real kubectl against a real `lodge
// up --no-agent` and two hollow nodes (`lodge agent --hollow 2`, whose Pods
// run and turn Ready at once). `kubectl create pdb` and `kubectl get pdb`
// work; an eviction beyond the budget is refused with 429 and the budget's
// cause; `kubectl drain` evicts a budget-protected Deployment off a node only
// as the budget allows, and completes once replacements are ready on the
// other node.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { api, kubectl, parseTable, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { startHollowAgent, type HollowAgent } from './hollow-agent.js';

const PREFIX = `pdb-t${process.pid}`;
const NODES = [`${PREFIX}-0000`, `${PREFIX}-0001`];
const NS = 'default';
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-pdb-'));
let lodge: Lodge | undefined;
let hollow: HollowAgent | undefined;

type Obj = { metadata: { name: string; uid: string; deletionTimestamp?: string }; spec?: Record<string, any>; status?: Record<string, any> };

function k(...args: string[]): string {
  const r = kubectl(lodge!, args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}
const webPods = async (): Promise<Obj[]> => ((await api(lodge!, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`)).json().items as Obj[]).filter((p) => !p.metadata.deletionTimestamp);
const isReady = (p: Obj): boolean => p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ?? false;
const pdbStatus = async (): Promise<Record<string, any> | undefined> => (await api(lodge!, 'GET', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/web`)).json().status;
const evict = (name: string): ReturnType<typeof api> =>
  api(lodge!, 'POST', `/api/v1/namespaces/${NS}/pods/${name}/eviction`, {
    body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS } }),
    contentType: 'application/json',
  });

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
  hollow = await startHollowAgent(lodge, dataDir, 2, PREFIX);
});

after(async () => {
  if (lodge && lodge.proc.exitCode === null) {
    kubectl(lodge, ['delete', 'deployment', 'web', '--wait=false', '--ignore-not-found']);
    kubectl(lodge, ['delete', 'pdb', 'web', '--wait=false', '--ignore-not-found']);
  }
  await hollow?.kill();
  await shutdown(lodge, dataDir);
});

test('kubectl create/get pdb, 429 beyond the budget, and kubectl drain evicting only as the budget allows', async () => {
  // All three replicas on the first node: the second is cordoned while they are placed.
  k('cordon', NODES[1]!);
  k('create', 'deployment', 'web', '--image=busybox', '--replicas=3', '--', 'sleep', '3600');
  assert.match(k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  assert.ok((await webPods()).every((p) => p.spec?.nodeName === NODES[0]));

  assert.match(k('create', 'pdb', 'web', '--selector=app=web', '--min-available=2'), /poddisruptionbudget\.policy\/web created/);
  await waitFor('pdb web allows 1 disruption', async () => (await pdbStatus())?.disruptionsAllowed === 1);
  const table = parseTable(k('get', 'pdb'));
  assert.deepEqual(table.columns, ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
  assert.deepEqual(table.rows.map((r) => [r.NAME, r['MIN AVAILABLE'], r['MAX UNAVAILABLE'], r['ALLOWED DISRUPTIONS']]), [['web', '2', 'N/A', '1']]);

  // Nowhere for replacements to go: the first eviction takes the one disruption allowed, the second is refused.
  k('cordon', NODES[0]!);
  const [first, second] = await webPods();
  const ok = await evict(first!.metadata.name);
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json().status, 'Success');
  const refused = await evict(second!.metadata.name);
  assert.equal(refused.status, 429, refused.text);
  const s = refused.json();
  assert.equal(s.reason, 'TooManyRequests');
  assert.equal(s.message, "Cannot evict pod as it would violate the pod's disruption budget.");
  assert.equal(s.details.causes[0].reason, 'DisruptionBudget');
  assert.match(s.details.causes[0].message, /^The disruption budget web needs 2 healthy pods and has [23] currently$/);
  await waitFor('pdb web: 2 healthy, none allowed', async () => {
    const st = await pdbStatus();
    return st?.currentHealthy === 2 && st.disruptionsAllowed === 0 && st.conditions?.some((c: { type: string; reason: string }) => c.type === 'DisruptionAllowed' && c.reason === 'InsufficientPods');
  });
  // kubectl drain gives up on a Pod the budget protects (it retries 429s until its timeout).
  const stuck = kubectl(lodge!, ['drain', NODES[0]!, '--ignore-daemonsets', '--timeout=3s']);
  assert.notEqual(stuck.code, 0, stuck.stdout);
  assert.match(stuck.stdout + stuck.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);

  // The second node takes Pods again: the replacement becomes ready there, and a drain of the first completes,
  // evicting its two Pods one at a time as the budget allows.
  k('uncordon', NODES[1]!);
  await waitFor('pdb web allows 1 disruption again', async () => (await pdbStatus())?.disruptionsAllowed === 1, 30_000);
  const out = k('drain', NODES[0]!, '--ignore-daemonsets', '--timeout=90s');
  assert.match(out, new RegExp(`node/${NODES[0]} drained`));
  const pods = await waitFor('3 ready web Pods on the second node', async () => {
    const all = await webPods();
    return all.length === 3 && all.every((p) => p.spec?.nodeName === NODES[1] && isReady(p)) && all;
  }, 30_000);
  assert.equal(pods.length, 3);
  await waitFor('pdb web back to 3 healthy', async () => (await pdbStatus())?.currentHealthy === 3);
  k('uncordon', NODES[0]!);
  assert.doesNotMatch(lodge!.logs(), /request failed/);
});
