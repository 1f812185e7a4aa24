// End-to-end: changing objects in place with real kubectl against a real
// `lodge up` — label, annotate, patch (merge, JSON, strategic), set image,
// edit, and replace (with its optimistic-concurrency conflict).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { describeRun, kubectlOk, requestFailures, runKubectl, shutdown, startLodge, type KubectlOptions, type KubectlRun, type Lodge, INERT_WORKLOADS } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-kubectl-mutate-'));
let lodge: Lodge | undefined;

function L(): Lodge {
  assert.ok(lodge, 'lodge is running');
  return lodge;
}

const NS = ['-n', 'edit'];
const ok = (args: string[], o: KubectlOptions = {}): string => kubectlOk(L(), [...args, ...NS], o).stdout;
const json = (args: string[]): any => JSON.parse(ok([...args, '-o', 'json']));

function fails(args: string[], o: KubectlOptions = {}): KubectlRun {
  const r = runKubectl(L(), [...args, ...NS], o);
  assert.notEqual(r.code, 0, `expected failure\n${describeRun(r)}`);
  return r;
}

const FIXTURES = `apiVersion: v1
kind: Namespace
metadata: { name: edit }
---
apiVersion: v1
kind: Pod
metadata: { name: p1, namespace: edit, labels: { app: web } }
spec:
  containers: [{ name: c, image: busybox }]
---
apiVersion: v1
kind: Pod
metadata: { name: p2, namespace: edit, labels: { app: web } }
spec:
  containers: [{ name: c, image: busybox }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: edit, labels: { app: web } }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: web
        image: busybox:1.36
        env: [{ name: MODE, value: fast }, { name: LEVEL, value: "1" }]
      - name: side
        image: nginx:1.27
      - name: logger
        image: fluentbit:3
`;

const images = (d: any): string[] => d.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`);

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...INERT_WORKLOADS] });
  kubectlOk(L(), ['create', '-f', '-'], { input: FIXTURES });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

describe('kubectl label', () => {
  it('adds, refuses to overwrite without --overwrite, overwrites, removes with key-', () => {
    assert.equal(ok(['label', 'pod', 'p1', 'tier=front']), 'pod/p1 labeled\n');
    assert.deepEqual(json(['get', 'pod', 'p1']).metadata.labels, { app: 'web', tier: 'front' });

    const r = fails(['label', 'pod', 'p1', 'tier=back']);
    assert.match(r.stderr, /'tier' already has a value \(front\), and --overwrite is false/, describeRun(r));
    assert.equal(json(['get', 'pod', 'p1']).metadata.labels.tier, 'front');

    assert.equal(ok(['label', 'pod', 'p1', 'tier=back', '--overwrite']), 'pod/p1 labeled\n');
    assert.equal(json(['get', 'pod', 'p1']).metadata.labels.tier, 'back');

    assert.equal(ok(['label', 'pod', 'p1', 'tier-']), 'pod/p1 unlabeled\n');
    assert.deepEqual(json(['get', 'pod', 'p1']).metadata.labels, { app: 'web' });
  });

  it('labels every object matching a selector, and --all', () => {
    assert.equal(ok(['label', 'pods', '-l', 'app=web', 'batch=one']), 'pod/p1 labeled\npod/p2 labeled\n');
    assert.equal(ok(['get', 'pods', '-l', 'batch=one', '-o', 'name']), 'pod/p1\npod/p2\n');
    assert.equal(ok(['label', 'pods', '--all', 'batch-']), 'pod/p1 unlabeled\npod/p2 unlabeled\n');
    assert.equal(ok(['get', 'pods', '-l', 'batch', '-o', 'name']), '');
  });

  it('rejects an invalid label value with a message from the server', () => {
    const r = fails(['label', 'pod', 'p1', 'bad=not valid!']);
    assert.match(r.stderr, /invalid label value|metadata\.labels/i, describeRun(r));
  });
});

describe('kubectl annotate', () => {
  it('adds, refuses to overwrite without --overwrite, overwrites, removes with key-', () => {
    assert.equal(ok(['annotate', 'deploy', 'web', 'note=first', 'team.example.com/owner=ops']), 'deployment.apps/web annotated\n');
    let a = json(['get', 'deploy', 'web']).metadata.annotations;
    assert.equal(a.note, 'first');
    assert.equal(a['team.example.com/owner'], 'ops');

    const r = fails(['annotate', 'deploy', 'web', 'note=second']);
    assert.match(r.stderr, /'note' already has a value \(first\)/, describeRun(r));

    assert.equal(ok(['annotate', 'deploy', 'web', 'note=second', '--overwrite']), 'deployment.apps/web annotated\n');
    assert.equal(json(['get', 'deploy', 'web']).metadata.annotations.note, 'second');

    assert.equal(ok(['annotate', 'deploy', 'web', 'note-']), 'deployment.apps/web annotated\n');
    a = json(['get', 'deploy', 'web']).metadata.annotations;
    assert.equal(a.note, undefined);
    assert.equal(a['team.example.com/owner'], 'ops');
    // Metadata only: the spec did not change, so neither did the generation.
    assert.equal(json(['get', 'deploy', 'web']).metadata.generation, 1);
  });
});

describe('kubectl patch', () => {
  it('--type merge: sets, and null removes', () => {
    assert.equal(ok(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":3},"metadata":{"labels":{"stage":"prod"}}}']), 'deployment.apps/web patched\n');
    let d = json(['get', 'deploy', 'web']);
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.labels.stage, 'prod');
    assert.equal(d.metadata.generation, 2);
    ok(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"metadata":{"labels":{"stage":null}}}']);
    d = json(['get', 'deploy', 'web']);
    assert.equal(d.metadata.labels.stage, undefined);
    assert.equal(ok(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":3}}']), 'deployment.apps/web patched (no change)\n');
  });

  it('--type json: add, replace, remove, and a failing test op changes nothing', () => {
    ok(['patch', 'deploy', 'web', '--type', 'json', '-p', JSON.stringify([
      { op: 'replace', path: '/spec/replicas', value: 2 },
      { op: 'add', path: '/metadata/labels/zone', value: 'a' },
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'EXTRA', value: 'x' } },
    ])]);
    let d = json(['get', 'deploy', 'web']);
    assert.equal(d.spec.replicas, 2);
    assert.equal(d.metadata.labels.zone, 'a');
    assert.deepEqual(d.spec.template.spec.containers[0].env.map((e: any) => e.name), ['MODE', 'LEVEL', 'EXTRA']);
    ok(['patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/template/spec/containers/0/env/2"},{"op":"remove","path":"/metadata/labels/zone"}]']);
    d = json(['get', 'deploy', 'web']);
    assert.deepEqual(d.spec.template.spec.containers[0].env.map((e: any) => e.name), ['MODE', 'LEVEL']);
    assert.equal(d.metadata.labels.zone, undefined);

    const rv = d.metadata.resourceVersion;
    const r = fails(['patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"test","path":"/spec/replicas","value":7},{"op":"replace","path":"/spec/replicas","value":9}]']);
    assert.match(r.stderr, /The Deployment "web" is invalid: patch: json patch operation 0 \(test \/spec\/replicas\): test failed/, describeRun(r));
    assert.equal(json(['get', 'deploy', 'web']).metadata.resourceVersion, rv);
    const bad = fails(['patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/nosuch"}]']);
    assert.match(bad.stderr, /The Deployment "web" is invalid: patch: .*\/spec\/nosuch does not exist/, describeRun(bad));
  });

  it('--type strategic (the default): a container list merges by name and keeps the other containers', () => {
    assert.equal(
      ok(['patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"nginx:1.28"}]}}}}']),
      'deployment.apps/web patched\n',
    );
    let d = json(['get', 'deploy', 'web']);
    assert.deepEqual(images(d), ['web=busybox:1.36', 'side=nginx:1.28', 'logger=fluentbit:3']);
    // env merges by name too.
    ok(['patch', 'deploy', 'web', '--type', 'strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"LEVEL","value":"2"}]}]}}}}']);
    d = json(['get', 'deploy', 'web']);
    assert.deepEqual(d.spec.template.spec.containers[0].env, [{ name: 'MODE', value: 'fast' }, { name: 'LEVEL', value: '2' }]);
    // $patch: delete removes one item.
    ok(['patch', 'deploy', 'web', '--type', 'strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"logger","$patch":"delete"}]}}}}']);
    assert.deepEqual(images(json(['get', 'deploy', 'web'])), ['web=busybox:1.36', 'side=nginx:1.28']);
  });

  it('--type merge on the same list replaces it (the contrast)', () => {
    const pod = json(['get', 'pod', 'p2']);
    assert.equal(pod.spec.containers.length, 1);
    ok(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox:1.37"}]}}}}']);
    assert.deepEqual(images(json(['get', 'deploy', 'web'])), ['only=busybox:1.37']);
  });

  it('--subresource=status writes status only', () => {
    ok(['patch', 'deploy', 'web', '--subresource=status', '--type', 'merge', '-p', '{"status":{"replicas":2,"readyReplicas":1,"availableReplicas":1,"updatedReplicas":2}}']);
    const d = json(['get', 'deploy', 'web']);
    assert.equal(d.status.readyReplicas, 1);
    const t = ok(['get', 'deploy', 'web', '--no-headers']);
    assert.match(t, /^web\s+1\/2\s+2\s+1\s+\S+\n$/, t);
    // Through the main resource, status is not written.
    ok(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"status":{"readyReplicas":2}}']);
    assert.equal(json(['get', 'deploy', 'web']).status.readyReplicas, 1);
  });

  it('an unknown field in a patch is rejected naming it', () => {
    const r = fails(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"replicaz":2}}']);
    assert.match(r.stderr, /unknown field "spec\.replicaz"/, describeRun(r));
  });

  it('a patch of a missing object is NotFound', () => {
    const r = fails(['patch', 'deploy', 'nosuch', '--type', 'merge', '-p', '{"spec":{"replicas":2}}']);
    assert.match(r.stderr, /Error from server \(NotFound\): deployments\.apps "nosuch" not found/, describeRun(r));
  });
});

describe('kubectl set image', () => {
  it('changes one container image', () => {
    ok(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"busybox:1.36"},{"name":"side","image":"nginx:1.27"}]}}}}']);
    assert.equal(ok(['set', 'image', 'deployment/web', 'side=nginx:1.29']), 'deployment.apps/web image updated\n');
    assert.deepEqual(images(json(['get', 'deploy', 'web'])), ['web=busybox:1.36', 'side=nginx:1.29']);
  });
});

describe('kubectl edit', () => {
  it('applies the editor\'s change', () => {
    // kubectl runs $KUBE_EDITOR (through a shell when it has spaces) on a temp file.
    const r = runKubectl(L(), ['edit', 'deploy', 'web', ...NS], { env: { KUBE_EDITOR: 'sed -i -e s/nginx:1.29/nginx:1.30/' } });
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'deployment.apps/web edited\n');
    assert.deepEqual(images(json(['get', 'deploy', 'web'])), ['web=busybox:1.36', 'side=nginx:1.30']);
    const none = runKubectl(L(), ['edit', 'deploy', 'web', ...NS], { env: { KUBE_EDITOR: 'true' } });
    assert.equal(none.code, 0, describeRun(none));
    assert.match(none.stderr + none.stdout, /Edit cancelled, no changes made\./, describeRun(none));
  });
});

describe('kubectl replace', () => {
  it('replaces with the current resourceVersion; a stale one is a conflict', () => {
    const file = join(dataDir, 'web.yaml');
    writeFileSync(file, ok(['get', 'deploy', 'web', '-o', 'yaml']));
    const stale = parseYaml(readFileSync(file, 'utf8'));
    // Someone else changes it in between.
    ok(['label', 'deploy', 'web', 'changed=yes']);
    stale.spec.replicas = 5;
    writeFileSync(file, toYaml(stale));
    const r = fails(['replace', '-f', file]);
    assert.match(
      r.stderr,
      /Error from server \(Conflict\): error when replacing ".*web\.yaml": Operation cannot be fulfilled on deployments\.apps "web": the object has been modified; please apply your changes to the latest version and try again/,
      describeRun(r),
    );
    let d = json(['get', 'deploy', 'web']);
    assert.notEqual(d.spec.replicas, 5);
    assert.equal(d.metadata.labels.changed, 'yes');

    // With the current resourceVersion it goes through (and the label is gone: replace is whole-object).
    const fresh = d;
    fresh.spec.replicas = 5;
    delete fresh.metadata.labels.changed;
    writeFileSync(file, toYaml(fresh));
    assert.equal(ok(['replace', '-f', file]), 'deployment.apps/web replaced\n');
    d = json(['get', 'deploy', 'web']);
    assert.equal(d.spec.replicas, 5);
    assert.equal(d.metadata.labels.changed, undefined);
    assert.equal(d.metadata.uid, fresh.metadata.uid, 'the same object');
  });

  it('without a resourceVersion it replaces unconditionally; --force deletes and recreates', () => {
    const cm = join(dataDir, 'cm.yaml');
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: conf, namespace: edit }\ndata: { v: "1" }\n');
    kubectlOk(L(), ['create', '-f', cm]);
    const before = json(['get', 'cm', 'conf']);
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: conf, namespace: edit }\ndata: { v: "2" }\n');
    assert.equal(ok(['replace', '-f', cm]), 'configmap/conf replaced\n');
    assert.deepEqual(json(['get', 'cm', 'conf']).data, { v: '2' });
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: conf, namespace: edit }\ndata: { v: "3" }\n');
    const out = ok(['replace', '--force', '-f', cm]);
    assert.match(out, /configmap "conf" deleted\n/, out);
    assert.match(out, /configmap\/conf replaced\n/, out);
    const after = json(['get', 'cm', 'conf']);
    assert.deepEqual(after.data, { v: '3' });
    assert.notEqual(after.metadata.uid, before.metadata.uid, 'a new object');
  });

  it('replace of a missing object is NotFound', () => {
    const f = join(dataDir, 'missing.yaml');
    writeFileSync(f, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: missing, namespace: edit }\ndata: { v: "1" }\n');
    const r = fails(['replace', '-f', f]);
    assert.match(r.stderr, /Error from server \(NotFound\): error when replacing ".*missing\.yaml": configmaps "missing" not found/, describeRun(r));
  });
});

it('no request answered 500', () => {
  assert.deepEqual(requestFailures(L()), []);
});
