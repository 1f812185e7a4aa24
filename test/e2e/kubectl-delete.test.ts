// End-to-end: `kubectl delete` against a real `lodge up` — waiting for
// finalizers, the three cascade policies over ownerReferences (set here by
// the test; the Deployment controller comes later), namespace deletion,
// selectors, and graceful pod deletion.
//
// Ordering is made observable without timing: a test finalizer holds a
// dependent in place, so "the owner is still there while its dependent is"
// (foreground) or "the owner is gone while its dependent is not" (background)
// are states that last until the test releases the finalizer.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, kubectlOk, parseTable, requestFailures, runKubectl, shutdown, startKubectl, startLodge, waitFor, type KubectlChild, type KubectlOptions, type KubectlRun, type Lodge, INERT_WORKLOADS } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-kubectl-delete-'));
let lodge: Lodge | undefined;
const children: KubectlChild[] = [];

function L(): Lodge {
  assert.ok(lodge, 'lodge is running');
  return lodge;
}

const HOLD = 'test.lodge.dev/hold';
const ok = (args: string[], o: KubectlOptions = {}): string => kubectlOk(L(), args, o).stdout;

function fails(args: string[]): KubectlRun {
  const r = runKubectl(L(), args);
  assert.notEqual(r.code, 0, `expected failure\n${describeRun(r)}`);
  return r;
}

/** The object as JSON, or undefined when it is gone (NotFound). */
function getObj(args: string[]): any {
  const r = runKubectl(L(), ['get', ...args, '-o', 'json']);
  if (r.code !== 0 && /NotFound/.test(r.stderr)) return undefined;
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout);
}

const release = (kind: string, name: string, ns: string): void => {
  ok(['patch', kind, name, '-n', ns, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
};

const until = <T>(what: string, fn: () => T | undefined | false | null): Promise<T> => waitFor(what, async () => fn(), 30_000, 50);

function start(args: string[]): KubectlChild {
  const c = startKubectl(L(), args);
  children.push(c);
  return c;
}

/** A Deployment, a ReplicaSet it owns and a Pod the ReplicaSet owns; `hold` puts the test finalizer on the ReplicaSet. */
function family(ns: string, name: string, hold: boolean): { deployUid: string; rsUid: string } {
  ok(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: c, image: busybox }]
`,
  });
  const deployUid = getObj(['deploy', name, '-n', ns]).metadata.uid as string;
  ok(['create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${name}-rs`,
        namespace: ns,
        labels: { app: name },
        ...(hold ? { finalizers: [HOLD] } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: deployUid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    }),
  });
  const rsUid = getObj(['rs', `${name}-rs`, '-n', ns]).metadata.uid as string;
  ok(['create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${name}-pod`,
        namespace: ns,
        labels: { app: name },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-rs`, uid: rsUid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    }),
  });
  return { deployUid, rsUid };
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...INERT_WORKLOADS] });
  ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: del }\n' });
});

after(async () => {
  for (const c of children) await c.stop();
  await shutdown(lodge, dataDir);
});

describe('delete --wait', () => {
  it('returns only once the object is gone (a finalizer holds it)', async () => {
    ok(['create', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: held, namespace: del, finalizers: [${HOLD}] }\ndata: { a: "1" }\n` });
    const del = start(['delete', 'configmap', 'held', '-n', 'del', '--wait=true']);
    await del.until((o) => o.includes('configmap "held" deleted'), 'the delete to be accepted');
    const cm = await until('a deletionTimestamp', () => {
      const o = getObj(['cm', 'held', '-n', 'del']);
      return o?.metadata.deletionTimestamp ? o : undefined;
    });
    assert.deepEqual(cm.metadata.finalizers, [HOLD]);
    assert.equal(del.exitCode(), undefined, 'kubectl delete is still waiting while the finalizer holds the object');

    release('cm', 'held', 'del');
    assert.equal(await del.exited(), 0, del.stderr());
    assert.equal(del.stdout(), 'configmap "held" deleted\n');
    assert.equal(getObj(['cm', 'held', '-n', 'del']), undefined);
  });

  it('--wait=false returns at once, leaving the object terminating', () => {
    ok(['create', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: held2, namespace: del, finalizers: [${HOLD}] }\n` });
    assert.equal(ok(['delete', 'cm', 'held2', '-n', 'del', '--wait=false']), 'configmap "held2" deleted\n');
    assert.ok(getObj(['cm', 'held2', '-n', 'del']).metadata.deletionTimestamp);
    release('cm', 'held2', 'del');
    assert.equal(getObj(['cm', 'held2', '-n', 'del']), undefined);
  });

  it('a missing object is NotFound, unless --ignore-not-found', () => {
    assert.match(fails(['delete', 'cm', 'nosuch', '-n', 'del']).stderr, /Error from server \(NotFound\): configmaps "nosuch" not found/);
    const r = runKubectl(L(), ['delete', 'cm', 'nosuch', '-n', 'del', '--ignore-not-found']);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout + r.stderr, '');
  });
});

describe('delete --cascade', () => {
  it('foreground: the ReplicaSet (and its Pod) go before the Deployment', async () => {
    family('del', 'fg', true);
    const del = start(['delete', 'deployment', 'fg', '-n', 'del', '--cascade=foreground']);
    await del.until((o) => o.includes('deployment.apps "fg" deleted'), 'the delete to be accepted');
    // The collector deletes the dependents; the held ReplicaSet stays, terminating.
    const rs = await until('the ReplicaSet to be deleted by the collector', () => {
      const o = getObj(['rs', 'fg-rs', '-n', 'del']);
      return o?.metadata.deletionTimestamp ? o : undefined;
    });
    assert.deepEqual(rs.metadata.finalizers, [HOLD]);
    await until('the Pod to be gone', () => getObj(['pod', 'fg-pod', '-n', 'del']) === undefined);
    const dep = getObj(['deploy', 'fg', '-n', 'del']);
    assert.ok(dep, 'the Deployment is still there while a dependent is');
    assert.ok(dep.metadata.deletionTimestamp);
    assert.ok(dep.metadata.finalizers?.includes('foregroundDeletion'), JSON.stringify(dep.metadata));
    assert.equal(del.exitCode(), undefined, 'kubectl is still waiting for the Deployment');

    release('rs', 'fg-rs', 'del');
    assert.equal(await del.exited(), 0, del.stderr());
    assert.equal(getObj(['rs', 'fg-rs', '-n', 'del']), undefined);
    assert.equal(getObj(['deploy', 'fg', '-n', 'del']), undefined);
  });

  it('background: the Deployment goes at once, the ReplicaSet after', async () => {
    family('del', 'bg', true);
    assert.equal(ok(['delete', 'deployment', 'bg', '-n', 'del', '--cascade=background']), 'deployment.apps "bg" deleted\n');
    assert.equal(getObj(['deploy', 'bg', '-n', 'del']), undefined, 'the Deployment is gone when kubectl returns');
    const rs = await until('the ReplicaSet to be deleted by the collector', () => {
      const o = getObj(['rs', 'bg-rs', '-n', 'del']);
      return o?.metadata.deletionTimestamp ? o : undefined;
    });
    assert.deepEqual(rs.metadata.finalizers, [HOLD]);
    release('rs', 'bg-rs', 'del');
    await until('the ReplicaSet to be gone', () => getObj(['rs', 'bg-rs', '-n', 'del']) === undefined);
    await until('the Pod to be gone', () => getObj(['pod', 'bg-pod', '-n', 'del']) === undefined);
  });

  it('background is the default', async () => {
    family('del', 'dflt', false);
    assert.equal(ok(['delete', 'deployment', 'dflt', '-n', 'del']), 'deployment.apps "dflt" deleted\n');
    await until('the ReplicaSet to be gone', () => getObj(['rs', 'dflt-rs', '-n', 'del']) === undefined);
    await until('the Pod to be gone', () => getObj(['pod', 'dflt-pod', '-n', 'del']) === undefined);
  });

  it('orphan: the ReplicaSet survives, its ownerReferences removed', () => {
    const { rsUid } = family('del', 'orph', false);
    assert.equal(ok(['delete', 'deployment', 'orph', '-n', 'del', '--cascade=orphan']), 'deployment.apps "orph" deleted\n');
    assert.equal(getObj(['deploy', 'orph', '-n', 'del']), undefined);
    const rs = getObj(['rs', 'orph-rs', '-n', 'del']);
    assert.ok(rs, 'the ReplicaSet survives');
    assert.equal(rs.metadata.uid, rsUid);
    assert.equal(rs.metadata.deletionTimestamp, undefined);
    assert.deepEqual(rs.metadata.ownerReferences ?? [], [], 'no reference to the deleted owner is left');
    const pod = getObj(['pod', 'orph-pod', '-n', 'del']);
    assert.ok(pod, 'the Pod survives too');
    assert.equal(pod.metadata.ownerReferences[0].uid, rsUid, 'and still belongs to the ReplicaSet');
  });
});

describe('delete namespace', () => {
  it('removes everything in it, then the namespace', async () => {
    ok(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Namespace
metadata: { name: doomed }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: c1, namespace: doomed }
---
apiVersion: v1
kind: Secret
metadata: { name: s1, namespace: doomed }
stringData: { k: v }
---
apiVersion: v1
kind: Service
metadata: { name: svc, namespace: doomed }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: p1, namespace: doomed }
spec: { containers: [{ name: c, image: busybox }] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: held, namespace: doomed, finalizers: ["${HOLD}"] }
`,
    });
    family('doomed', 'app', false);
    const del = start(['delete', 'namespace', 'doomed']);
    await del.until((o) => o.includes('namespace "doomed" deleted'), 'the delete to be accepted');
    // Everything else goes; the held ConfigMap keeps the namespace Terminating.
    await until('the namespace to be emptied but for the held ConfigMap', () => {
      const r = runKubectl(L(), ['get', 'all,cm,secret', '-n', 'doomed', '-o', 'name']);
      return r.code === 0 && r.stdout === 'configmap/held\n';
    });
    const t = parseTable(ok(['get', 'ns', 'doomed']));
    assert.equal(t.rows[0]?.STATUS, 'Terminating', JSON.stringify(t));
    assert.equal(getObj(['ns', 'doomed']).status.phase, 'Terminating');
    assert.equal(del.exitCode(), undefined, 'kubectl is still waiting for the namespace');
    // Nothing new may be created in it.
    const r = fails(['create', 'configmap', 'late', '-n', 'doomed']);
    assert.match(r.stderr, /unable to create new content in namespace doomed because it is being terminated/, describeRun(r));

    release('cm', 'held', 'doomed');
    assert.equal(await del.exited(), 0, del.stderr());
    assert.match(fails(['get', 'ns', 'doomed']).stderr, /namespaces "doomed" not found/);
    const left = runKubectl(L(), ['get', 'pods,cm,secret,svc,deploy,rs', '-A', '-o', 'name', '--field-selector', 'metadata.namespace=doomed']);
    assert.equal(left.code, 0, describeRun(left));
    assert.equal(left.stdout, '', describeRun(left));
  });

  it('a namespace Lodge needs cannot be deleted', () => {
    const r = fails(['delete', 'namespace', 'default']);
    assert.match(r.stderr, /Error from server \(Forbidden\): namespaces "default" is forbidden: this namespace may not be deleted/, describeRun(r));
    assert.equal(getObj(['ns', 'default']).status.phase, 'Active');
  });
});

describe('delete by selector', () => {
  it('-l deletes the matching objects only; --all deletes the rest', () => {
    ok(['create', 'namespace', 'sel']);
    for (const [name, app] of [['a', 'x'], ['b', 'x'], ['c', 'y']]) {
      ok(['create', 'configmap', name, '-n', 'sel', '--from-literal=k=v']);
      ok(['label', 'configmap', name, '-n', 'sel', `app=${app}`]);
    }
    assert.equal(ok(['delete', 'configmaps', '-n', 'sel', '-l', 'app=x']), 'configmap "a" deleted\nconfigmap "b" deleted\n');
    assert.equal(ok(['get', 'cm', '-n', 'sel', '-o', 'name']), 'configmap/c\n');
    const none = runKubectl(L(), ['delete', 'configmaps', '-n', 'sel', '-l', 'app=nothing']);
    assert.equal(none.code, 0, describeRun(none));
    assert.match(none.stdout + none.stderr, /No resources found/);
    assert.equal(ok(['delete', 'configmaps', '-n', 'sel', '--field-selector', 'metadata.name=c']), 'configmap "c" deleted\n');
    ok(['create', 'configmap', 'd', '-n', 'sel']);
    ok(['create', 'configmap', 'e', '-n', 'sel']);
    assert.equal(ok(['delete', 'configmaps', '-n', 'sel', '--all']), 'configmap "d" deleted\nconfigmap "e" deleted\n');
    assert.equal(ok(['get', 'cm', '-n', 'sel', '-o', 'name']), '');
  });

  it('several kinds and names at once', () => {
    ok(['create', 'configmap', 'm1', '-n', 'sel']);
    ok(['create', 'secret', 'generic', 'm2', '-n', 'sel', '--from-literal=a=b']);
    const out = ok(['delete', 'configmap/m1', 'secret/m2', '-n', 'sel']);
    assert.equal(out, 'configmap "m1" deleted\nsecret "m2" deleted\n');
  });
});

describe('graceful pod deletion', () => {
  it('a pod on a node terminates until its node agent confirms; --grace-period=0 --force removes it', () => {
    ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Node\nmetadata: { name: node-a }\n' });
    ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: { name: bound, namespace: del }\nspec:\n  nodeName: node-a\n  containers: [{ name: c, image: busybox }]\n' });
    assert.equal(ok(['delete', 'pod', 'bound', '-n', 'del', '--wait=false']), 'pod "bound" deleted\n');
    const pod = getObj(['pod', 'bound', '-n', 'del']);
    assert.ok(pod?.metadata.deletionTimestamp, 'still there, terminating');
    assert.equal(pod.metadata.deletionGracePeriodSeconds, 30);
    const t = parseTable(ok(['get', 'pod', 'bound', '-n', 'del']));
    assert.equal(t.rows[0].STATUS, 'Terminating');

    const r = runKubectl(L(), ['delete', 'pod', 'bound', '-n', 'del', '--grace-period=0', '--force']);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, /Immediate deletion does not wait for confirmation/);
    assert.match(r.stdout, /pod "bound" force deleted/);
    assert.equal(getObj(['pod', 'bound', '-n', 'del']), undefined);
  });

  it('a pod on no node goes at once', () => {
    ok(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: { name: unbound, namespace: del }\nspec:\n  containers: [{ name: c, image: busybox }]\n' });
    assert.equal(ok(['delete', 'pod', 'unbound', '-n', 'del']), 'pod "unbound" deleted\n');
    assert.equal(getObj(['pod', 'unbound', '-n', 'del']), undefined);
  });
});

it('no request answered 500', () => {
  assert.deepEqual(requestFailures(L()), []);
});
