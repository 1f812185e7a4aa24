// The CLI as a user runs it (`node dist/src/cli/main.js --kubeconfig F ...`),
// against a fake API server over real TLS with the PKI Lodge generates.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePki, type Pki } from '../../src/pki/index.js';
import { writeKubeconfig } from '../../src/client/kubeconfig.js';
import { KubeClient } from '../../src/client/client.js';
import { FakeApiServer } from './fake-apiserver.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

let dir: string;
let pki: Pki;
let server: FakeApiServer;
let kubeconfig: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lodge(args: string[], opts: { kubeconfig?: string; stdin?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, '--kubeconfig', opts.kubeconfig ?? kubeconfig, ...args], { env: { ...process.env, HOME: dir } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lodge-cli-'));
  pki = await ensurePki(dir, ['127.0.0.1']);
  server = new FakeApiServer(pki);
  await server.start();
  kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, { server: server.url, caPem: pki.caPem, token: pki.token, contextName: 'lodge' });
});

after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const manifests = `
apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: team
  labels: {app: web}
spec:
  nodeName: host-a
status:
  phase: Running
---
# an empty document and a List are both fine
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web-2, namespace: team, labels: {app: web}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: team}
  spec: {replicas: 2}
`;

test('apply: created, then unchanged, then configured', async () => {
  const file = join(dir, 'app.yaml');
  await writeFile(file, manifests);
  const first = await lodge(['apply', '-f', file]);
  assert.equal(first.stderr, '');
  assert.equal(first.stdout, 'namespace/team created\npod/web-1 created\npod/web-2 created\ndeployment.apps/web created\n');
  assert.equal(first.code, 0);

  const again = await lodge(['apply', '-f', file]);
  assert.equal(again.stdout, 'namespace/team unchanged\npod/web-1 unchanged\npod/web-2 unchanged\ndeployment.apps/web unchanged\n');

  const changed = await lodge(['apply', '-f', '-'], { stdin: manifests.replace('replicas: 2', 'replicas: 3') });
  assert.match(changed.stdout, /deployment\.apps\/web configured\n$/);
  assert.ok(server.requests.some((r) => r.startsWith('PATCH /apis/apps/v1/namespaces/team/deployments/web?fieldManager=lodge')));

  const conflict = await lodge(['apply', '-n', 'other', '-f', file]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /the namespace from the provided object "team" does not match the namespace "other"/);
});

test('get: tables, -A, wide, labels, and "No resources found"', async () => {
  const pods = await lodge(['get', 'pods', '-n', 'team']);
  assert.equal(pods.stdout, 'NAME    STATUS    AGE\nweb-1   Running   1m\nweb-2   Active    1m\n');

  const all = await lodge(['get', 'po', '-A', '-o', 'wide', '--show-labels']);
  assert.equal(all.stdout, ['NAMESPACE   NAME    STATUS    NODE     AGE   LABELS', 'team        web-1   Running   host-a   1m    app=web', 'team        web-2   Active             1m    app=web', ''].join('\n'));

  const named = await lodge(['-n', 'team', 'get', 'pod', 'web-2', 'web-1']);
  assert.equal(named.stdout, 'NAME    STATUS    AGE\nweb-2   Active    1m\nweb-1   Running   1m\n');

  const multi = await lodge(['get', 'pods,deploy', '-n', 'team', '--no-headers']);
  assert.equal(multi.stdout, 'pod/web-1   Running   1m\npod/web-2   Active    1m\n\ndeployment.apps/web   Active   1m\n');

  const empty = await lodge(['get', 'pods', '-n', 'nobody']);
  assert.equal(empty.stdout, '');
  assert.equal(empty.stderr, 'No resources found in nobody namespace.\n');
  assert.equal(empty.code, 0);

  const ns = await lodge(['get', 'ns', '-l', 'none=here']);
  assert.equal(ns.stderr, 'No resources found\n');
});

test('get: object output formats', async () => {
  const name = await lodge(['get', 'pods', '-n', 'team', '-o', 'name']);
  assert.equal(name.stdout, 'pod/web-1\npod/web-2\n');

  const jp = await lodge(['get', 'pods', '-n', 'team', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}']);
  assert.equal(jp.stdout, 'web-1=Running\nweb-2=\n');

  const one = await lodge(['get', 'deploy/web', '-n', 'team', '-o', 'json']);
  const obj = JSON.parse(one.stdout) as { kind: string; spec: { replicas: number } };
  assert.equal(obj.kind, 'Deployment');
  assert.equal(obj.spec.replicas, 3);

  const yaml = await lodge(['get', 'pods', '-n', 'team', '-l', 'app=web', '-o', 'yaml']);
  assert.match(yaml.stdout, /^apiVersion: v1\nkind: List\n/);
  assert.match(yaml.stdout, /\n- apiVersion: v1\n {2}kind: Pod\n/, 'list items get apiVersion and kind back');
});

test('errors look like kubectl and exit 1', async () => {
  const missing = await lodge(['get', 'pod', 'nope', '-n', 'team']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): pods "nope" not found\n');

  const ignored = await lodge(['get', 'pod', 'nope', '-n', 'team', '--ignore-not-found']);
  assert.equal(ignored.code, 0);
  assert.equal(ignored.stderr, '');

  const badType = await lodge(['get', 'widgets']);
  assert.equal(badType.code, 1);
  assert.equal(badType.stderr, 'error: the server doesn\'t have a resource type "widgets"\n');

  const badKubeconfig = join(dir, 'bad-token');
  await writeKubeconfig(badKubeconfig, { server: server.url, caPem: pki.caPem, token: 'wrong' });
  const unauthorized = await lodge(['get', 'pods'], { kubeconfig: badKubeconfig });
  assert.equal(unauthorized.code, 1);
  assert.equal(unauthorized.stderr, 'Error from server (Unauthorized): Unauthorized\n');
});

test('a client certificate alone authenticates', async () => {
  const certOnly = join(dir, 'cert-only');
  await writeKubeconfig(certOnly, { server: server.url, caPem: pki.caPem, clientCertPem: pki.adminCertPem, clientKeyPem: pki.adminKeyPem });
  const r = await lodge(['get', 'ns', '-o', 'name'], { kubeconfig: certOnly });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'namespace/team\n');
});

test('create namespace, and AlreadyExists', async () => {
  const made = await lodge(['create', 'ns', 'extra']);
  assert.equal(made.stdout, 'namespace/extra created\n');
  const again = await lodge(['create', 'namespace', 'extra']);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'Error from server (AlreadyExists): namespaces "extra" already exists\n');

  const file = join(dir, 'inst.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'vm1' }, spec: { type: 'vm' } }));
  const fromFile = await lodge(['create', '-f', file]);
  assert.equal(fromFile.stdout, 'instance.lodge.dev/vm1 created\n');
  assert.ok(server.objects.has('lodge.dev/instances/default/vm1'), 'namespace defaults to "default"');
});

test('describe shows metadata, spec/status and events', async () => {
  const pod = [...server.objects.values()].find((o) => o.metadata.name === 'web-1')!;
  server.put('Event', {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-1.1', namespace: 'team' },
    involvedObject: { kind: 'Pod', name: 'web-1', uid: pod.metadata.uid },
    type: 'Normal',
    reason: 'Scheduled',
    message: 'assigned to host-a',
    lastTimestamp: new Date().toISOString(),
    source: { component: 'lodge-scheduler' },
  } as never);
  const r = await lodge(['describe', 'pod', 'web-1', '-n', 'team']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Name:         web-1\nNamespace:    team\nLabels:       app=web\nAnnotations:  <none>\nCreated: {6}/);
  assert.match(r.stdout, /\nEvents:\n {2}Type {4}Reason {5}Age +From +Message\n/);
  assert.match(r.stdout, /Normal {2}Scheduled .* lodge-scheduler {2}assigned to host-a\n$/);
  assert.ok(server.requests.some((q) => q.includes('fieldSelector=involvedObject.uid')));
});

test('get -w prints the list, then changes as they happen', async () => {
  const child = spawn(process.execPath, [MAIN, '--kubeconfig', kubeconfig, 'get', 'pods', '-n', 'team', '-w', '--output-watch-events'], { env: { ...process.env, HOME: dir } });
  let out = '';
  const seen = (pattern: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; got:\n${out}`)), 5000);
      const check = (): void => {
        if (pattern.test(out)) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(check, 20);
      };
      check();
    });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await seen(/web-2/);
    server.put('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-3', namespace: 'team' }, status: { phase: 'Pending' } });
    await seen(/ADDED +web-3 +Pending/);
    assert.match(out, /^EVENT +NAME +STATUS +AGE\nADDED +web-1 +Running +1m\nADDED +web-2/);
  } finally {
    child.kill();
  }
});

test('delete waits until the object is gone', async () => {
  const start = Date.now();
  const r = await lodge(['delete', 'pod', 'web-3', '-n', 'team']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'pod "web-3" deleted\n');
  assert.ok(Date.now() - start >= 250, 'waited for the graceful deletion');
  assert.ok(![...server.objects.values()].some((o) => o.metadata.name === 'web-3'));

  const noWait = await lodge(['delete', 'pods', '-l', 'app=web', '-n', 'team', '--wait=false', '--cascade=foreground']);
  assert.equal(noWait.stdout, 'pod "web-1" deleted\npod "web-2" deleted\n');

  const missing = await lodge(['delete', 'ns', 'nope']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): namespaces "nope" not found\n');

  const gone = await lodge(['delete', 'ns', 'extra']);
  assert.equal(gone.stdout, 'namespace "extra" deleted\n');
});

test('the client watch yields parsed events and stops when the consumer breaks', async () => {
  const client = new KubeClient({ server: server.url, caPem: pki.caPem, token: pki.token });
  try {
    const pods = await client.discovery.resolve('po');
    const seen: string[] = [];
    for await (const ev of client.watch(pods, { namespace: 'team', resourceVersion: '0' })) {
      seen.push(`${ev.type} ${ev.type === 'ERROR' ? '' : ev.object.metadata.name}`);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['ADDED web-1', 'ADDED web-2', 'ADDED web-3']);
  } finally {
    await client.close();
  }
});
