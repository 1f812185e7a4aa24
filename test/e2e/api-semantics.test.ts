// End-to-end: the object semantics of the API against a real `lodge up` —
// server-set metadata, generation, the status subresource, pagination,
// selectors, deletecollection, finalizers, cascading deletion, namespace
// deletion, dryRun and generateName.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, requestFailures, shutdown, startLodge, waitFor, type ApiResult, type Lodge, INERT_WORKLOADS } from './harness.js';
import { apiCaller } from './api-caller.js';

let lodge: Lodge | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-semantics-'));

const { L, call, ok } = apiCaller(() => lodge);

const merge = (path: string, patch: unknown): Promise<any> => ok('PATCH', path, patch, 'application/merge-patch+json');

async function createNs(name: string): Promise<void> {
  await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

const cm = (name: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}), ...extra },
  data: { v: name },
});

const deployment = (name: string): Record<string, any> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
});

const pod = (name: string, labels: Record<string, string> = {}, nodeName?: string): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
});

const names = (list: { items: Array<{ metadata: { name: string } }> }): string[] => list.items.map((i) => i.metadata.name).sort();

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...INERT_WORKLOADS] });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

describe('server-set metadata and generation', () => {
  const deploys = '/apis/apps/v1/namespaces/default/deployments';

  it('sets uid, creationTimestamp, generation and resourceVersion itself', async () => {
    const body = deployment('meta');
    body.metadata.uid = 'client-chosen-uid';
    body.metadata.creationTimestamp = '2001-01-01T00:00:00Z';
    body.metadata.generation = 42;
    body.metadata.resourceVersion = '12345';
    const created = await ok('POST', deploys, body);
    assert.notEqual(created.metadata.uid, 'client-chosen-uid');
    assert.match(created.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(created.metadata.creationTimestamp, '2001-01-01T00:00:00Z');
    assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.metadata.generation, 1);
    assert.match(created.metadata.resourceVersion, /^\d+$/);
    assert.notEqual(created.metadata.resourceVersion, '12345');
    const got = await ok('GET', `${deploys}/meta`);
    assert.equal(got.metadata.uid, created.metadata.uid);
    assert.equal(got.metadata.creationTimestamp, created.metadata.creationTimestamp);
    assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);
  });

  it('an update cannot change uid or creationTimestamp', async () => {
    const cur = await ok('GET', `${deploys}/meta`);
    const upd = await ok('PUT', `${deploys}/meta`, { ...cur, metadata: { ...cur.metadata, creationTimestamp: '2001-01-01T00:00:00Z', generation: 99 } });
    assert.equal(upd.metadata.creationTimestamp, cur.metadata.creationTimestamp);
    assert.equal(upd.metadata.uid, cur.metadata.uid);
    assert.equal(upd.metadata.generation, cur.metadata.generation);
  });

  it('generation bumps on spec changes only', async () => {
    const d0 = await ok('GET', `${deploys}/meta`);
    const g0 = d0.metadata.generation;
    const labeled = await merge(`${deploys}/meta`, { metadata: { labels: { tier: 'front' }, annotations: { note: 'x' } } });
    assert.equal(labeled.metadata.generation, g0, 'labels and annotations do not bump generation');
    assert.notEqual(labeled.metadata.resourceVersion, d0.metadata.resourceVersion);
    const scaled = await merge(`${deploys}/meta`, { spec: { replicas: 3 } });
    assert.equal(scaled.metadata.generation, g0 + 1);
    const again = await merge(`${deploys}/meta`, { spec: { replicas: 3 } });
    assert.equal(again.metadata.generation, g0 + 1, 'a no-op patch does not bump');
    assert.equal(again.metadata.resourceVersion, scaled.metadata.resourceVersion, 'a no-op patch does not write');
    const st = await merge(`${deploys}/meta/status`, { status: { replicas: 3, observedGeneration: g0 + 1 } });
    assert.equal(st.metadata.generation, g0 + 1, 'status writes do not bump generation');
    const put = await ok('PUT', `${deploys}/meta`, { ...st, spec: { ...st.spec, replicas: 5 } });
    assert.equal(put.metadata.generation, g0 + 2);
  });
});

describe('status subresource', () => {
  const deploys = '/apis/apps/v1/namespaces/default/deployments';

  it('create ignores status', async () => {
    const created = await ok('POST', deploys, { ...deployment('st'), status: { replicas: 7 } });
    assert.equal(created.status?.replicas, undefined);
  });

  it('PUT /status changes only status', async () => {
    const cur = await ok('GET', `${deploys}/st`);
    const upd = await ok('PUT', `${deploys}/st/status`, {
      ...cur,
      metadata: { ...cur.metadata, labels: { app: 'st', sneaky: 'yes' } },
      spec: { ...cur.spec, replicas: 9 },
      status: { replicas: 2, readyReplicas: 1 },
    });
    assert.equal(upd.status.replicas, 2);
    assert.equal(upd.status.readyReplicas, 1);
    assert.equal(upd.spec.replicas, 1);
    assert.equal(upd.metadata.labels.sneaky, undefined);
    assert.equal(upd.metadata.generation, cur.metadata.generation);
    const got = await ok('GET', `${deploys}/st`);
    assert.equal(got.spec.replicas, 1);
    assert.equal(got.status.replicas, 2);
  });

  it('PATCH /status changes only status', async () => {
    const upd = await merge(`${deploys}/st/status`, { spec: { replicas: 4 }, status: { availableReplicas: 1 } });
    assert.equal(upd.status.availableReplicas, 1);
    assert.equal(upd.status.replicas, 2);
    assert.equal(upd.spec.replicas, 1);
  });

  it('main-resource writes ignore status', async () => {
    const cur = await ok('GET', `${deploys}/st`);
    const put = await ok('PUT', `${deploys}/st`, { ...cur, spec: { ...cur.spec, replicas: 2 }, status: { replicas: 100 } });
    assert.equal(put.spec.replicas, 2);
    assert.equal(put.status.replicas, 2);
    const patched = await merge(`${deploys}/st`, { status: { replicas: 100, readyReplicas: 100 } });
    assert.equal(patched.status.replicas, 2);
    assert.equal(patched.status.readyReplicas, 1);
  });

  it('a kind without a status subresource has no /status', async () => {
    await ok('POST', '/api/v1/namespaces/default/configmaps', cm('nostatus'));
    const r = await call('GET', '/api/v1/namespaces/default/configmaps/nostatus/status');
    assert.equal(r.status, 404, r.text);
  });
});

describe('lists', () => {
  const ns = 'pages';
  const cms = `/api/v1/namespaces/${ns}/configmaps`;

  before(async () => {
    await createNs(ns);
    for (let i = 0; i < 25; i++) await ok('POST', cms, cm(`cm-${String(i).padStart(2, '0')}`, { idx: String(i), parity: i % 2 ? 'odd' : 'even' }));
  });

  it('pages with limit/continue see every object once, at one consistent revision', async () => {
    const seen: string[] = [];
    let first = await ok('GET', `${cms}?limit=7`);
    const listRv = first.metadata.resourceVersion;
    assert.equal(first.items.length, 7);
    assert.equal(first.metadata.remainingItemCount, 18);
    seen.push(...first.items.map((i: any) => i.metadata.name));
    // Writes after the first page are invisible to its continuation.
    await ok('POST', cms, cm('cm-99-late'));
    await ok('DELETE', `${cms}/cm-24`);
    await merge(`${cms}/cm-20`, { data: { v: 'changed' } });
    let token = first.metadata.continue;
    let pages = 1;
    while (token) {
      const page = await ok('GET', `${cms}?limit=7&continue=${encodeURIComponent(token)}`);
      assert.equal(page.metadata.resourceVersion, listRv, 'every page is at the first page’s revision');
      assert.ok(page.items.length <= 7);
      for (const i of page.items) {
        if (i.metadata.name === 'cm-20') assert.equal(i.data.v, 'cm-20', 'continuation reads the snapshot, not the newer write');
      }
      seen.push(...page.items.map((i: any) => i.metadata.name));
      token = page.metadata.continue;
      pages++;
      first = page;
    }
    assert.equal(pages, 4);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25, 'no duplicates');
    assert.deepEqual([...seen].sort(), Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`));
    // A fresh list sees the new state.
    const now = await ok('GET', cms);
    assert.equal(now.items.length, 25);
    assert.ok(names(now).includes('cm-99-late'));
    assert.ok(!names(now).includes('cm-24'));
  });

  it('limit with a label selector still fills pages', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ok('GET', `${cms}?limit=4&labelSelector=parity%3Dodd${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      for (const i of page.items) assert.equal(i.metadata.labels.parity, 'odd');
      seen.push(...page.items.map((i: any) => i.metadata.name));
      token = page.metadata.continue;
    } while (token);
    assert.equal(seen.length, 12);
    assert.equal(new Set(seen).size, 12);
  });

  it('resourceVersionMatch=Exact lists the state at that revision', async () => {
    const before = await ok('GET', cms);
    const rv = before.metadata.resourceVersion;
    await ok('POST', cms, cm('cm-exact-new'));
    await ok('DELETE', `${cms}/cm-00`);
    const exact = await ok('GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.deepEqual(names(exact), names(before));
    assert.equal(exact.metadata.resourceVersion, rv);
    const latest = await ok('GET', cms);
    assert.ok(names(latest).includes('cm-exact-new'));
    assert.ok(!names(latest).includes('cm-00'));
    const notOlder = await ok('GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=NotOlderThan`);
    assert.deepEqual(names(notOlder), names(latest));
    const r = await call('GET', `${cms}?resourceVersionMatch=Exact`);
    assert.equal(r.status, 400, r.text);
  });

  it('label selectors', async () => {
    const sel = async (s: string): Promise<string[]> => names(await ok('GET', `${cms}?labelSelector=${encodeURIComponent(s)}`));
    assert.deepEqual(await sel('idx=3'), ['cm-03']);
    assert.deepEqual(await sel('idx in (1,2,3),parity=odd'), ['cm-01', 'cm-03']);
    assert.deepEqual(await sel('idx notin (1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24)'), ['cm-99-late', 'cm-exact-new']);
    assert.deepEqual(await sel('!idx'), ['cm-99-late', 'cm-exact-new']);
    assert.equal((await sel('idx')).length, 23);
    assert.equal((await sel('parity!=odd')).length, 13); // even ones left (00 and 24 deleted) + 2 unlabeled
    assert.deepEqual(await sel('idx=nope'), []);
  });

  it('field selectors', async () => {
    const byName = await ok('GET', `${cms}?fieldSelector=metadata.name%3Dcm-05`);
    assert.deepEqual(names(byName), ['cm-05']);
    const notName = await ok('GET', `${cms}?fieldSelector=metadata.name!%3Dcm-05,metadata.namespace%3D${ns}`);
    assert.equal(notName.items.length, 24);
    const all = await ok('GET', `/api/v1/configmaps?fieldSelector=metadata.namespace%3D${ns}`);
    assert.equal(all.items.length, 25);
    // Pods by spec.nodeName and status.phase.
    await ok('POST', `/api/v1/namespaces/${ns}/pods`, pod('p-a', {}, 'node-a'));
    await ok('POST', `/api/v1/namespaces/${ns}/pods`, pod('p-b'));
    const onA = await ok('GET', `/api/v1/namespaces/${ns}/pods?fieldSelector=spec.nodeName%3Dnode-a`);
    assert.deepEqual(names(onA), ['p-a']);
    const unscheduled = await ok('GET', `/api/v1/namespaces/${ns}/pods?fieldSelector=spec.nodeName%3D`);
    assert.deepEqual(names(unscheduled), ['p-b']);
    const both = await ok('GET', `/api/v1/namespaces/${ns}/pods?fieldSelector=status.phase%3DPending&labelSelector=`);
    assert.deepEqual(names(both), ['p-a', 'p-b']);
  });

  it('deletecollection with a label selector deletes only the matches', async () => {
    const r = await ok('DELETE', `${cms}?labelSelector=parity%3Deven`);
    assert.equal(r.kind, 'ConfigMapList');
    assert.ok(r.items.every((i: any) => i.metadata.labels.parity === 'even'));
    assert.equal(r.items.length, 11);
    const left = await ok('GET', cms);
    assert.equal(left.items.length, 14);
    assert.ok(left.items.every((i: any) => i.metadata.labels?.parity !== 'even'));
  });
});

describe('finalizers and deletion', () => {
  const cms = '/api/v1/namespaces/default/configmaps';

  it('delete with a finalizer sets deletionTimestamp, answers 202 and waits for the finalizer', async () => {
    await ok('POST', cms, cm('held', undefined, { finalizers: ['e2e.lodge.dev/hold'] }));
    const del = await call('DELETE', `${cms}/held`);
    assert.equal(del.status, 202, del.text);
    const obj = del.json();
    assert.ok(obj.metadata.deletionTimestamp, del.text);
    assert.deepEqual(obj.metadata.finalizers, ['e2e.lodge.dev/hold']);
    assert.equal(obj.metadata.generation, 2, 'starting deletion bumps generation, as Kubernetes does');
    const still = await ok('GET', `${cms}/held`);
    assert.equal(still.metadata.deletionTimestamp, obj.metadata.deletionTimestamp);
    // Deleting again changes nothing.
    const again = await call('DELETE', `${cms}/held`);
    assert.equal(again.status, 202, again.text);
    assert.equal(again.json().metadata.deletionTimestamp, obj.metadata.deletionTimestamp);
    assert.equal(again.json().metadata.generation, 2, 'only the first delete bumps generation');
    // Adding a finalizer while deleting is refused.
    const add = await call('PATCH', `${cms}/held`, {
      body: JSON.stringify({ metadata: { finalizers: ['e2e.lodge.dev/hold', 'e2e.lodge.dev/other'] } }),
      contentType: 'application/merge-patch+json',
    });
    assert.equal(add.status, 422, add.text);
    // Other writes still work while it waits.
    const labeled = await merge(`${cms}/held`, { metadata: { labels: { still: 'here' } } });
    assert.ok(labeled.metadata.deletionTimestamp);
    // Removing the last finalizer removes the object.
    await merge(`${cms}/held`, { metadata: { finalizers: null } });
    const gone = await call('GET', `${cms}/held`);
    assert.equal(gone.status, 404, gone.text);
  });

  it('delete of an object without finalizers answers 200 and it is gone', async () => {
    await ok('POST', cms, cm('plain'));
    const del = await call('DELETE', `${cms}/plain`);
    assert.equal(del.status, 200, del.text);
    assert.equal((await call('GET', `${cms}/plain`)).status, 404);
    assert.equal((await call('DELETE', `${cms}/plain`)).status, 404);
  });

  it('delete preconditions: a wrong uid → 409', async () => {
    await ok('POST', cms, cm('precond'));
    const r = await call('DELETE', `${cms}/precond`, {
      body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }),
      contentType: 'application/json',
    });
    assert.equal(r.status, 409, r.text);
    assert.equal((await call('GET', `${cms}/precond`)).status, 200);
  });
});

describe('cascading deletion (ownerReferences)', () => {
  const ns = 'cascade';
  const cms = `/api/v1/namespaces/${ns}/configmaps`;

  before(async () => {
    await createNs(ns);
  });

  async function family(owner: string, n: number, depExtra: Record<string, unknown> = {}): Promise<string> {
    const o = await ok('POST', cms, cm(owner));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: o.metadata.uid, blockOwnerDeletion: true };
    for (let i = 0; i < n; i++) await ok('POST', cms, cm(`${owner}-dep-${i}`, { owner }, { ownerReferences: [ref], ...depExtra }));
    return o.metadata.uid;
  }

  const deps = async (owner: string): Promise<any[]> => (await ok('GET', `${cms}?labelSelector=owner%3D${owner}`)).items;

  it('Background: the owner goes at once, then the collector deletes its dependents', async () => {
    await family('bg', 3);
    const del = await call('DELETE', `${cms}/bg`, { body: JSON.stringify({ propagationPolicy: 'Background' }), contentType: 'application/json' });
    assert.equal(del.status, 200, del.text);
    assert.equal((await call('GET', `${cms}/bg`)).status, 404);
    await waitFor('background dependents to be deleted', async () => (await deps('bg')).length === 0);
  });

  it('default policy for a ConfigMap cascades in the background too', async () => {
    await family('dflt', 2);
    assert.equal((await call('DELETE', `${cms}/dflt`)).status, 200);
    await waitFor('dependents to be deleted', async () => (await deps('dflt')).length === 0);
  });

  it('Orphan: the owner goes, its dependents stay without the reference', async () => {
    const uid = await family('orph', 3);
    const del = await call('DELETE', `${cms}/orph?propagationPolicy=Orphan`);
    assert.ok(del.status === 200 || del.status === 202, del.text);
    await waitFor('the orphaning owner to be gone', async () => (await call('GET', `${cms}/orph`)).status === 404);
    const left = await deps('orph');
    assert.equal(left.length, 3);
    for (const d of left) {
      assert.ok(!(d.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid), JSON.stringify(d.metadata));
      assert.equal(d.metadata.deletionTimestamp, undefined);
    }
  });

  it('Foreground: the owner waits with deletionTimestamp until its dependents are gone', async () => {
    // Dependents hold a finalizer of ours, so the owner must wait visibly.
    await family('fg', 2, { finalizers: ['e2e.lodge.dev/hold'] });
    const del = await call('DELETE', `${cms}/fg`, { body: JSON.stringify({ propagationPolicy: 'Foreground' }), contentType: 'application/json' });
    assert.equal(del.status, 202, del.text);
    const owner = del.json();
    assert.ok(owner.metadata.deletionTimestamp);
    assert.ok(owner.metadata.finalizers.includes('foregroundDeletion'), JSON.stringify(owner.metadata));
    // The collector deletes the dependents; they wait on our finalizer.
    await waitFor('dependents to be marked for deletion', async () => {
      const d = await deps('fg');
      return d.length === 2 && d.every((x) => x.metadata.deletionTimestamp);
    });
    const waiting = await ok('GET', `${cms}/fg`);
    assert.ok(waiting.metadata.deletionTimestamp, 'owner still there while dependents exist');
    for (const d of await deps('fg')) await merge(`${cms}/${d.metadata.name}`, { metadata: { finalizers: null } });
    await waitFor('the foreground owner to be gone', async () => (await call('GET', `${cms}/fg`)).status === 404);
    assert.equal((await deps('fg')).length, 0);
  });

  it('a dependent with two owners survives while one owner lives', async () => {
    const a = await ok('POST', cms, cm('own-a'));
    const b = await ok('POST', cms, cm('own-b'));
    await ok(
      'POST',
      cms,
      cm('shared', { owner: 'ab' }, {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'own-a', uid: a.metadata.uid },
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'own-b', uid: b.metadata.uid },
        ],
      }),
    );
    assert.equal((await call('DELETE', `${cms}/own-a`)).status, 200);
    // Give the collector a chance to act wrongly, then check it did not.
    await ok('POST', cms, cm('sentinel-owner'));
    await family('sentinel', 1);
    assert.equal((await call('DELETE', `${cms}/sentinel`)).status, 200);
    await waitFor('sentinel dependent to be deleted', async () => (await deps('sentinel')).length === 0);
    assert.equal((await call('GET', `${cms}/shared`)).status, 200);
    assert.equal((await call('DELETE', `${cms}/own-b`)).status, 200);
    await waitFor('the shared dependent to be deleted', async () => (await call('GET', `${cms}/shared`)).status === 404);
  });
});

describe('concurrent writers', () => {
  const cms = '/api/v1/namespaces/default/configmaps';

  it('patches without a resourceVersion all apply (the server retries its compare-and-swap)', async () => {
    await ok('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'contended' }, data: {} });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => merge(`${cms}/contended`, { data: { [`k${i}`]: String(i) } })));
    const rvs = results.map((r) => r.metadata.resourceVersion);
    assert.equal(new Set(rvs).size, 20, 'every patch was its own write');
    const final = await ok('GET', `${cms}/contended`);
    assert.equal(Object.keys(final.data).length, 20);
    for (let i = 0; i < 20; i++) assert.equal(final.data[`k${i}`], String(i));
  });

  it('updates pinned to the same resourceVersion: exactly one wins, the rest get 409', async () => {
    const cur = await ok('GET', `${cms}/contended`);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call('PUT', `${cms}/contended`, { body: JSON.stringify({ ...cur, data: { winner: String(i) } }), contentType: 'application/json' })),
    );
    const codes = answers.map((a) => a.status).sort();
    assert.deepEqual(codes, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    const winner = answers.find((a) => a.status === 200)!.json();
    assert.deepEqual((await ok('GET', `${cms}/contended`)).data, winner.data);
  });

  it('concurrent creates of one name: exactly one 201, the rest 409 AlreadyExists', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => call('POST', cms, { body: JSON.stringify(cm('race')), contentType: 'application/json' })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.json().reason, 'AlreadyExists');
  });
});

describe('kind specifics', () => {
  it('PUT creates a missing Lease (as Kubernetes allows) but not a missing ConfigMap', async () => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } };
    const r = await call('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/leader', { body: JSON.stringify(lease), contentType: 'application/json' });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.json().metadata.uid);
    const again = await call('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/leader', { body: JSON.stringify({ ...lease, spec: { holderIdentity: 'you' } }), contentType: 'application/json' });
    assert.equal(again.status, 200, again.text);
    const missing = await call('PUT', '/api/v1/namespaces/default/configmaps/not-there', { body: JSON.stringify(cm('not-there')), contentType: 'application/json' });
    assert.equal(missing.status, 404, missing.text);
  });

  it('a created Pod ignores the status it was sent and starts Pending', async () => {
    const p = await ok('POST', '/api/v1/namespaces/default/pods', { ...pod('fresh-pod'), status: { phase: 'Running', podIP: '10.9.9.9' } });
    assert.equal(p.status?.phase, 'Pending');
    assert.equal(p.status?.podIP, undefined);
  });

  it('a Pod bound to an existing Node is deleted gracefully; gracePeriodSeconds=0 removes it', async () => {
    await ok('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-grace' } });
    await ok('POST', '/api/v1/namespaces/default/pods', pod('graceful', {}, 'node-grace'));
    const first = await call('DELETE', '/api/v1/namespaces/default/pods/graceful');
    assert.equal(first.status, 202, first.text);
    assert.ok(first.json().metadata.deletionTimestamp);
    assert.equal(first.json().metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/graceful')).status, 200);
    const now = await call('DELETE', '/api/v1/namespaces/default/pods/graceful', { body: JSON.stringify({ gracePeriodSeconds: 0 }), contentType: 'application/json' });
    assert.equal(now.status, 200, now.text);
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/graceful')).status, 404);
  });

  it('cluster-scoped kinds ignore a namespace and live outside namespaces', async () => {
    const node = await ok('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-x', namespace: 'default' } });
    assert.equal(node.metadata.namespace, undefined);
    assert.equal((await call('GET', '/api/v1/nodes/node-x')).status, 200);
    assert.equal((await call('GET', '/api/v1/namespaces/default/nodes/node-x')).status, 404);
  });
});

describe('namespaces, dryRun, generateName', () => {
  it('deleting a namespace deletes its contents, then the namespace', async () => {
    const ns = 'doomed';
    await createNs(ns);
    for (let i = 0; i < 5; i++) await ok('POST', `/api/v1/namespaces/${ns}/configmaps`, cm(`c${i}`));
    await ok('POST', `/api/v1/namespaces/${ns}/pods`, pod('p1'));
    await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment('d1'));
    await ok('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, stringData: { k: 'v' } });
    const del = await call('DELETE', `/api/v1/namespaces/${ns}`);
    assert.ok(del.status === 200 || del.status === 202, del.text);
    const nsObj = await ok('GET', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    if (nsObj) assert.ok(nsObj.metadata.deletionTimestamp);
    await waitFor('namespace to be gone', async () => (await call('GET', `/api/v1/namespaces/${ns}`)).status === 404);
    for (const p of [`/api/v1/namespaces/${ns}/configmaps`, `/api/v1/namespaces/${ns}/pods`, `/apis/apps/v1/namespaces/${ns}/deployments`, `/api/v1/namespaces/${ns}/secrets`]) {
      const l = await ok('GET', p);
      assert.equal(l.items.length, 0, `${p}: ${JSON.stringify(names(l))}`);
    }
    // The name can be used again.
    await createNs(ns);
    assert.equal((await ok('GET', `/api/v1/namespaces/${ns}/configmaps`)).items.length, 0);
  });

  it('a namespace waits, Terminating, for contents held by finalizers', async () => {
    const ns = 'held-ns';
    await createNs(ns);
    await ok('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('held', undefined, { finalizers: ['e2e.lodge.dev/hold'] }));
    await ok('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('free'));
    await call('DELETE', `/api/v1/namespaces/${ns}`);
    await waitFor('the free object to be deleted and the held one marked', async () => {
      const l = await ok('GET', `/api/v1/namespaces/${ns}/configmaps`);
      return l.items.length === 1 && l.items[0].metadata.name === 'held' && l.items[0].metadata.deletionTimestamp;
    });
    const terminating = await ok('GET', `/api/v1/namespaces/${ns}`);
    assert.equal(terminating.status.phase, 'Terminating');
    assert.ok(terminating.metadata.deletionTimestamp);
    await merge(`/api/v1/namespaces/${ns}/configmaps/held`, { metadata: { finalizers: null } });
    await waitFor('the namespace to be gone', async () => (await call('GET', `/api/v1/namespaces/${ns}`)).status === 404);
  });

  it('default, kube-system and kube-public may not be deleted (403)', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      const r = await call('DELETE', `/api/v1/namespaces/${ns}`);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json().reason, 'Forbidden');
      assert.match(r.json().message, /may not be deleted/);
      const got = await ok('GET', `/api/v1/namespaces/${ns}`);
      assert.equal(got.metadata.deletionTimestamp, undefined);
      assert.equal(got.status.phase, 'Active');
    }
    // Nor by a collection delete (which deletes the rest).
    await createNs('swept-a');
    const swept = await ok('DELETE', '/api/v1/namespaces?labelSelector=');
    assert.ok(!swept.items.some((n: any) => ['default', 'kube-system', 'kube-public'].includes(n.metadata.name)));
    for (const ns of ['default', 'kube-system', 'kube-public']) assert.equal((await ok('GET', `/api/v1/namespaces/${ns}`)).metadata.deletionTimestamp, undefined);
    await waitFor('swept namespace to go', async () => (await call('GET', '/api/v1/namespaces/swept-a')).status === 404);
  });

  it('dryRun=All validates but creates, updates and deletes nothing', async () => {
    const cms = '/api/v1/namespaces/default/configmaps';
    const before = await ok('GET', cms);
    const dry = await call('POST', `${cms}?dryRun=All`, { body: JSON.stringify(cm('dry')), contentType: 'application/json' });
    assert.equal(dry.status, 201, dry.text);
    assert.equal(dry.json().metadata.name, 'dry');
    assert.equal((await call('GET', `${cms}/dry`)).status, 404);
    const after = await ok('GET', cms);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing was written');
    // Validation still runs.
    const bad = await call('POST', `${cms}?dryRun=All`, { body: JSON.stringify(cm('Bad_Name')), contentType: 'application/json' });
    assert.equal(bad.status, 422, bad.text);
    // Update and delete dry runs leave the object alone.
    await ok('POST', cms, cm('wet'));
    const p = await call('PATCH', `${cms}/wet?dryRun=All`, { body: '{"data":{"v":"dry"}}', contentType: 'application/merge-patch+json' });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json().data.v, 'dry');
    assert.equal((await ok('GET', `${cms}/wet`)).data.v, 'wet');
    const d = await call('DELETE', `${cms}/wet?dryRun=All`);
    assert.equal(d.status, 200, d.text);
    assert.equal((await call('GET', `${cms}/wet`)).status, 200);
    const badDry = await call('POST', `${cms}?dryRun=Some`, { body: JSON.stringify(cm('dry2')), contentType: 'application/json' });
    assert.equal(badDry.status, 400, badDry.text);
  });

  it('generateName makes unique names', async () => {
    const cms = '/api/v1/namespaces/default/configmaps';
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await ok('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' }, data: {} });
      assert.match(r.metadata.name, /^gen-[a-z0-9]{5}$/);
      assert.equal(r.metadata.generateName, 'gen-');
      made.push(r.metadata.name);
    }
    assert.equal(new Set(made).size, 5);
    for (const n of made) assert.equal((await call('GET', `${cms}/${n}`)).status, 200);
    const noName = await call('POST', cms, { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }), contentType: 'application/json' });
    assert.equal(noName.status, 422, noName.text);
    assert.match(noName.json().message, /metadata\.name/);
  });

  it('/metrics: request latencies and counts labelled as kube-apiserver labels them; watches not timed; only for authenticated callers', async () => {
    await ok('GET', '/api/v1/namespaces/default/configmaps');
    await ok('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'metrics-probe' } });
    assert.equal((await call('GET', '/api/v1/namespaces/default/configmaps/no-such-map')).status, 404);
    const r = await call('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /^# TYPE apiserver_request_duration_seconds histogram$/m);
    assert.match(r.text, /^apiserver_request_duration_seconds_bucket\{verb="LIST",group="",resource="configmaps",subresource="",scope="namespace",le="0\.005"\} \d+$/m);
    assert.match(r.text, /^apiserver_request_duration_seconds_count\{verb="POST",group="",resource="configmaps",subresource="",scope="namespace"\} [1-9]\d*$/m);
    assert.match(r.text, /^apiserver_request_total\{verb="GET",group="",resource="configmaps",subresource="",scope="resource",code="404"\} [1-9]\d*$/m);
    assert.doesNotMatch(r.text, /apiserver_request_duration_seconds_count\{verb="WATCH"/);
    assert.equal((await call('GET', '/metrics', { token: null })).status, 401);
  });

  it('no request answered 500 (no "request failed" in the log)', () => {
    assert.deepEqual(requestFailures(L()), []);
  });
});
