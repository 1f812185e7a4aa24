// End-to-end: Debian bookworm's own kubectl (1.20, package kubernetes-client)
// against a real `lodge up`, with --validate=false as the README says. The
// binary is taken from the .deb (`apt-get download` + `dpkg-deb -x`) into a
// cache, never installed: the machine's /usr/bin/kubectl stays as it is. If
// it cannot be fetched the tests fail with the reason; they are never skipped.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { debianKubectl, describeRun, parseTable, requestFailures, runKubectl, shutdown, startLodge, type KubectlRun, type Lodge } from './harness.js';
import { registry } from '../../src/apis/registry.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-kubectl-debian-'));
let lodge: Lodge | undefined;
let bin: string | undefined;
let binError: Error | undefined;

function L(): Lodge {
  assert.ok(lodge, 'lodge is running');
  return lodge;
}

function kubectl120(): string {
  if (binError) throw binError;
  assert.ok(bin);
  return bin;
}

const run = (args: string[], input?: string): KubectlRun => runKubectl(L(), args, { bin: kubectl120(), input });
const ok = (args: string[], input?: string): string => {
  const r = run(args, input);
  assert.equal(r.code, 0, describeRun(r));
  return r.stdout;
};

before(async () => {
  try {
    bin = debianKubectl();
  } catch (e) {
    binError = e as Error; // reported by every test below
  }
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

const manifest = `apiVersion: v1
kind: Namespace
metadata: { name: old }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: old, labels: { app: web } }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: busybox }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, namespace: old, labels: { app: web } }
spec:
  containers: [{ name: web, image: busybox }]
`;

describe('Debian kubectl 1.20', () => {
  it('is the Debian build of 1.20, and reads the server version', () => {
    const out = ok(['version']);
    assert.match(out, /^Client Version: version\.Info\{Major:"1", Minor:"20", GitVersion:"v1\.20\.\d+"/m);
    assert.match(out, /^Server Version: version\.Info\{Major:"1", Minor:"33", GitVersion:"v1\.33\.0-lodge"/m);
  });

  it('discovers every resource (per-group discovery, no aggregated documents)', () => {
    const t = parseTable(ok(['api-resources']));
    assert.deepEqual(t.rows.map((r) => r.NAME).sort(), registry().kinds.map((k) => k.plural).sort());
    assert.ok(t.rows.some((r) => r.NAME === 'instances' && r.APIVERSION === 'lodge.dev/v1alpha1' && r.KIND === 'Instance'), JSON.stringify(t));
    assert.ok(t.rows.some((r) => r.NAME === 'endpointslices' && r.APIVERSION === 'discovery.k8s.io/v1'), JSON.stringify(t));
  });

  it('apply --validate=false: created, unchanged, configured', () => {
    assert.equal(ok(['apply', '--validate=false', '-f', '-'], manifest), 'namespace/old created\ndeployment.apps/web created\npod/web-0 created\n');
    assert.equal(ok(['apply', '--validate=false', '-f', '-'], manifest), 'namespace/old unchanged\ndeployment.apps/web unchanged\npod/web-0 unchanged\n');
    assert.equal(
      ok(['apply', '--validate=false', '-f', '-'], manifest.replace('replicas: 2', 'replicas: 4')),
      'namespace/old unchanged\ndeployment.apps/web configured\npod/web-0 unchanged\n',
    );
  });

  it('get: tables, -A, -o wide, -l, -o jsonpath, -o yaml', () => {
    // By name: the Deployment's controller makes Pods of its own beside web-0.
    const pods = parseTable(ok(['get', 'pods', 'web-0', '-n', 'old']));
    assert.deepEqual(pods.columns, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    assert.deepEqual(pods.rows.map((r) => [r.NAME, r.READY, r.STATUS, r.RESTARTS]), [['web-0', '0/1', 'Pending', '0']]);
    const wide = parseTable(ok(['get', 'pods', '-n', 'old', '-o', 'wide']));
    assert.deepEqual(wide.columns, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    const deploy = parseTable(ok(['get', 'deploy', '-A', '-l', 'app=web']));
    assert.deepEqual(deploy.columns, ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.deepEqual(deploy.rows.map((r) => [r.NAMESPACE, r.NAME, r.READY]), [['old', 'web', '0/4']]);
    assert.equal(ok(['get', 'deploy', 'web', '-n', 'old', '-o', 'jsonpath={.spec.replicas}']), '4');
    assert.match(ok(['get', 'pod', 'web-0', '-n', 'old', '-o', 'yaml']), /^kind: Pod$/m);
    const ns = parseTable(ok(['get', 'ns', 'old']));
    assert.deepEqual(ns.rows.map((r) => [r.NAME, r.STATUS]), [['old', 'Active']]);
    const bad = run(['get', 'pods', '-n', 'old', '--field-selector', 'spec.bogus=1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /field label not supported: spec\.bogus/, describeRun(bad));
  });

  it('label and patch', () => {
    assert.equal(ok(['label', 'deploy', 'web', '-n', 'old', 'tier=front']), 'deployment.apps/web labeled\n');
    assert.equal(ok(['patch', 'deploy', 'web', '-n', 'old', '--type', 'merge', '-p', '{"spec":{"replicas":1}}']), 'deployment.apps/web patched\n');
    assert.equal(ok(['get', 'deploy', 'web', '-n', 'old', '-o', 'jsonpath={.spec.replicas} {.metadata.labels.tier}']), '1 front');
  });

  it('delete: an object, then the namespace with --wait', () => {
    assert.equal(ok(['delete', 'pod', 'web-0', '-n', 'old']), 'pod "web-0" deleted\n');
    assert.equal(ok(['delete', '-f', '-', '--wait'], manifest.split('\n---\n')[0]), 'namespace "old" deleted\n');
    const gone = run(['get', 'ns', 'old']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /namespaces "old" not found/, describeRun(gone));
  });
});

it('no request answered 500', () => {
  assert.deepEqual(requestFailures(L()), []);
});
