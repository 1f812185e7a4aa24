// End-to-end: `kubectl get` against a real `lodge up` — server-side tables
// with each kind's columns, -o yaml|json|jsonpath|name|custom-columns, label
// and field selectors, -A, `get all`, chunked lists and `get -w`.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { describeRun, kubectlOk, parseTable, requestFailures, runKubectl, shutdown, startKubectl, startLodge, type KubectlChild, type KubectlOptions, type Lodge, INERT_WORKLOADS } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-kubectl-get-'));
let lodge: Lodge | undefined;

function L(): Lodge {
  assert.ok(lodge, 'lodge is running');
  return lodge;
}

const ok = (args: string[], o: KubectlOptions = {}): string => kubectlOk(L(), args, o).stdout;

function fails(args: string[]): string {
  const r = runKubectl(L(), args);
  assert.notEqual(r.code, 0, `expected failure\n${describeRun(r)}`);
  return r.stderr;
}

const table = (args: string[]) => {
  const out = ok(args);
  return { ...parseTable(out), out };
};

const names = (out: string): string[] => out.trim().split(/\s+/).filter(Boolean);

const AGE = /^\d+(s|m\d*s?|h\d*m?|d\d*h?|y\d*d?)$/;

const FIXTURES = `
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: other }
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web, tier: front } }
spec:
  nodeName: node-a
  containers: [{ name: web, image: busybox }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-2, namespace: shop, labels: { app: web } }
spec:
  containers: [{ name: web, image: busybox }]
---
apiVersion: v1
kind: Pod
metadata: { name: db-1, namespace: shop, labels: { app: db } }
spec:
  containers: [{ name: db, image: postgres }, { name: backup, image: busybox }]
---
apiVersion: v1
kind: Pod
metadata: { name: cache-1, namespace: other, labels: { app: cache } }
spec:
  containers: [{ name: cache, image: redis }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop, labels: { app: web } }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: busybox }, { name: side, image: nginx }]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: web-5d4f, namespace: shop, labels: { app: web } }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: busybox }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...INERT_WORKLOADS] });
  kubectlOk(L(), ['create', '-f', '-'], { input: FIXTURES });
  // A running pod, as its node agent would report it.
  kubectlOk(L(), [
    'patch', 'pod', 'web-1', '-n', 'shop', '--subresource=status', '--type', 'merge', '-p',
    JSON.stringify({
      status: {
        phase: 'Running',
        podIP: '10.88.0.5',
        podIPs: [{ ip: '10.88.0.5' }],
        containerStatuses: [{ name: 'web', ready: true, restartCount: 3, image: 'busybox', imageID: '', state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }],
      },
    }),
  ]);
});

after(async () => {
  await shutdown(lodge, dataDir);
});

describe('human tables', () => {
  it('pods: NAME READY STATUS RESTARTS AGE', () => {
    const t = table(['get', 'pods', '-n', 'shop']);
    assert.deepEqual(t.columns, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], t.out);
    assert.deepEqual(
      t.rows.map((r) => [r.NAME, r.READY, r.STATUS, r.RESTARTS]),
      [
        ['db-1', '0/2', 'Pending', '0'],
        ['web-1', '1/1', 'Running', '3'],
        ['web-2', '0/1', 'Pending', '0'],
      ],
      t.out,
    );
    for (const r of t.rows) assert.match(r.AGE, AGE, t.out);
  });

  it('pods -o wide adds IP NODE NOMINATED NODE READINESS GATES', () => {
    const t = table(['get', 'pods', '-n', 'shop', '-o', 'wide']);
    assert.deepEqual(t.columns, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'], t.out);
    const web1 = t.rows.find((r) => r.NAME === 'web-1');
    assert.deepEqual(web1 && [web1.IP, web1.NODE, web1['NOMINATED NODE'], web1['READINESS GATES']], ['10.88.0.5', 'node-a', '<none>', '<none>'], t.out);
    const web2 = t.rows.find((r) => r.NAME === 'web-2');
    assert.deepEqual(web2 && [web2.IP, web2.NODE], ['<none>', '<none>'], t.out);
  });

  it('deployments: NAME READY UP-TO-DATE AVAILABLE AGE (+ CONTAINERS IMAGES SELECTOR wide)', () => {
    const t = table(['get', 'deployments', '-n', 'shop']);
    assert.deepEqual(t.columns, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'], t.out);
    assert.deepEqual(t.rows.map((r) => [r.NAME, r.READY, r['UP-TO-DATE'], r.AVAILABLE]), [['web', '0/2', '0', '0']], t.out);
    const w = table(['get', 'deploy', 'web', '-n', 'shop', '-o', 'wide']);
    assert.deepEqual(w.columns, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'], w.out);
    assert.deepEqual([w.rows[0].CONTAINERS, w.rows[0].IMAGES, w.rows[0].SELECTOR], ['web,side', 'busybox,nginx', 'app=web'], w.out);
  });

  it('replicasets: NAME DESIRED CURRENT READY AGE', () => {
    const t = table(['get', 'rs', '-n', 'shop']);
    assert.deepEqual(t.columns, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'], t.out);
    assert.deepEqual(t.rows.map((r) => [r.NAME, r.DESIRED, r.CURRENT, r.READY]), [['web-5d4f', '2', '0', '0']], t.out);
  });

  it('services: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE (+ SELECTOR wide)', () => {
    const t = table(['get', 'services', '-n', 'shop']);
    assert.deepEqual(t.columns, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'], t.out);
    assert.equal(t.rows.length, 1, t.out);
    assert.deepEqual([t.rows[0].NAME, t.rows[0].TYPE, t.rows[0]['PORT(S)']], ['web', 'ClusterIP', '80/TCP'], t.out);
    const w = table(['get', 'svc', '-n', 'shop', '-o', 'wide']);
    assert.deepEqual(w.columns, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR'], w.out);
    assert.equal(w.rows[0].SELECTOR, 'app=web', w.out);
  });

  it('namespaces: NAME STATUS AGE', () => {
    const t = table(['get', 'namespaces']);
    assert.deepEqual(t.columns, ['NAME', 'STATUS', 'AGE'], t.out);
    const byName = new Map(t.rows.map((r) => [r.NAME, r.STATUS]));
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'shop', 'other']) assert.equal(byName.get(ns), 'Active', `${ns}\n${t.out}`);
  });

  it('one object by name, several names, --no-headers, --show-labels, --show-kind', () => {
    const one = table(['get', 'pod', 'web-2', '-n', 'shop']);
    assert.deepEqual(one.rows.map((r) => r.NAME), ['web-2'], one.out);
    const two = table(['get', 'pods', 'web-2', 'db-1', '-n', 'shop']);
    assert.deepEqual(two.rows.map((r) => r.NAME), ['web-2', 'db-1'], two.out);
    const bare = ok(['get', 'pods', '-n', 'shop', '--no-headers']);
    assert.doesNotMatch(bare, /NAME/);
    assert.equal(bare.trim().split('\n').length, 3, bare);
    const labels = table(['get', 'pod', 'web-1', '-n', 'shop', '--show-labels']);
    assert.equal(labels.columns.at(-1), 'LABELS', labels.out);
    assert.equal(labels.rows[0].LABELS, 'app=web,tier=front', labels.out);
    const kind = table(['get', 'pods', '-n', 'shop', '--show-kind', '-l', 'app=db']);
    assert.deepEqual(kind.rows.map((r) => r.NAME), ['pod/db-1'], kind.out);
  });

  it('a missing object or namespace', () => {
    assert.match(fails(['get', 'pod', 'nosuch', '-n', 'shop']), /Error from server \(NotFound\): pods "nosuch" not found/);
    const r = runKubectl(L(), ['get', 'pods', '-n', 'empty-ns']);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, /No resources found in empty-ns namespace\./, describeRun(r));
  });
});

describe('output formats', () => {
  it('-o yaml: one object and a list', () => {
    const pod = parseYaml(ok(['get', 'pod', 'web-1', '-n', 'shop', '-o', 'yaml']));
    assert.equal(pod.apiVersion, 'v1');
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.metadata.name, 'web-1');
    assert.equal(pod.metadata.namespace, 'shop');
    assert.deepEqual(pod.metadata.labels, { app: 'web', tier: 'front' });
    assert.match(pod.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(pod.metadata.resourceVersion, /^\d+$/);
    assert.equal(pod.spec.containers[0].image, 'busybox');
    assert.equal(pod.spec.nodeName, 'node-a');
    assert.equal(pod.status.phase, 'Running');
    assert.equal(pod.status.podIP, '10.88.0.5');
    assert.equal(pod.metadata.managedFields, undefined, 'kubectl hides managedFields');
    const list = parseYaml(ok(['get', 'pods', '-n', 'shop', '-o', 'yaml']));
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((p: any) => `${p.kind}/${p.metadata.name}`), ['Pod/db-1', 'Pod/web-1', 'Pod/web-2']);
  });

  it('-o json: one object and a list, with --show-managed-fields', () => {
    const dep = JSON.parse(ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields']));
    assert.equal(dep.apiVersion, 'apps/v1');
    assert.equal(dep.kind, 'Deployment');
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.strategy.type, 'RollingUpdate', 'defaulted');
    assert.equal(dep.metadata.generation, 1);
    assert.ok(Array.isArray(dep.metadata.managedFields) && dep.metadata.managedFields.length > 0, JSON.stringify(dep.metadata));
    assert.equal(dep.metadata.managedFields[0].manager, 'kubectl-create');
    const list = JSON.parse(ok(['get', 'svc,deploy', '-n', 'shop', '-o', 'json']));
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((o: any) => `${o.kind}/${o.metadata.name}`), ['Service/web', 'Deployment/web']);
  });

  it('-o jsonpath, -o name, -o custom-columns', () => {
    assert.equal(ok(['get', 'pods', '-n', 'shop', '-o', 'jsonpath={.items[*].metadata.name}']), 'db-1 web-1 web-2');
    assert.equal(ok(['get', 'pod', 'web-1', '-n', 'shop', '-o', 'jsonpath={.status.podIP} {.spec.nodeName}']), '10.88.0.5 node-a');
    assert.equal(
      ok(['get', 'pods', '-n', 'shop', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}']),
      'db-1=Pending\nweb-1=Running\nweb-2=Pending\n',
    );
    assert.equal(ok(['get', 'pod', 'db-1', '-n', 'shop', '-o', "jsonpath={.spec.containers[?(@.name=='backup')].image}"]), 'busybox');
    assert.equal(ok(['get', 'pods,svc', '-n', 'shop', '-o', 'name']), 'pod/db-1\npod/web-1\npod/web-2\nservice/web\n');
    const cc = table(['get', 'pods', '-n', 'shop', '-o', 'custom-columns=POD:.metadata.name,NODE:.spec.nodeName,IMAGE:.spec.containers[0].image']);
    assert.deepEqual(cc.columns, ['POD', 'NODE', 'IMAGE'], cc.out);
    assert.deepEqual(cc.rows.map((r) => [r.POD, r.NODE, r.IMAGE]), [['db-1', '<none>', 'postgres'], ['web-1', 'node-a', 'busybox'], ['web-2', '<none>', 'busybox']], cc.out);
  });

  it('--chunk-size pages through the list with limit/continue', () => {
    const t = table(['get', 'pods', '-A', '--chunk-size=1']);
    assert.deepEqual(t.rows.map((r) => `${r.NAMESPACE}/${r.NAME}`), ['other/cache-1', 'shop/db-1', 'shop/web-1', 'shop/web-2'], t.out);
    assert.equal(ok(['get', 'pods', '-A', '--chunk-size=2', '-o', 'jsonpath={.items[*].metadata.name}']), 'cache-1 db-1 web-1 web-2');
  });
});

describe('selectors', () => {
  const podNames = (...sel: string[]): string[] => names(ok(['get', 'pods', '-n', 'shop', '-o', 'jsonpath={.items[*].metadata.name}', ...sel]));

  it('-l: equality, inequality, set-based and existence', () => {
    assert.deepEqual(podNames('-l', 'app=web'), ['web-1', 'web-2']);
    assert.deepEqual(podNames('-l', 'app!=web'), ['db-1']);
    assert.deepEqual(podNames('-l', 'app in (web,db)'), ['db-1', 'web-1', 'web-2']);
    assert.deepEqual(podNames('-l', 'app notin (web)'), ['db-1']);
    assert.deepEqual(podNames('-l', 'tier'), ['web-1']);
    assert.deepEqual(podNames('-l', '!tier'), ['db-1', 'web-2']);
    assert.deepEqual(podNames('-l', 'app=web,tier=front'), ['web-1']);
    assert.deepEqual(podNames('-l', 'app=nothing'), []);
    const t = table(['get', 'pods', '-n', 'shop', '-l', 'app=web']);
    assert.deepEqual(t.rows.map((r) => r.NAME), ['web-1', 'web-2'], t.out);
  });

  it('-l rejects a malformed selector', () => {
    assert.match(fails(['get', 'pods', '-n', 'shop', '-l', 'app in web']), /unable to parse requirement|found 'web', expected: '\('|invalid/i);
  });

  it('--field-selector status.phase, metadata.name, spec.nodeName (and with -l)', () => {
    assert.deepEqual(podNames('--field-selector', 'status.phase=Running'), ['web-1']);
    assert.deepEqual(podNames('--field-selector', 'status.phase!=Running'), ['db-1', 'web-2']);
    assert.deepEqual(podNames('--field-selector', 'status.phase=Pending,metadata.name!=db-1'), ['web-2']);
    assert.deepEqual(podNames('--field-selector', 'metadata.name=db-1'), ['db-1']);
    assert.deepEqual(podNames('--field-selector', 'spec.nodeName=node-a'), ['web-1']);
    assert.deepEqual(podNames('--field-selector', 'status.phase=Pending', '-l', 'app=web'), ['web-2']);
    const t = table(['get', 'pods', '-A', '--field-selector', 'metadata.namespace=other']);
    assert.deepEqual(t.rows.map((r) => r.NAME), ['cache-1'], t.out);
  });

  it('an unsupported field is an error naming it', () => {
    const e = fails(['get', 'pods', '-n', 'shop', '--field-selector', 'spec.foo=bar']);
    assert.match(e, /Error from server \(BadRequest\)/, e);
    assert.match(e, /field label not supported: spec\.foo/, e);
    const d = fails(['get', 'deployments', '-n', 'shop', '--field-selector', 'spec.replicas=2']);
    assert.match(d, /field label not supported: spec\.replicas/, d);
  });
});

describe('-A and get all', () => {
  it('-A adds a NAMESPACE column and lists every namespace', () => {
    const t = table(['get', 'pods', '-A']);
    assert.deepEqual(t.columns, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], t.out);
    assert.deepEqual(t.rows.map((r) => [r.NAMESPACE, r.NAME, r.STATUS]), [
      ['other', 'cache-1', 'Pending'],
      ['shop', 'db-1', 'Pending'],
      ['shop', 'web-1', 'Running'],
      ['shop', 'web-2', 'Pending'],
    ], t.out);
    const wide = table(['get', 'pods', '--all-namespaces', '-o', 'wide', '-l', 'tier=front']);
    assert.deepEqual(wide.columns, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'], wide.out);
    assert.deepEqual(wide.rows.map((r) => [r.NAMESPACE, r.NAME, r.IP, r.NODE]), [['shop', 'web-1', '10.88.0.5', 'node-a']], wide.out);
  });

  it('get all lists pods, services, deployments and replicasets, one table each', () => {
    const out = ok(['get', 'all', '-n', 'shop']);
    const sections = out.trim().split(/\n\s*\n/).map((s) => parseTable(s));
    const byFirst = new Map(sections.map((s) => [s.rows[0]?.NAME.split('/')[0], s]));
    assert.deepEqual([...byFirst.keys()].sort(), ['deployment.apps', 'pod', 'replicaset.apps', 'service'], out);
    assert.deepEqual(byFirst.get('pod')!.rows.map((r) => r.NAME), ['pod/db-1', 'pod/web-1', 'pod/web-2'], out);
    assert.deepEqual(byFirst.get('pod')!.columns, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], out);
    assert.deepEqual(byFirst.get('service')!.rows.map((r) => r.NAME), ['service/web'], out);
    assert.deepEqual(byFirst.get('deployment.apps')!.rows.map((r) => [r.NAME, r.READY]), [['deployment.apps/web', '0/2']], out);
    assert.deepEqual(byFirst.get('deployment.apps')!.columns, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'], out);
    assert.deepEqual(byFirst.get('replicaset.apps')!.rows.map((r) => r.NAME), ['replicaset.apps/web-5d4f'], out);
    // Not in the "all" category.
    assert.doesNotMatch(out, /configmap|secret|namespace\//);
  });

  it('get all -A has a NAMESPACE column', () => {
    const out = ok(['get', 'all', '-A']);
    const pods = parseTable(out.trim().split(/\n\s*\n/)[0]);
    assert.deepEqual(pods.columns.slice(0, 2), ['NAMESPACE', 'NAME'], out);
    assert.deepEqual(pods.rows.map((r) => `${r.NAMESPACE} ${r.NAME}`), ['other pod/cache-1', 'shop pod/db-1', 'shop pod/web-1', 'shop pod/web-2'], out);
  });
});

describe('get -w', () => {
  const children: KubectlChild[] = [];
  after(async () => {
    for (const c of children) await c.stop();
  });

  // Rows of `get -w` output for this pod (the header is printed once).
  const rowsFor = (out: string, name: string): string[] => out.split('\n').filter((l) => l.split(/\s+/)[0] === name);

  it('streams the creation, labelling and deletion of a pod', async () => {
    ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: watched }\n' });
    // -v=6 logs each answered request on stderr: once the watch request is
    // answered, every later change reaches it.
    const plain = startKubectl(L(), ['get', 'pods', '-n', 'watched', '-w', '-v=6']);
    const events = startKubectl(L(), ['get', 'pods', '-n', 'watched', '-w', '--output-watch-events', '-v=6']);
    const selected = startKubectl(L(), ['get', 'pods', '-n', 'watched', '-w', '--output-watch-events', '-l', 'track=in', '-v=6']);
    children.push(plain, events, selected);
    for (const c of [plain, events, selected]) await c.watching();

    ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: { name: w-1, namespace: watched, labels: { track: in } }\nspec:\n  containers: [{ name: c, image: busybox }]\n' });
    await events.until((o) => /^ADDED\s+w-1\s/m.test(o), 'ADDED w-1');
    ok(['label', 'pod', 'w-1', '-n', 'watched', 'color=blue']);
    await events.until((o) => /^MODIFIED\s+w-1\s/m.test(o), 'MODIFIED w-1');
    // Leaving a label selector is a DELETED for that watch; coming back an ADDED.
    ok(['label', 'pod', 'w-1', '-n', 'watched', 'track=out', '--overwrite']);
    await selected.until((o) => /^DELETED\s+w-1\s/m.test(o), 'DELETED w-1 for the label-selected watch');
    ok(['label', 'pod', 'w-1', '-n', 'watched', 'track=in', '--overwrite']);
    await selected.until((o) => (o.match(/^ADDED\s+w-1\s/gm) ?? []).length === 2, 'a second ADDED w-1 for the label-selected watch');
    ok(['delete', 'pod', 'w-1', '-n', 'watched']);
    await events.until((o) => /^DELETED\s+w-1\s/m.test(o), 'DELETED w-1');
    await selected.until((o) => (o.match(/^DELETED\s+w-1\s/gm) ?? []).length === 2, 'a second DELETED w-1 for the label-selected watch');
    await plain.until((o) => rowsFor(o, 'w-1').length >= 5, 'five rows for w-1 (added, 3 relabels, deleted)');

    const ev = events.stdout().trim().split('\n');
    assert.match(ev[0], /^EVENT\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/, events.stdout());
    assert.deepEqual(ev.slice(1).map((l) => l.split(/\s+/).slice(0, 4)), [
      ['ADDED', 'w-1', '0/1', 'Pending'],
      ['MODIFIED', 'w-1', '0/1', 'Pending'],
      ['MODIFIED', 'w-1', '0/1', 'Pending'],
      ['MODIFIED', 'w-1', '0/1', 'Pending'],
      ['DELETED', 'w-1', '0/1', 'Pending'],
    ], events.stdout());
    const sel = selected.stdout().trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(sel, ['ADDED w-1', 'MODIFIED w-1', 'DELETED w-1', 'ADDED w-1', 'DELETED w-1'], selected.stdout());
    const p = plain.stdout().trim().split('\n');
    assert.match(p[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/, plain.stdout());
    for (const row of p.slice(1)) assert.match(row, /^w-1\s+0\/1\s+Pending\s+0\s+\S+$/, plain.stdout());
    assert.equal(p.length, 6, plain.stdout());

    for (const c of [plain, events, selected]) {
      assert.equal(c.exitCode(), undefined, `${c.command} is still watching`);
      await c.stop();
      assert.notEqual(c.exitCode(), undefined, `${c.command} stopped`);
    }
  });

  it('-w on one object by name, and --watch-only', async () => {
    ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg, namespace: watched }\ndata: { a: "1" }\n' });
    const one = startKubectl(L(), ['get', 'configmap', 'cfg', '-n', 'watched', '-w', '-o', 'jsonpath={.data.a}{"\\n"}', '-v=6']);
    const only = startKubectl(L(), ['get', 'configmaps', '-n', 'watched', '--watch-only', '-o', 'jsonpath={.metadata.name}={.data.a}{"\\n"}', '-v=6']);
    children.push(one, only);
    await one.until((o) => o === '1\n', 'the current value');
    await one.watching();
    await only.watching();
    assert.equal(only.stdout(), '', 'the current state is not printed with --watch-only');
    ok(['patch', 'configmap', 'cfg', '-n', 'watched', '--type', 'merge', '-p', '{"data":{"a":"final"}}']);
    await one.until((o) => o.endsWith('final\n'), 'the change by name');
    await only.until((o) => o.endsWith('cfg=final\n'), 'the change in the namespace');
    await one.stop();
    await only.stop();
  });
});

it('no request answered 500', () => {
  assert.deepEqual(requestFailures(L()), []);
});
