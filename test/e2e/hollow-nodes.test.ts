// `lodge agent --hollow 5` (the scale-test tool) against a `lodge up
// --no-agent`: five simulated Nodes register Ready, Pods bound to them are
// reported Running with an address and finalized when deleted, a Job pinned
// to one completes, and SIGTERM stops the heartbeats (the nodes go Unknown)
// with a clean exit. With the scheduler wired in: an Instance pinned to one
// (the scheduler binds it) runs and is let go when deleted, and a
// Deployment spreads over them.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, kubectl, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { startHollowAgent, type HollowAgent } from './hollow-agent.js';
import { fakeBlockSize, fakeNodeBlock, intToIpv4, PodAddressPool } from '../../src/hollow/fake-addresses.js';
import { Limiter } from '../../src/hollow/limiter.js';
import { sameStatus } from '../../src/hollow/status-write.js';

const PREFIX = `hollow-t${process.pid}`;
const NODES = Array.from({ length: 5 }, (_, i) => `${PREFIX}-${String(i).padStart(4, '0')}`);
const NS = 'default';
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-hollow-'));
let lodge: Lodge | undefined;
let hollow: HollowAgent | undefined;

type Obj = { metadata: { name: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, any>; status?: Record<string, any> };
const ready = (n: Obj): string | undefined => n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
const get = async (path: string): Promise<Obj | undefined> => {
  const r = await api(lodge!, 'GET', path);
  return r.status === 200 ? (r.json() as Obj) : undefined;
};
const post = async (path: string, body: unknown): Promise<Obj> => {
  const r = await api(lodge!, 'POST', path, { body: JSON.stringify(body), contentType: 'application/json' });
  assert.equal(r.status, 201, r.text);
  return r.json() as Obj;
};

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', '--node-monitor-grace-period', '4'] });
  hollow = await startHollowAgent(lodge, dataDir, 5, PREFIX, ['--node-lease-duration', '4']);
});

after(async () => {
  await hollow?.kill();
  await shutdown(lodge, dataDir);
});

describe('lodge agent --hollow', () => {
  test('registers 5 Ready Nodes labelled hollow, with the capacity asked for, and their Leases', async () => {
    await waitFor('5 hollow nodes Ready', async () => {
      const r = kubectl(lodge!, ['get', 'nodes', '-l', 'lodge.dev/hollow=true', '--no-headers']);
      const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith(PREFIX));
      return lines.length === 5 && lines.every((l) => /\sReady\s/.test(l)) && lines;
    });
    const n = (await get(`/api/v1/nodes/${NODES[3]}`))!;
    assert.equal(n.metadata.labels!['kubernetes.io/hostname'], NODES[3]);
    assert.equal(n.metadata.labels!['node.kubernetes.io/instance-type'], 'hollow');
    assert.match(n.metadata.annotations!['lodge.dev/hollow-node'], /simulated/);
    assert.deepEqual({ cpu: n.status!.capacity.cpu, memory: n.status!.capacity.memory, pods: n.status!.allocatable.pods }, { cpu: '4', memory: '16Gi', pods: '110' });
    assert.equal(n.status!.nodeInfo.kubeletVersion, 'lodge-hollow');
    assert.equal(n.status!.nodeInfo.containerRuntimeVersion, 'hollow://');
    assert.equal(n.status!.daemonEndpoints.kubeletEndpoint.Port, 0, 'no node server: nothing ever dials a hollow node');
    const lease = await get(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODES[3]}`);
    assert.equal(lease?.spec?.holderIdentity, NODES[3]);
  });

  test('Pods bound to hollow nodes run at once with an address, and are finalized when deleted', async () => {
    const names = NODES.slice(0, 3).map((node, i) => ({ node, name: `hp-${i}` }));
    for (const { node, name } of names) {
      await post(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }, { name: 'd', image: 'nginx:1.27' }] } });
    }
    const pods = await waitFor('hollow Pods Running and Ready', async () => {
      const all = await Promise.all(names.map(({ name }) => get(`/api/v1/namespaces/${NS}/pods/${name}`)));
      return all.every((p) => p?.status?.phase === 'Running' && ready(p) === 'True') && (all as Obj[]);
    });
    const ips = pods.map((p) => p.status!.podIP as string);
    assert.equal(new Set(ips).size, 3, `distinct addresses: ${ips.join(', ')}`);
    for (const p of pods) {
      assert.doesNotMatch(p.status!.podIP, /^127\./);
      assert.deepEqual(p.status!.podIPs, [{ ip: p.status!.podIP }]);
      assert.ok(p.status!.hostIP && p.status!.startTime);
      const d = p.status!.containerStatuses.find((s: { name: string }) => s.name === 'd');
      assert.deepEqual({ ready: d.ready, started: d.started, imageID: d.imageID, containerID: d.containerID }, { ready: true, started: true, imageID: 'hollow://nginx:1.27', containerID: `hollow://${p.metadata.uid}-d` });
      assert.ok(d.state.running.startedAt);
      assert.deepEqual(p.status!.conditions.filter((c: { status: string }) => c.status === 'True').map((c: { type: string }) => c.type).sort(), ['ContainersReady', 'Initialized', 'PodReadyToStartContainers', 'PodScheduled', 'Ready']);
    }
    const wide = kubectl(lodge!, ['get', 'pod', 'hp-0', '-o', 'wide', '--no-headers']);
    assert.match(wide.stdout, new RegExp(`hp-0\\s+2/2\\s+Running\\s+0\\s+\\S+\\s+${ips[0]!.replace(/\./g, '\\.')}\\s+${NODES[0]}`), wide.stdout + wide.stderr);
    // A graceful delete (30 s by default) is finished by the hollow kubelet at once.
    const del = kubectl(lodge!, ['delete', 'pod', 'hp-0', 'hp-1', 'hp-2', '--wait=false']);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('hollow Pods gone', async () => (await Promise.all(names.map(({ name }) => get(`/api/v1/namespaces/${NS}/pods/${name}`)))).every((p) => p === undefined));
  });

  test('a Job pinned to a hollow node completes (its Pods succeed after a pretend run)', async () => {
    await post(`/apis/batch/v1/namespaces/${NS}/jobs`, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'hollow-job' },
      spec: { completions: 2, parallelism: 2, template: { spec: { nodeName: NODES[1], restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['true'] }] } } },
    });
    const job = await waitFor('Job complete', async () => {
      const j = await get(`/apis/batch/v1/namespaces/${NS}/jobs/hollow-job`);
      return j?.status?.succeeded === 2 && j.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True') && j;
    }, 30_000);
    assert.equal(job.status!.failed ?? 0, 0);
    const r = await api(lodge!, 'DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/hollow-job?propagationPolicy=Background`);
    assert.equal(r.status, 200, r.text);
  });

  test('an Instance pinned to a hollow node is bound and Running, and let go when deleted', async () => {
    await post(`/apis/lodge.dev/v1alpha1/namespaces/${NS}/instances`, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'hollow-inst' }, spec: { type: 'container', image: 'busybox', nodeName: NODES[2] } });
    const path = `/apis/lodge.dev/v1alpha1/namespaces/${NS}/instances/hollow-inst`;
    const i = await waitFor('Instance Running', async () => {
      const x = await get(path);
      return x?.status?.phase === 'Running' && x;
    });
    assert.equal(i.status!.nodeName, NODES[2]);
    assert.ok(i.status!.ip, 'an address');
    const r = await api(lodge!, 'DELETE', path);
    assert.ok(r.status === 200 || r.status === 202, r.text);
    await waitFor('Instance gone', async () => (await get(path)) === undefined);
  });

  test('a Deployment of 20 with nodeSelector hollow=true spreads over the 5 nodes', async () => {
    const labels = { app: 'hollow-deploy' };
    await post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hollow-deploy' },
      spec: { replicas: 20, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { 'lodge.dev/hollow': 'true' }, containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    await waitFor('20 available', async () => (await get(`/apis/apps/v1/namespaces/${NS}/deployments/hollow-deploy`))?.status?.availableReplicas === 20, 60_000);
    const pods = (await api(lodge!, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dhollow-deploy`)).json().items as Obj[];
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec!.nodeName, (perNode.get(p.spec!.nodeName) ?? 0) + 1);
    assert.deepEqual([...perNode.keys()].sort(), NODES, `spread: ${JSON.stringify([...perNode])}`);
    const r = await api(lodge!, 'DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/hollow-deploy?propagationPolicy=Background`);
    assert.equal(r.status, 200, r.text);
  });

  test('SIGTERM exits cleanly; the nodes go Unknown, are tainted unreachable, their Pods are evicted after tolerationSeconds and the replacements wait', async () => {
    // Two replicas that tolerate an unreachable node for 2 s (instead of the default 300 s).
    const labels = { app: 'evicted' };
    const tolerations = [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }];
    await post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'evicted' },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { 'lodge.dev/hollow': 'true' }, tolerations, containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const podsOf = async (): Promise<Obj[]> => (await api(lodge!, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Devicted`)).json().items as Obj[];
    await waitFor('2 available', async () => (await get(`/apis/apps/v1/namespaces/${NS}/deployments/evicted`))?.status?.availableReplicas === 2, 60_000);
    const before = new Set((await podsOf()).map((p) => p.metadata.uid));

    hollow!.proc.kill('SIGTERM');
    assert.equal(await hollow!.exited, 0, hollow!.stderr());
    await waitFor('hollow nodes Unknown', async () => {
      const all = await Promise.all(NODES.map((n) => get(`/api/v1/nodes/${n}`)));
      return all.every((n) => n && ready(n) === 'Unknown');
    }, 30_000);
    const node = await get(`/api/v1/nodes/${NODES[0]}`);
    assert.ok((node!.spec!.taints as Array<{ key: string; effect: string }>).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
    // Evicted (deleted by the taint-eviction controller; the hollow kubelet is gone, so they stay terminating), replaced, and the replacements wait.
    await waitFor('the Pods evicted and replaced by ones that cannot be placed', async () => {
      const now = await podsOf();
      const old = now.filter((p) => before.has(p.metadata.uid));
      const fresh = now.filter((p) => !before.has(p.metadata.uid));
      const waiting = fresh.filter((p) => /untolerated taint \{node\.kubernetes\.io\/unreachable: \}/.test(p.status?.conditions?.find((c: { type: string }) => c.type === 'PodScheduled')?.message ?? ''));
      return old.every((p) => (p.metadata as { deletionTimestamp?: string }).deletionTimestamp) && waiting.length === 2;
    }, 60_000);
    const evicted = (await podsOf()).find((p) => before.has(p.metadata.uid));
    if (evicted) assert.equal(evicted.status?.conditions?.find((c: { type: string }) => c.type === 'DisruptionTarget')?.reason, 'DeletionByTaintManager');
    const r = await api(lodge!, 'DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/evicted?propagationPolicy=Background`);
    assert.equal(r.status, 200, r.text);
    assert.doesNotMatch(lodge!.logs(), /request failed/);
  });
});

describe('hollow node parts', () => {
  test('Pod addresses: from the podCIDR or the fake block, never network/node/broadcast, reused after release', () => {
    const pool = PodAddressPool.forNode('10.9.3.0/24', { base: 0, size: 256 });
    assert.equal(pool.assign('a'), '10.9.3.2');
    assert.equal(pool.assign('a'), '10.9.3.2', 'a Pod keeps its address');
    pool.adopt('b', '10.9.3.7');
    assert.equal(pool.assign('b'), '10.9.3.7', 'an address from the status is kept');
    const all = new Set(Array.from({ length: 251 }, (_, i) => pool.assign(`p${i}`)));
    assert.equal(all.size, 251);
    assert.ok(![...all].some((ip) => ip === undefined || /\.(0|1|255)$/.test(ip)), 'no network, node or broadcast address');
    assert.equal(pool.assign('full'), undefined, '253 addresses in a /24');
    pool.release('a');
    assert.equal(pool.assign('full'), '10.9.3.2');
    // Nodes of one prefix get distinct fake blocks in 100.64.0.0/10, big enough for their Pod capacity.
    assert.match(intToIpv4(fakeNodeBlock('x', 0)), /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./);
    assert.notEqual(fakeNodeBlock('x', 0), fakeNodeBlock('x', 1));
    assert.equal(fakeBlockSize(110), 256);
    assert.equal(fakeBlockSize(300), 512);
  });

  test('a status write is skipped only when the current status already says it all', () => {
    assert.ok(sameStatus({ phase: 'Running', c: [{ a: 1, b: {} }] }, { c: [{ b: {}, a: 1, extra: 2 }], phase: 'Running', qosClass: 'BestEffort' }));
    assert.ok(sameStatus({ lastState: {} }, {}), 'an empty object left out is no difference');
    assert.ok(!sameStatus({ phase: 'Running' }, { phase: 'Pending' }));
    assert.ok(!sameStatus({ c: [1, 2] }, { c: [1] }));
  });

  test('the limiter never runs more than its bound at once', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let most = 0;
    await limiter.all(Array.from({ length: 20 }, (_, i) => i), async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setImmediate(r));
      running--;
    });
    assert.equal(most, 3);
    await assert.rejects(limiter.all([1, 2], async (i) => { if (i === 2) throw new Error('two'); }), /two/);
  });
});
