// The CLI as a user runs it (`node dist/src/cli/main.js --kubeconfig F ...`),
// against a real `lodge up` (test/e2e/harness.ts): one control plane for this
// file, started in `before`, stopped and its data dir removed in `after`.
// Every child process started here is stopped by its PID.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { writeKubeconfig } from '../../src/client/kubeconfig.js';
import { KubeClient } from '../../src/client/client.js';
import { LODGE_MAIN, lodgeCli, parseTable, removeDir, shutdown, startLodge, testNetwork, waitFor, type Lodge, type RunResult, INERT_WORKLOADS } from '../e2e/harness.js';

let lodge: Lodge | undefined;
let dataDir: string;
/** Scratch files of this test file (manifests, extra kubeconfigs, a HOME). */
let work: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'lodge-cli-e2e-'));
  work = mkdtempSync(join(tmpdir(), 'lodge-cli-work-'));
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...INERT_WORKLOADS] });
});

after(async () => {
  await shutdown(lodge, dataDir);
  if (work) removeDir(work);
});

function l(): Lodge {
  if (!lodge) throw new Error('lodge did not start');
  return lodge;
}

function show(args: string[], r: RunResult): string {
  return `$ lodge ${args.join(' ')}\n[exit ${r.code}]\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

/** Run the CLI against the lodge. */
function run(args: string[], o: { input?: string } = {}): RunResult {
  return lodgeCli(l(), args, o);
}

/** Run the CLI; it must exit 0 with nothing on stderr. */
function ok(args: string[], o: { input?: string } = {}): string {
  const r = run(args, o);
  assert.equal(r.code, 0, show(args, r));
  assert.equal(r.stderr, '', show(args, r));
  return r.stdout;
}

/** Run the CLI; it must exit 1 with exactly `stderr`. */
function fails(args: string[], stderr: string | RegExp, o: { input?: string } = {}): RunResult {
  const r = run(args, o);
  assert.equal(r.code, 1, show(args, r));
  if (typeof stderr === 'string') assert.equal(r.stderr, stderr, show(args, r));
  else assert.match(r.stderr, stderr, show(args, r));
  return r;
}

/** A table's rows without the AGE column (it depends on timing), for exact comparison. */
function rows(stdout: string): Array<Record<string, string>> {
  return parseTable(stdout).rows.map(({ AGE: _age, ...rest }) => rest);
}

/** A table's header line, exactly (for tables whose column widths do not depend on AGE). */
function header(stdout: string): string {
  return stdout.split('\n')[0];
}

function columns(stdout: string): string[] {
  return parseTable(stdout).columns;
}

function write(name: string, text: string): string {
  const path = join(work, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function uidOf(args: string[]): string {
  const uid = ok(['get', ...args, '-o', 'jsonpath={.metadata.uid}']);
  assert.match(uid, /^[0-9a-f-]{36}$/);
  return uid;
}

const SHOP = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {app: web}}
data: {mode: fast}
---
# an empty document and a List are both fine
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: shop, labels: {app: web, tier: front}}
  spec:
    nodeName: host-a
    containers: [{name: web, image: busybox}]
- apiVersion: v1
  kind: Pod
  metadata: {name: web-2, namespace: shop, labels: {app: web}}
  spec:
    containers: [{name: web, image: busybox}]
- apiVersion: v1
  kind: Pod
  metadata: {name: db-1, namespace: shop, labels: {app: db}}
  spec:
    containers: [{name: db, image: postgres}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop, labels: {app: web}}
  spec:
    replicas: 2
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: web, image: busybox}]
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
  spec:
    selector: {app: web}
    ports: [{port: 80, targetPort: 8080}]
- apiVersion: lodge.dev/v1alpha1
  kind: Instance
  metadata: {name: vm1, namespace: shop, labels: {app: web}}
  spec: {type: vm, image: debian-12, cpu: 2, memory: 2Gi}
`;

const SHOP_OBJECTS = ['namespace/shop', 'configmap/settings', 'pod/web-1', 'pod/web-2', 'pod/db-1', 'deployment.apps/web', 'service/web', 'instance.lodge.dev/vm1'];

test('apply -f: created, then unchanged, then configured, for several kinds', () => {
  const file = write('shop.yaml', SHOP);
  assert.equal(ok(['apply', '-f', file]), SHOP_OBJECTS.map((o) => `${o} created\n`).join(''));
  assert.equal(ok(['apply', '-f', file]), SHOP_OBJECTS.map((o) => `${o} unchanged\n`).join(''));

  // Stdin, with two objects changed: only those are "configured".
  const changed = SHOP.replace('replicas: 2', 'replicas: 3').replace('mode: fast', 'mode: slow');
  const expected = SHOP_OBJECTS.map((o) => `${o} ${o === 'deployment.apps/web' || o === 'configmap/settings' ? 'configured' : 'unchanged'}\n`).join('');
  assert.equal(ok(['apply', '-f', '-'], { input: changed }), expected);
  assert.equal(ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']), '3');
  assert.equal(ok(['get', 'configmap/settings', '-n', 'shop', '-o', 'jsonpath={.data.mode}']), 'slow');

  // A manifest's namespace may not contradict -n: as in kubectl, each such
  // object is an error, the cluster-scoped Namespace is still applied.
  const conflict = `error: error when applying "${file}": the namespace from the provided object "shop" does not match the namespace "other". You must pass '--namespace=shop' to perform this operation.\n`;
  const applied = fails(['apply', '-n', 'other', '-f', file], conflict.repeat(SHOP_OBJECTS.length - 1));
  assert.equal(applied.stdout, 'namespace/shop unchanged\n');
  const deleted = fails(['delete', '-n', 'other', '-f', file], conflict.replace('applying', 'deleting'));
  assert.equal(deleted.stdout, '', 'nothing is deleted');
});

test('apply -f DIR (with and without -R) and JSON; the namespace defaults to -n', () => {
  ok(['create', 'ns', 'dirs']);
  const dir = join(work, 'manifests');
  write('manifests/a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-a}\ndata: {x: "1"}\n');
  write('manifests/notes.txt', 'not a manifest');
  write('manifests/sub/b.json', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-b' }, data: { y: '2' } }));
  assert.equal(ok(['apply', '-n', 'dirs', '-f', dir]), 'configmap/from-a created\n');
  assert.equal(ok(['apply', '-n', 'dirs', '-R', '-f', dir]), 'configmap/from-a unchanged\nconfigmap/from-b created\n');
  assert.equal(ok(['get', 'cm', '-n', 'dirs', '-o', 'name']), 'configmap/from-a\nconfigmap/from-b\n');
});

// The first apply leaves no managed fields (it sets none but the name), so
// the second one records a "before-first-apply" owner: a write, but nothing
// configured.
test('apply: a namespace with nothing but a name is unchanged on the second apply', () => {
  const file = write('bare-ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bare\n');
  assert.equal(ok(['apply', '-f', file]), 'namespace/bare created\n');
  assert.equal(ok(['apply', '-f', file]), 'namespace/bare unchanged\n');
});

test('get: tables for each kind, by name, several types, --no-headers, "No resources found"', () => {
  const pods = ok(['get', 'pods', '-n', 'shop']);
  assert.equal(header(pods), 'NAME    READY   STATUS    RESTARTS   AGE');
  assert.deepEqual(rows(pods), [
    { NAME: 'db-1', READY: '0/1', STATUS: 'Pending', RESTARTS: '0' },
    { NAME: 'web-1', READY: '0/1', STATUS: 'Pending', RESTARTS: '0' },
    { NAME: 'web-2', READY: '0/1', STATUS: 'Pending', RESTARTS: '0' },
  ]);

  // By name, in the order given; TYPE/NAME; -n before the subcommand.
  assert.deepEqual(rows(ok(['-n', 'shop', 'get', 'pod', 'web-2', 'web-1'])).map((r) => r.NAME), ['web-2', 'web-1']);
  assert.deepEqual(rows(ok(['get', 'po/web-1', '-n', 'shop'])).map((r) => r.NAME), ['web-1']);

  const deploy = ok(['get', 'deployments', '-n', 'shop']);
  assert.equal(header(deploy), 'NAME   READY   UP-TO-DATE   AVAILABLE   AGE');
  assert.deepEqual(rows(deploy), [{ NAME: 'web', READY: '0/3', 'UP-TO-DATE': '0', AVAILABLE: '0' }]);

  const svc = ok(['get', 'svc', '-n', 'shop']);
  // Column widths follow the allocated cluster IP, so compare the header's words.
  assert.deepEqual(header(svc).split(/\s+/), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
  assert.deepEqual(rows(svc).map((r) => [r.NAME, r.TYPE, r['PORT(S)']]), [['web', 'ClusterIP', '80/TCP']]);
  // In this lodge's own Service range (the harness gives each test lodge one: a 10.x.0.0/16).
  const range = testNetwork(dataDir).serviceCidr.split('.').slice(0, 2).join('\\.');
  assert.match(rows(svc)[0]['CLUSTER-IP'], new RegExp(`^${range}\\.\\d+\\.\\d+$`));

  const cms = ok(['get', 'configmaps', '-n', 'shop']);
  assert.equal(header(cms), 'NAME       DATA   AGE');
  assert.deepEqual(rows(cms), [{ NAME: 'settings', DATA: '1' }]);

  const inst = ok(['get', 'instances.lodge.dev', '-n', 'shop']);
  assert.equal(header(inst), 'NAME   TYPE   STATE     IP       NODE     AGE');
  assert.deepEqual(rows(inst), [{ NAME: 'vm1', TYPE: 'vm', STATE: 'Pending', IP: '<none>', NODE: '<none>' }]);
  assert.equal(ok(['get', 'inst', '-n', 'shop', '-o', 'name']), 'instance.lodge.dev/vm1\n', 'short name');

  const ns = ok(['get', 'namespaces', 'shop', 'default']);
  assert.equal(header(ns), 'NAME      STATUS   AGE');
  assert.deepEqual(rows(ns), [
    { NAME: 'shop', STATUS: 'Active' },
    { NAME: 'default', STATUS: 'Active' },
  ]);

  // Several types: kind prefixes and a blank line between the tables.
  const multi = ok(['get', 'pods,deploy', '-n', 'shop', '--no-headers']);
  const [podBlock, deployBlock, ...rest] = multi.split('\n\n');
  assert.deepEqual(rest, []);
  assert.deepEqual(
    podBlock.split('\n').map((line) => line.split(/\s+/)[0]),
    ['pod/db-1', 'pod/web-1', 'pod/web-2'],
  );
  assert.match(deployBlock, /^deployment\.apps\/web +0\/3 +0 +0 +\S+\n$/);

  // "all" is the "all" category: pods, services, deployments, instances, but not configmaps.
  const all = ok(['get', 'all', '-n', 'shop', '-o', 'name']);
  assert.deepEqual(all.trim().split('\n').sort(), ['deployment.apps/web', 'instance.lodge.dev/vm1', 'pod/db-1', 'pod/web-1', 'pod/web-2', 'service/web']);

  const empty = run(['get', 'pods', '-n', 'nobody']);
  assert.deepEqual([empty.code, empty.stdout, empty.stderr], [0, '', 'No resources found in nobody namespace.\n']);
  const emptyCluster = run(['get', 'ns', '-l', 'none=here']);
  assert.deepEqual([emptyCluster.code, emptyCluster.stdout, emptyCluster.stderr], [0, '', 'No resources found\n']);
});

test('get -A adds a NAMESPACE column; -o wide and --show-labels add theirs', () => {
  ok(['create', 'ns', 'shop-2']);
  ok(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop-2, labels: {app: web}}\nspec: {containers: [{name: web, image: busybox}]}\n' });

  const all = ok(['get', 'pods', '-A', '-l', 'app=web']);
  assert.equal(header(all), 'NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE');
  assert.deepEqual(
    rows(all)
      .map((r) => [r.NAMESPACE, r.NAME])
      .sort(([nsA, a], [nsB, b]) => (nsA === nsB ? (a < b ? -1 : 1) : nsA < nsB ? -1 : 1)),
    [
      ['shop', 'web-1'],
      ['shop', 'web-2'],
      ['shop-2', 'web-1'],
    ],
  );

  const wide = ok(['get', 'pods', '-n', 'shop', '-o', 'wide', '--show-labels']);
  assert.deepEqual(columns(wide), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES', 'LABELS']);
  assert.deepEqual(
    rows(wide).map((r) => [r.NAME, r.IP, r.NODE, r['NOMINATED NODE'], r.LABELS]),
    [
      ['db-1', '<none>', '<none>', '<none>', 'app=db'],
      ['web-1', '<none>', 'host-a', '<none>', 'app=web,tier=front'],
      ['web-2', '<none>', '<none>', '<none>', 'app=web'],
    ],
  );

  const wideAll = ok(['get', 'deploy,inst', '-A', '-o', 'wide']);
  const [deployBlock, instBlock] = wideAll.split('\n\n');
  assert.deepEqual(columns(deployBlock), ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
  assert.deepEqual(rows(deployBlock), [{ NAMESPACE: 'shop', NAME: 'deployment.apps/web', READY: '0/3', 'UP-TO-DATE': '0', AVAILABLE: '0', CONTAINERS: 'web', IMAGES: 'busybox', SELECTOR: 'app=web' }]);
  assert.deepEqual(columns(instBlock), ['NAMESPACE', 'NAME', 'TYPE', 'STATE', 'IP', 'NODE', 'AGE', 'CPU', 'MEMORY', 'IMAGE', 'RUN STRATEGY']);
  assert.deepEqual(rows(instBlock).map((r) => [r.NAMESPACE, r.NAME, r.CPU, r.MEMORY, r.IMAGE, r['RUN STRATEGY']]), [['shop', 'instance.lodge.dev/vm1', '2', '2Gi', 'debian-12', 'Always']]);

  // Cluster-scoped kinds get no NAMESPACE column, even with -A.
  assert.equal(header(ok(['get', 'ns', '-A', '-l', 'team=shop'])), 'NAME   STATUS   AGE');
  assert.match(ok(['get', 'pods', '-A', '--no-headers', '--field-selector', 'metadata.namespace=shop-2']), /^shop-2 +web-1 +0\/1 +Pending +0 +\S+\n$/);
});

test('get -l and --field-selector', () => {
  const names = (args: string[]): string[] => ok([...args, '-o', 'name']).split('\n').filter(Boolean);
  assert.deepEqual(names(['get', 'pods', '-n', 'shop', '-l', 'app=web']), ['pod/web-1', 'pod/web-2']);
  assert.deepEqual(names(['get', 'pods', '-n', 'shop', '-l', 'app!=web']), ['pod/db-1']);
  assert.deepEqual(names(['get', 'pods', '-n', 'shop', '-l', 'app in (web,db),!tier']), ['pod/db-1', 'pod/web-2']);
  assert.deepEqual(names(['get', 'pods', '-n', 'shop', '-l', 'tier']), ['pod/web-1']);
  assert.deepEqual(names(['get', 'pods', '-n', 'shop', '--field-selector', 'spec.nodeName=host-a']), ['pod/web-1']);
  assert.deepEqual(names(['get', 'pods', '-n', 'shop', '--field-selector', 'metadata.name!=web-1,status.phase=Pending']), ['pod/db-1', 'pod/web-2']);
  assert.deepEqual(names(['get', 'pods', '-A', '-l', 'app=web', '--field-selector', 'metadata.namespace=shop-2']), ['pod/web-1']);
  assert.deepEqual(names(['get', 'inst', '-A', '--field-selector', 'spec.type=vm']), ['instance.lodge.dev/vm1']);
  assert.deepEqual(names(['get', 'inst', '-A', '--field-selector', 'spec.type=container']), []);
  const table = ok(['get', 'pods', '-n', 'shop', '-l', 'app=db']);
  assert.deepEqual(rows(table).map((r) => r.NAME), ['db-1']);
  fails(['get', 'pods', '-n', 'shop', '--field-selector', 'spec.noSuchField=x'], /^Error from server \(BadRequest\): .*spec\.noSuchField/);
});

test('get -o yaml|json|name|jsonpath', () => {
  assert.equal(ok(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'name']), 'pod/web-1\npod/web-2\n');
  assert.equal(ok(['get', 'pods,svc,cm', '-n', 'shop', '-l', 'app=web', '-o', 'name']), 'pod/web-1\npod/web-2\nconfigmap/settings\n');

  const jp = ok(['get', 'pods', '-n', 'shop', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.nodeName}{"\\n"}{end}']);
  assert.equal(jp, 'db-1=\nweb-1=host-a\nweb-2=\n');
  assert.equal(ok(['get', 'ns', 'shop', '-o', 'jsonpath={.metadata.labels.team}']), 'shop');

  const one = JSON.parse(ok(['get', 'deploy/web', '-n', 'shop', '-o', 'json'])) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string; uid: string }; spec: { replicas: number } };
  assert.equal(one.apiVersion, 'apps/v1');
  assert.equal(one.kind, 'Deployment');
  assert.equal(one.metadata.namespace, 'shop');
  assert.equal(one.spec.replicas, 3);

  const listJson = JSON.parse(ok(['get', 'svc,inst', '-n', 'shop', '-o', 'json'])) as { kind: string; items: Array<{ apiVersion: string; kind: string; metadata: { name: string } }> };
  assert.equal(listJson.kind, 'List');
  assert.deepEqual(
    listJson.items.map((i) => [i.apiVersion, i.kind, i.metadata.name]),
    [
      ['v1', 'Service', 'web'],
      ['lodge.dev/v1alpha1', 'Instance', 'vm1'],
    ],
  );

  const yaml = ok(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'yaml']);
  assert.match(yaml, /^apiVersion: v1\nkind: List\n/);
  assert.match(yaml, /\n- apiVersion: v1\n {2}kind: Pod\n/, 'list items get apiVersion and kind back');
  const parsed = YAML.parse(yaml) as { items: Array<{ kind: string; metadata: { name: string; labels: Record<string, string> } }> };
  assert.deepEqual(
    parsed.items.map((i) => [i.kind, i.metadata.name, i.metadata.labels.app]),
    [
      ['Pod', 'web-1', 'web'],
      ['Pod', 'web-2', 'web'],
    ],
  );

  const cm = ok(['get', 'cm', 'settings', '-n', 'shop', '-o', 'yaml']);
  assert.match(cm, /^apiVersion: v1\nkind: ConfigMap\n/);
  assert.deepEqual((YAML.parse(cm) as { data: unknown }).data, { mode: 'slow' });
});

test('errors look like kubectl and exit 1', () => {
  fails(['get', 'pods', 'x', '-n', 'shop'], 'Error from server (NotFound): pods "x" not found\n');
  fails(['get', 'deploy/x', '-n', 'shop'], 'Error from server (NotFound): deployments.apps "x" not found\n');
  fails(['get', 'inst', 'x', '-n', 'shop'], 'Error from server (NotFound): instances.lodge.dev "x" not found\n');
  fails(['describe', 'svc', 'x', '-n', 'shop'], 'Error from server (NotFound): services "x" not found\n');
  fails(['delete', 'cm', 'x', '-n', 'shop'], 'Error from server (NotFound): configmaps "x" not found\n');
  fails(['delete', 'ns', 'nope'], 'Error from server (NotFound): namespaces "nope" not found\n');

  // Found objects are still printed; the missing one is reported and the exit is 1.
  const partial = fails(['get', 'pods', 'web-1', 'x', '-n', 'shop', '-o', 'name'], 'Error from server (NotFound): pods "x" not found\n');
  assert.equal(partial.stdout, 'pod/web-1\n');

  const ignored = run(['get', 'pod', 'x', '-n', 'shop', '--ignore-not-found']);
  assert.deepEqual([ignored.code, ignored.stdout, ignored.stderr], [0, '', '']);
  const ignoredDelete = run(['delete', 'pod', 'x', '-n', 'shop', '--ignore-not-found']);
  assert.deepEqual([ignoredDelete.code, ignoredDelete.stdout, ignoredDelete.stderr], [0, '', '']);

  fails(['get', 'widgets'], 'error: the server doesn\'t have a resource type "widgets"\n');
  fails(['create', 'ns', 'shop'], 'Error from server (AlreadyExists): namespaces "shop" already exists\n');
  fails(
    ['apply', '-f', '-'],
    'error when applying "STDIN": Pod "bad" is invalid: spec.containers: Required value\n',
    { input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: shop}\nspec: {containers: []}\n' },
  );
});

test('credentials: a wrong token is Unauthorized; a client certificate alone authenticates', async () => {
  const pki = join(l().dataDir, 'pki');
  const caPem = readFileSync(join(pki, 'ca.crt'), 'utf8');
  const badToken = join(work, 'bad-token.kubeconfig');
  await writeKubeconfig(badToken, { server: l().url, caPem, token: 'wrong' });
  const unauthorized = lodgeCli({ kubeconfig: badToken }, ['get', 'pods']);
  assert.equal(unauthorized.code, 1, show(['get', 'pods'], unauthorized));
  assert.equal(unauthorized.stderr, 'Error from server (Unauthorized): Unauthorized\n');

  const certOnly = join(work, 'cert-only.kubeconfig');
  await writeKubeconfig(certOnly, {
    server: l().url,
    caPem,
    clientCertPem: readFileSync(join(pki, 'admin.crt'), 'utf8'),
    clientKeyPem: readFileSync(join(pki, 'admin.key'), 'utf8'),
  });
  const r = lodgeCli({ kubeconfig: certOnly }, ['get', 'ns', 'shop', '-o', 'name']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'namespace/shop\n');
});

test('kubeconfig search order: --kubeconfig, $KUBECONFIG, ~/.lodge/kubeconfig, ~/.kube/config', async () => {
  const caPem = readFileSync(join(l().dataDir, 'pki', 'ca.crt'), 'utf8');
  // Each kubeconfig works, with its own default namespace, so the
  // "No resources found in NS namespace." message tells which one was used.
  const kc = async (path: string, namespace: string): Promise<string> => {
    mkdirSync(join(path, '..'), { recursive: true });
    await writeKubeconfig(path, { server: l().url, caPem, token: l().token, namespace });
    return path;
  };
  const home = join(work, 'home');
  const flag = await kc(join(work, 'kc', 'flag'), 'from-flag');
  const env1 = await kc(join(work, 'kc', 'env1'), 'from-env-1');
  const env2 = await kc(join(work, 'kc', 'env2'), 'from-env-2');
  const missing = join(work, 'kc', 'missing');
  const usedNamespace = (args: string[], env: { KUBECONFIG?: string }): string => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete childEnv.KUBECONFIG;
    if (env.KUBECONFIG !== undefined) childEnv.KUBECONFIG = env.KUBECONFIG;
    const r = spawnSync(process.execPath, [LODGE_MAIN, ...args, 'get', 'configmaps'], { encoding: 'utf8', env: childEnv, timeout: 60_000 });
    const m = /^No resources found in (\S+) namespace\.\n$/.exec(r.stderr);
    if (r.status !== 0 || !m) return `[exit ${r.status}] ${r.stderr}`;
    return m[1];
  };

  const none = spawnSync(process.execPath, [LODGE_MAIN, 'get', 'pods'], { encoding: 'utf8', env: { ...process.env, HOME: home, KUBECONFIG: '' }, timeout: 60_000 });
  assert.equal(none.status, 1);
  assert.equal(
    none.stderr,
    `error: no kubeconfig found (looked at ${join(home, '.lodge', 'kubeconfig')}, ${join(home, '.kube', 'config')}); start a control plane with "lodge up" or pass --kubeconfig\n`,
  );

  await kc(join(home, '.kube', 'config'), 'from-kube-config');
  assert.equal(usedNamespace([], {}), 'from-kube-config');
  await kc(join(home, '.lodge', 'kubeconfig'), 'from-lodge-home');
  assert.equal(usedNamespace([], {}), 'from-lodge-home', '~/.lodge/kubeconfig comes before ~/.kube/config');
  assert.equal(usedNamespace([], { KUBECONFIG: env1 }), 'from-env-1', '$KUBECONFIG comes before ~/.lodge');
  assert.equal(usedNamespace([], { KUBECONFIG: `${missing}:${env2}:${env1}` }), 'from-env-2', 'the first existing file in $KUBECONFIG');
  assert.equal(usedNamespace([], { KUBECONFIG: missing }), 'from-lodge-home', 'a $KUBECONFIG naming no existing file falls through');
  assert.equal(usedNamespace(['--kubeconfig', flag], { KUBECONFIG: env1 }), 'from-flag', '--kubeconfig comes first');
  assert.equal(usedNamespace(['--kubeconfig', flag, '-n', 'explicit'], { KUBECONFIG: env1 }), 'explicit', '-n beats the context namespace');
});

test('create namespace and create -f', () => {
  assert.equal(ok(['create', 'ns', 'extra']), 'namespace/extra created\n');
  assert.equal(ok(['create', 'namespace', 'extra-2']), 'namespace/extra-2 created\n');
  fails(['create', 'namespace', 'extra'], 'Error from server (AlreadyExists): namespaces "extra" already exists\n');
  fails(['create', 'ns', 'Not_Valid'], /^Namespace "Not_Valid" is invalid: metadata\.name: Invalid value: "Not_Valid"/);

  const file = write('inst.json', JSON.stringify({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'ct1' }, spec: { image: 'alpine' } }));
  assert.equal(ok(['create', '-f', file]), 'instance.lodge.dev/ct1 created\n');
  assert.equal(ok(['get', 'inst', 'ct1', '-n', 'default', '-o', 'jsonpath={.spec.type}/{.status.phase}']), 'container/Pending', 'namespace defaults to "default", with defaults applied');
  fails(['create', '-f', file], `Error from server (AlreadyExists): error when creating "${file}": instances.lodge.dev "ct1" already exists\n`);
  assert.equal(ok(['create', '-n', 'extra', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n' }), 'configmap/c created\n');
  assert.equal(ok(['get', 'cm', '-n', 'extra', '-o', 'name']), 'configmap/c\n');
});

test('describe shows metadata, the kind\'s details and its Events', () => {
  const podUid = uidOf(['pod', 'web-1', '-n', 'shop']);
  const nsUid = uidOf(['ns', 'shop']);
  const instUid = uidOf(['inst', 'vm1', '-n', 'shop']);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const event = (name: string, namespace: string, involved: Record<string, string>, reason: string, message: string, type = 'Normal'): string =>
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: involved,
      type,
      reason,
      message,
      source: { component: 'lodge-test' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  const events = [
    event('web-1.1', 'shop', { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'shop', uid: podUid }, 'Scheduled', 'assigned to host-a'),
    event('web-1.2', 'shop', { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'shop', uid: podUid }, 'BackOff', 'pulling busybox failed', 'Warning'),
    // Same name, another uid: an earlier object of that name; not shown.
    event('web-1.old', 'shop', { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'shop', uid: '00000000-0000-0000-0000-000000000000' }, 'Stale', 'from an older web-1'),
    // A cluster-scoped object's events live in "default".
    event('shop.1', 'default', { apiVersion: 'v1', kind: 'Namespace', name: 'shop', uid: nsUid }, 'Labelled', 'team label checked'),
    event('vm1.1', 'shop', { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', name: 'vm1', namespace: 'shop', uid: instUid }, 'Scheduling', 'waiting for a node with KVM'),
  ];
  assert.equal(ok(['create', '-f', '-'], { input: events.join('---\n') }), 'event/web-1.1 created\nevent/web-1.2 created\nevent/web-1.old created\nevent/shop.1 created\nevent/vm1.1 created\n');

  const pod = ok(['describe', 'pod', 'web-1', '-n', 'shop']);
  assert.match(pod, /^Name: {9}web-1\nNamespace: {4}shop\nLabels: {7}app=web\n {14}tier=front\nAnnotations: {2}<none>\nCreated: {6}/);
  assert.match(pod, /\nNode: +host-a\n/);
  assert.match(pod, /\nContainers:\n {2}web:\n {4}Image: +busybox\n/);
  assert.match(pod, /\nEvents:\n {2}Type +Reason +Age +From +Message\n {2}-+ +-+ +-+ +-+ +-+\n/);
  assert.match(pod, /\n {2}Normal +Scheduled +\S+ +lodge-test +assigned to host-a\n/);
  assert.match(pod, /\n {2}Warning +BackOff +\S+ +lodge-test +pulling busybox failed\n/);
  assert.doesNotMatch(pod, /Stale/);

  const ns = ok(['describe', 'namespace', 'shop']);
  // Every namespace carries kubernetes.io/metadata.name, as in Kubernetes.
  assert.match(ns, /^Name: {9}shop\nLabels: {7}kubernetes.io\/metadata.name=shop\n {14}team=shop\n/);
  assert.match(ns, /\nStatus: +Active\n/);
  assert.match(ns, /\n {2}Normal +Labelled +\S+ +lodge-test +team label checked\n/);

  const inst = ok(['describe', 'instances.lodge.dev/vm1', '-n', 'shop']);
  assert.match(inst, /\nType: +vm\nImage: +debian-12\nCPU: +2\nMemory: +2Gi\n/);
  assert.match(inst, /\n {2}Normal +Scheduling +\S+ +lodge-test +waiting for a node with KVM\n/);

  const deploy = ok(['describe', 'deployment', 'web', '-n', 'shop']);
  assert.match(deploy, /\nReplicas: +3 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable\n/);
  assert.match(deploy, /\nSelector: +app=web\n/);
  assert.match(deploy, /\nEvents: +<none>\n?$/);

  const svc = ok(['describe', 'svc', 'web', '-n', 'shop']);
  assert.match(svc, /\nSelector: +app=web\nType: +ClusterIP\n/);
  assert.match(svc, /\nPort: .*80\/TCP -> 8080\n/);

  const cm = ok(['describe', 'configmap', 'settings', '-n', 'shop']);
  assert.match(cm, /^Name: {9}settings\nNamespace: {4}shop\n/);
  assert.match(cm, /mode/);
  assert.match(cm, /slow/);

  // By selector: every matching object, separated by a blank line.
  const bySelector = ok(['describe', 'pods', '-n', 'shop', '-l', 'app=web']);
  assert.deepEqual([...bySelector.matchAll(/^Name: +(\S+)$/gm)].map((m) => m[1]), ['web-1', 'web-2']);
  assert.equal(run(['describe', 'pods', '-n', 'nobody']).stderr, 'No resources found in nobody namespace.\n');
});

test('get -w prints the list, then changes as they happen, until killed', async () => {
  ok(['create', 'ns', 'watched']);
  const pod = (name: string, labels: string, nodeName?: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: watched, labels: {${labels}}}\nspec: {${nodeName ? `nodeName: ${nodeName}, ` : ''}containers: [{name: c, image: busybox}]}\n`;
  ok(['apply', '-f', '-'], { input: pod('w-0', 'app: w, step: zero', 'host-b') });

  const watch = (args: string[]) => {
    const child = spawn(process.execPath, [LODGE_MAIN, '--kubeconfig', l().kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((res) => child.once('close', () => res()));
    return {
      out: () => out,
      async seen(pattern: RegExp): Promise<void> {
        await waitFor(`${pattern} in the output of lodge ${args.join(' ')}`, async () => {
          if (child.exitCode !== null) throw new Error(`it exited (${child.exitCode}); stdout:\n${out}\nstderr:\n${err}`);
          if (!pattern.test(out)) throw new Error(`stdout so far:\n${out}\nstderr:\n${err}`);
          return true;
        }, 15_000, 50);
      },
      /** SIGTERM by PID, and wait for it to exit. */
      async kill(): Promise<void> {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        child.kill('SIGTERM'); // not process.kill: no ESRCH if it just exited
        await exited;
      },
    };
  };

  const table = watch(['get', 'pods', '-n', 'watched', '-w', '--output-watch-events', '-l', 'app=w']);
  const names = watch(['get', 'pods', '-n', 'watched', '--watch', '-o', 'name', '--field-selector', 'spec.nodeName=host-b']);
  const one = watch(['get', 'pod', 'w-0', '-n', 'watched', '-w', '-o', 'jsonpath={.metadata.name}:{.metadata.labels.step}{"\\n"}']);
  try {
    // The list first; the watch then starts from the list's resourceVersion, so nothing after it is missed.
    await table.seen(/^EVENT +NAME +READY +STATUS +RESTARTS +AGE\nADDED +w-0 +0\/1 +Pending +0 +\S+\n$/);
    await names.seen(/^pod\/w-0\n$/);
    await one.seen(/^w-0:zero\n$/);

    ok(['apply', '-f', '-'], { input: pod('w-1', 'app: w', 'host-b') });
    ok(['apply', '-f', '-'], { input: pod('other', 'app: x') });
    await table.seen(/\nADDED +w-1 +0\/1 +Pending +0 +\S+\n$/);
    await names.seen(/^pod\/w-0\npod\/w-1\n$/);

    ok(['apply', '-f', '-'], { input: pod('w-0', 'app: w, step: one', 'host-b') });
    await table.seen(/\nMODIFIED +w-0 +0\/1 +Pending +0 +\S+\n$/);
    await names.seen(/^pod\/w-0\npod\/w-1\npod\/w-0\n$/);
    await one.seen(/^w-0:zero\nw-0:one\n$/);

    assert.equal(ok(['delete', 'pod', 'w-1', '-n', 'watched']), 'pod "w-1" deleted\n');
    await table.seen(/\nDELETED +w-1 +0\/1 +Pending +0 +\S+\n$/);
    await names.seen(/^pod\/w-0\npod\/w-1\npod\/w-0\npod\/w-1\n$/);
    assert.equal(table.out().split('\n').filter(Boolean).length, 5, `header, ADDED w-0, ADDED w-1, MODIFIED w-0, DELETED w-1:\n${table.out()}`);
    assert.doesNotMatch(table.out(), /\bother\b/, 'the label selector applies to the watch');
    assert.equal(one.out(), 'w-0:zero\nw-0:one\n', 'a watch by name sees that object only');
  } finally {
    await Promise.all([table.kill(), names.kill(), one.kill()]);
  }
});

test('delete: waits until the object is gone (--wait), or not (--wait=false), and --timeout', async () => {
  ok(['create', 'ns', 'del']);
  const held = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: del, finalizers: [example.com/hold]}\ndata: {a: "1"}\n`;
  const release = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: del}\ndata: {a: "1"}\n`;

  // Without finalizers the object is gone when delete returns.
  ok(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: del}\nspec: {containers: [{name: c, image: busybox}]}\n' });
  assert.equal(ok(['delete', 'pod', 'p', '-n', 'del']), 'pod "p" deleted\n');
  fails(['get', 'pod', 'p', '-n', 'del'], 'Error from server (NotFound): pods "p" not found\n');

  // --wait=false returns while a finalizer still holds the object.
  ok(['apply', '-f', '-'], { input: held('nowait') });
  assert.equal(ok(['delete', 'cm', 'nowait', '-n', 'del', '--wait=false']), 'configmap "nowait" deleted\n');
  assert.match(ok(['get', 'cm', 'nowait', '-n', 'del', '-o', 'jsonpath={.metadata.deletionTimestamp}']), /^\d{4}-\d\d-\d\dT/);

  // --timeout gives up waiting, exit 1.
  const timedOut = fails(['delete', 'cm', 'nowait', '-n', 'del', '--timeout', '1s'], 'error: timed out waiting for the deletion of configmap "nowait"\n');
  assert.equal(timedOut.stdout, 'configmap "nowait" deleted\n');
  assert.equal(ok(['apply', '-f', '-'], { input: release('nowait') }), 'configmap/nowait configured\n');

  // The default waits: the delete is still running while the finalizer
  // holds the object, and ends once it is released.
  ok(['apply', '-f', '-'], { input: held('waited') });
  const child = spawn(process.execPath, [LODGE_MAIN, '--kubeconfig', l().kubeconfig, 'delete', 'configmap', 'waited', '-n', 'del'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  try {
    await waitFor('the delete to be requested', async () => out === 'configmap "waited" deleted\n', 15_000, 50);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(child.exitCode, null, `delete returned while the object still existed; stderr: ${err}`);
    ok(['apply', '-f', '-'], { input: release('waited') });
    const code = await Promise.race([exited, new Promise<string>((res) => setTimeout(() => res('still running'), 15_000))]);
    assert.equal(code, 0, `stderr: ${err}`);
    assert.equal(err, '');
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  }
  fails(['get', 'cm', 'waited', '-n', 'del'], 'Error from server (NotFound): configmaps "waited" not found\n');

  // By selector, from a file, and a namespace with everything in it.
  ok(['apply', '-f', '-'], { input: ['a', 'b', 'c'].map((n) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s-${n}, namespace: del, labels: {group: ${n === 'c' ? 'two' : 'one'}}}\n`).join('---\n') });
  assert.equal(ok(['delete', 'cm', '-n', 'del', '-l', 'group=one']), 'configmap "s-a" deleted\nconfigmap "s-b" deleted\n');
  const file = write('del.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s-c, namespace: del}\n');
  assert.equal(ok(['delete', '-f', file]), 'configmap "s-c" deleted\n');
  assert.equal(run(['get', 'cm', '-n', 'del']).stderr, 'No resources found in del namespace.\n');

  ok(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: del}\nspec: {ports: [{port: 80}]}\n' });
  assert.equal(ok(['delete', 'namespace', 'del']), 'namespace "del" deleted\n');
  fails(['get', 'ns', 'del'], 'Error from server (NotFound): namespaces "del" not found\n');
});

test('delete --cascade: foreground, background and orphan', async () => {
  ok(['create', 'ns', 'gc']);
  const owner = (kind: 'deployment' | 'configmap', name: string): void => {
    if (kind === 'configmap') ok(['apply', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: gc}\n` });
    else
      ok(['apply', '-f', '-'], {
        input: `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: gc}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec: {containers: [{name: c, image: busybox}]}\n`,
      });
  };
  const child = (kind: 'Pod' | 'ConfigMap', name: string, ownerApiVersion: string, ownerKind: string, ownerName: string): void => {
    const uid = uidOf([ownerKind === 'Deployment' ? 'deploy' : 'cm', ownerName, '-n', 'gc']);
    const ref = `ownerReferences: [{apiVersion: ${ownerApiVersion}, kind: ${ownerKind}, name: ${ownerName}, uid: ${uid}, controller: true, blockOwnerDeletion: true}]`;
    const spec = kind === 'Pod' ? 'spec: {containers: [{name: c, image: busybox}]}\n' : 'data: {k: v}\n';
    ok(['apply', '-f', '-'], { input: `apiVersion: v1\nkind: ${kind}\nmetadata: {name: ${name}, namespace: gc, ${ref}}\n${spec}` });
  };

  // Foreground: the owner goes only after its dependents, and delete waits for the owner.
  owner('deployment', 'fg');
  child('Pod', 'fg-pod', 'apps/v1', 'Deployment', 'fg');
  assert.equal(ok(['delete', 'deployment', 'fg', '-n', 'gc', '--cascade=foreground']), 'deployment.apps "fg" deleted\n');
  fails(['get', 'pod', 'fg-pod', '-n', 'gc'], 'Error from server (NotFound): pods "fg-pod" not found\n');
  fails(['get', 'deploy', 'fg', '-n', 'gc'], 'Error from server (NotFound): deployments.apps "fg" not found\n');

  // Background (the default): the owner goes at once, the dependents after.
  owner('configmap', 'bg');
  child('ConfigMap', 'bg-child', 'v1', 'ConfigMap', 'bg');
  assert.equal(ok(['delete', 'cm', 'bg', '-n', 'gc']), 'configmap "bg" deleted\n');
  await waitFor('the garbage collector to delete bg-child', async () => run(['get', 'cm', 'bg-child', '-n', 'gc']).code === 1);

  // Orphan: the dependents stay, without the owner reference.
  owner('configmap', 'orph');
  child('ConfigMap', 'orph-child', 'v1', 'ConfigMap', 'orph');
  assert.equal(ok(['delete', 'cm', 'orph', '-n', 'gc', '--cascade=orphan']), 'configmap "orph" deleted\n');
  fails(['get', 'cm', 'orph', '-n', 'gc'], 'Error from server (NotFound): configmaps "orph" not found\n');
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(ok(['get', 'cm', 'orph-child', '-n', 'gc', '-o', 'jsonpath={.metadata.name}:{.metadata.ownerReferences}']), 'orph-child:');

  fails(['delete', 'cm', 'orph-child', '-n', 'gc', '--cascade=sideways'], /error: option '--cascade \[mode\]' argument 'sideways' is invalid\. "sideways" is not background, foreground or orphan/);
});

test('the client watch yields parsed events and stops when the consumer breaks', async () => {
  const client = new KubeClient({ server: l().url, caPem: l().caPem, token: l().token });
  try {
    const pods = await client.discovery.resolve('po');
    const seen: string[] = [];
    for await (const ev of client.watch(pods, { namespace: 'shop', resourceVersion: '0' })) {
      seen.push(`${ev.type} ${ev.type === 'ERROR' ? '' : ev.object.metadata.name}`);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen.sort(), ['ADDED db-1', 'ADDED web-1', 'ADDED web-2']);
  } finally {
    await client.close();
  }
});
