// End-to-end: the official JavaScript client, @kubernetes/client-node 1.4,
// against a real `lodge up`, configured only by the kubeconfig lodge wrote.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { requestFailures, shutdown, startLodge, NO_SCHEDULER, waitFor, type Lodge } from './harness.js';

let lodge: Lodge | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-client-node-'));
const ns = 'jsclient';
const stops: Array<() => Promise<void> | void> = [];

let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

function L(): Lodge {
  assert.ok(lodge, 'lodge is running');
  return lodge;
}

const pod = (name: string, labels: Record<string, string> = {}): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
});

/** Per-call options that set the patch Content-Type (1.x sends json-patch by default). */
const patchAs = (strategy: k8s.PatchStrategy): any => k8s.setHeaderOptions('Content-Type', strategy);

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...NO_SCHEDULER] });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(L().kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
});

after(async () => {
  for (const s of stops.reverse()) {
    try {
      await s();
    } catch {
      /* already stopped */
    }
  }
  await shutdown(lodge, dataDir);
});

describe('@kubernetes/client-node 1.4', () => {
  it('loads the kubeconfig lodge wrote', () => {
    const cluster = kc.getCurrentCluster();
    assert.ok(cluster);
    assert.equal(cluster.server, L().url);
    assert.ok(kc.getCurrentUser()?.token);
  });

  it('reads version and discovery', async () => {
    const v = await kc.makeApiClient(k8s.VersionApi).getCode();
    assert.equal(typeof v.gitVersion, 'string');
    const resources = await core.getAPIResources();
    assert.ok(resources.resources.some((r) => r.name === 'pods' && r.namespaced));
  });

  it('CoreV1Api: create, list, get, patch (merge, json, strategic), delete pods — seen by Watch and an informer', async () => {
    // A raw Watch on pods.
    const watched: Array<[string, string]> = [];
    let watchDone: unknown = 'not done';
    const watch = new k8s.Watch(kc);
    const controller = await watch.watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (type, obj: k8s.V1Pod) => watched.push([type, obj.metadata?.name ?? '']),
      (err) => (watchDone = err),
    );
    stops.push(() => controller.abort());

    // An informer over pods.
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns }));
    const seen: Array<[string, string, string | undefined]> = [];
    informer.on(k8s.ADD, (p: k8s.V1Pod) => seen.push(['add', p.metadata!.name!, p.metadata?.labels?.stage]));
    informer.on(k8s.UPDATE, (p: k8s.V1Pod) => seen.push(['update', p.metadata!.name!, p.metadata?.labels?.stage]));
    informer.on(k8s.DELETE, (p: k8s.V1Pod) => seen.push(['delete', p.metadata!.name!, p.metadata?.labels?.stage]));
    const informerErrors: unknown[] = [];
    informer.on(k8s.ERROR, (e: unknown) => informerErrors.push(e));
    await informer.start();
    stops.push(() => informer.stop());

    const created = await core.createNamespacedPod({ namespace: ns, body: pod('p1', { app: 'js' }) });
    assert.equal(created.metadata?.name, 'p1');
    assert.ok(created.metadata?.uid);
    await core.createNamespacedPod({ namespace: ns, body: pod('p2', { app: 'js' }) });

    const list = await core.listNamespacedPod({ namespace: ns });
    assert.deepEqual(list.items.map((p) => p.metadata?.name).sort(), ['p1', 'p2']);
    const selected = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=js', fieldSelector: 'metadata.name=p2' });
    assert.deepEqual(selected.items.map((p) => p.metadata?.name), ['p2']);
    const got = await core.readNamespacedPod({ name: 'p1', namespace: ns });
    assert.equal(got.spec?.containers[0].image, 'busybox');

    const merged = await core.patchNamespacedPod({ name: 'p1', namespace: ns, body: { metadata: { labels: { stage: 'merge' } } } }, patchAs(k8s.PatchStrategy.MergePatch));
    assert.equal(merged.metadata?.labels?.stage, 'merge');
    assert.equal(merged.metadata?.labels?.app, 'js');
    const jsonPatched = await core.patchNamespacedPod(
      { name: 'p1', namespace: ns, body: [{ op: 'replace', path: '/metadata/labels/stage', value: 'json' }] },
      patchAs(k8s.PatchStrategy.JsonPatch),
    );
    assert.equal(jsonPatched.metadata?.labels?.stage, 'json');
    const strategic = await core.patchNamespacedPod(
      { name: 'p1', namespace: ns, body: { metadata: { labels: { stage: 'strategic' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } } },
      patchAs(k8s.PatchStrategy.StrategicMergePatch),
    );
    assert.equal(strategic.metadata?.labels?.stage, 'strategic');
    assert.equal(strategic.spec?.containers.length, 1, 'containers merged by name');
    assert.equal(strategic.spec?.containers[0].image, 'busybox:1.36');
    assert.deepEqual(strategic.spec?.containers[0].command, ['sleep', '3600']);

    // The informer's cache catches up with the server.
    await waitFor('informer to see the strategic patch', async () => informer.get('p1', ns)?.metadata?.labels?.stage === 'strategic');
    const cacheNames = informer.list(ns).map((p) => p.metadata?.name).sort();
    assert.deepEqual(cacheNames, (await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name).sort());

    await core.deleteNamespacedPod({ name: 'p1', namespace: ns });
    await waitFor('informer to see the delete', async () => seen.some(([v, n]) => v === 'delete' && n === 'p1'));
    await waitFor('watch to see the delete', async () => watched.some(([t, n]) => t === 'DELETED' && n === 'p1'));

    assert.deepEqual(
      watched.filter(([, n]) => n === 'p1').map(([t]) => t),
      ['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED'],
    );
    assert.deepEqual(
      watched.filter(([, n]) => n === 'p2').map(([t]) => t),
      ['ADDED'],
    );
    assert.deepEqual(
      seen.filter(([, n]) => n === 'p1'),
      [
        ['add', 'p1', undefined],
        ['update', 'p1', 'merge'],
        ['update', 'p1', 'json'],
        ['update', 'p1', 'strategic'],
        ['delete', 'p1', 'strategic'],
      ],
    );
    assert.deepEqual(seen.filter(([, n]) => n === 'p2').map(([v]) => v), ['add']);
    const serverNames = (await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name).sort();
    assert.deepEqual(
      informer.list(ns).map((p) => p.metadata?.name).sort(),
      serverNames,
    );
    assert.deepEqual(serverNames, ['p2']);
    assert.equal(watchDone, 'not done', 'the watch is still open');
    assert.deepEqual(informerErrors, []);
  });

  it('errors arrive as ApiException with the Status code', async () => {
    await assert.rejects(core.readNamespacedPod({ name: 'nope', namespace: ns }), (e: any) => {
      assert.ok(e instanceof k8s.ApiException, String(e));
      assert.equal(e.code, 404);
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      assert.equal(body.kind, 'Status');
      assert.equal(body.reason, 'NotFound');
      return true;
    });
    await assert.rejects(core.createNamespacedPod({ namespace: ns, body: pod('p2') }), (e: any) => {
      assert.equal(e.code, 409);
      return true;
    });
    await assert.rejects(core.createNamespacedPod({ namespace: ns, body: { ...pod('bad'), spec: { containers: [{ name: 'c' }] } as any } }), (e: any) => {
      assert.equal(e.code, 422);
      return true;
    });
  });

  it('other typed clients: ConfigMaps, Deployments, and KubernetesObjectApi', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf' }, data: { a: '1' } } });
    assert.equal(cm.data?.a, '1');
    const replaced = await core.replaceNamespacedConfigMap({ name: 'conf', namespace: ns, body: { ...cm, data: { a: '2' } } });
    assert.equal(replaced.data?.a, '2');
    await assert.rejects(core.replaceNamespacedConfigMap({ name: 'conf', namespace: ns, body: { ...cm, data: { a: '3' } } }), (e: any) => e.code === 409);

    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const d = await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } } },
      },
    });
    assert.equal(d.metadata?.generation, 1);
    const scaled = await apps.patchNamespacedDeployment({ name: 'web', namespace: ns, body: { spec: { replicas: 3 } } }, patchAs(k8s.PatchStrategy.MergePatch));
    assert.equal(scaled.spec?.replicas, 3);
    assert.equal(scaled.metadata?.generation, 2);
    const status = await apps.patchNamespacedDeploymentStatus({ name: 'web', namespace: ns, body: { status: { replicas: 3 } } }, patchAs(k8s.PatchStrategy.MergePatch));
    assert.equal(status.status?.replicas, 3);
    assert.equal(status.metadata?.generation, 2);

    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const secret = await objects.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: ns }, stringData: { k: 'v' } } as k8s.KubernetesObject);
    assert.equal(secret.metadata?.name, 'sec');
    const read = (await objects.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: ns } })) as k8s.V1Secret;
    assert.equal(Buffer.from(read.data?.k ?? '', 'base64').toString(), 'v');
    const listed = await objects.list('apps/v1', 'Deployment', ns);
    assert.deepEqual(listed.items.map((i) => i.metadata?.name), ['web']);
    await objects.delete({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: ns } });
    await assert.rejects(objects.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: ns } }), (e: any) => e.code === 404);
  });

  it('no request answered 500 (no "request failed" in the log)', () => {
    assert.deepEqual(requestFailures(L()), []);
  });
});
