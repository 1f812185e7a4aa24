import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyConflictError, PatchError, serverSideApply, trackUpdate } from '../../src/api/patch/index.js';
import type { ManagedFieldsEntry } from '../../src/apis/types.js';
import { deploymentSchema, frozen, podSchema, resolve } from './fixtures.js';

type Obj = Record<string, unknown>;
const T1 = '2026-01-01T00:00:00Z';
const T2 = '2026-01-02T00:00:00Z';
const T3 = '2026-01-03T00:00:00Z';

function apply(live: unknown, applied: Obj, manager: string, o: { force?: boolean; now?: string; ignoreFields?: string[][] } = {}) {
  return serverSideApply({
    live: live === undefined ? undefined : frozen(live),
    applied: frozen(applied),
    manager,
    force: o.force,
    schema: deploymentSchema,
    resolve,
    apiVersion: 'apps/v1',
    now: o.now ?? T1,
    ignoreFields: o.ignoreFields,
  });
}

function update(old: Obj, change: (o: Obj) => void, manager: string, now = T2): Obj {
  const updated = structuredClone(old);
  change(updated);
  const managedFields = trackUpdate({ old, updated, manager, apiVersion: 'apps/v1', now, schema: deploymentSchema, resolve });
  (updated.metadata as Obj).managedFields = managedFields;
  return updated;
}

function deployment(spec: Obj, labels: Record<string, string> = { app: 'web' }): Obj {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels }, spec };
}

/** A configuration without labels, and without spec when none is given ({} would own spec itself). */
function bare(spec?: Obj): Obj {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, ...(spec ? { spec } : {}) };
}

const container = (name: string, image: string, extra: Obj = {}) => ({ name, image, ...extra });
const template = (...containers: Obj[]) => ({ spec: { containers } });

const fieldsOf = (mf: ManagedFieldsEntry[], manager: string) => mf.find((e) => e.manager === manager)?.fieldsV1;
const spec = (o: Obj) => o.spec as Obj;
const containers = (o: Obj) => ((spec(o).template as Obj).spec as Obj).containers as Obj[];

function conflict(f: () => unknown, message: string, conflicts?: Array<{ manager: string; field: string }>): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ApplyConflictError, `expected ApplyConflictError, got ${String(e)}`);
    assert.equal(e.message, message);
    if (conflicts) assert.deepEqual(e.conflicts.map(({ manager, field }) => ({ manager, field })), conflicts);
    return true;
  });
}

test('apply creates the object and records what the applier owns', () => {
  const cfg = deployment({ replicas: 2, template: template(container('app', 'app:1', { ports: [{ containerPort: 80 }], args: ['-v'] })) });
  const r = apply(undefined, cfg, 'kubectl');
  assert.equal(r.changed, true);
  assert.deepEqual({ ...r.object, metadata: { ...(r.object.metadata as Obj), managedFields: undefined } }, {
    ...cfg,
    metadata: { ...(cfg.metadata as Obj), managedFields: undefined },
  });
  assert.deepEqual(r.managedFields, [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: T1,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': {
                  '.': {},
                  'f:args': {},
                  'f:image': {},
                  'f:name': {},
                  // The key includes protocol through its schema default, as Kubernetes does.
                  'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                },
              },
            },
          },
        },
      },
    },
  ]);
  assert.deepEqual((r.object.metadata as Obj).managedFields, r.managedFields);
});

test('re-applying without a field removes it; untouched fields stay', () => {
  const first = apply(undefined, deployment({ replicas: 2, paused: false, template: template(container('app', 'app:1', { env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] })) }, { app: 'web', tier: 'front' }), 'kubectl').object;
  const second = apply(first, deployment({ replicas: 2, template: template(container('app', 'app:1', { env: [{ name: 'A', value: '1' }] })) }), 'kubectl', { now: T2 });
  assert.equal('paused' in spec(second.object), false);
  assert.deepEqual((second.object.metadata as Obj).labels, { app: 'web' });
  assert.deepEqual(containers(second.object)[0].env, [{ name: 'A', value: '1' }]);
  assert.equal(second.managedFields[0].time, T2);
  const f = fieldsOf(second.managedFields, 'kubectl') as Obj;
  assert.deepEqual((f['f:metadata'] as Obj)['f:labels'], { 'f:app': {} });
});

test('applying the same configuration again changes nothing', () => {
  const cfg = deployment({ replicas: 2, template: template(container('app', 'app:1')) });
  const first = apply(undefined, cfg, 'kubectl').object;
  const again = apply(first, cfg, 'kubectl', { now: T2 });
  assert.equal(again.changed, false);
  assert.equal(again.managedFields[0].time, T1, 'the time moves only when the object changes');
});

test('a second applier changing a field the first owns conflicts', () => {
  const live = apply(undefined, deployment({ replicas: 2, template: template(container('app', 'app:1')) }), 'kubectl').object;
  conflict(() => apply(live, deployment({ replicas: 3 }), 'ci'), 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas', [
    { manager: 'kubectl', field: '.spec.replicas' },
  ]);
  conflict(
    () => apply(live, deployment({ replicas: 3, template: template(container('app', 'app:2')) }), 'ci'),
    'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n- .spec.template.spec.containers[name="app"].image',
  );
});

test('applying the same value as another manager shares the field instead of conflicting', () => {
  const live = apply(undefined, deployment({ replicas: 2 }), 'a').object;
  const shared = apply(live, bare({ replicas: 2 }), 'b', { now: T2 });
  assert.deepEqual(fieldsOf(shared.managedFields, 'a'), { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } });
  assert.deepEqual(fieldsOf(shared.managedFields, 'b'), { 'f:spec': { 'f:replicas': {} } });
  // a gives replicas up: b still owns it, so it stays.
  const aLeft = apply(shared.object, deployment({ paused: false }), 'a', { now: T3 });
  assert.equal(spec(aLeft.object).replicas, 2);
  // b gives it up too: nobody owns it any more, so it goes.
  const bLeft = apply(aLeft.object, bare(), 'b', { now: T3 });
  assert.equal('replicas' in spec(bLeft.object), false);
});

test('force takes ownership from the other manager', () => {
  const live = apply(undefined, deployment({ replicas: 2, paused: true }), 'kubectl').object;
  const r = apply(live, bare({ replicas: 5 }), 'ci', { force: true, now: T2 });
  assert.equal(spec(r.object).replicas, 5);
  assert.deepEqual(fieldsOf(r.managedFields, 'ci'), { 'f:spec': { 'f:replicas': {} } });
  assert.deepEqual(fieldsOf(r.managedFields, 'kubectl'), { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:paused': {} } });
  // kubectl no longer owns replicas: dropping it from its config does not remove it.
  const after = apply(r.object, deployment({ paused: true }), 'kubectl', { now: T3 });
  assert.equal(spec(after.object).replicas, 5);
});

test('an update by another manager takes the field, and the next apply of a different value conflicts', () => {
  const live = apply(undefined, deployment({ replicas: 2, template: template(container('app', 'app:1')) }), 'kubectl').object;
  const scaled = update(live, (o) => ((o.spec as Obj).replicas = 10), 'kube-controller-manager');
  const mf = (scaled.metadata as Obj).managedFields as ManagedFieldsEntry[];
  assert.deepEqual(
    mf.map((e) => [e.manager, e.operation]),
    [
      ['kubectl', 'Apply'],
      ['kube-controller-manager', 'Update'],
    ],
  );
  assert.deepEqual(fieldsOf(mf, 'kube-controller-manager'), { 'f:spec': { 'f:replicas': {} } });
  assert.equal(((fieldsOf(mf, 'kubectl') as Obj)['f:spec'] as Obj)['f:replicas'], undefined);

  conflict(
    () => apply(scaled, deployment({ replicas: 2, template: template(container('app', 'app:1')) }), 'kubectl'),
    'Apply failed with 1 conflict: conflict with "kube-controller-manager" using apps/v1: .spec.replicas',
  );
  // Leaving replicas out of the configuration is how an applier hands it over.
  const handedOver = apply(scaled, deployment({ template: template(container('app', 'app:2')) }), 'kubectl', { now: T3 });
  assert.equal(spec(handedOver.object).replicas, 10);
  assert.equal(containers(handedOver.object)[0].image, 'app:2');
});

test('items of a list-type map are owned separately by the managers that applied them', () => {
  const a = apply(undefined, deployment({ template: template(container('app', 'app:1')) }), 'team-a').object;
  const ab = apply(a, bare({ template: template(container('sidecar', 'proxy:1')) }), 'team-b', { now: T2 });
  assert.deepEqual(containers(ab.object).map((c) => c.name), ['app', 'sidecar']);
  const ownedItems = (m: string) => Object.keys((((((fieldsOf(ab.managedFields, m) as Obj)['f:spec'] as Obj)['f:template'] as Obj)['f:spec'] as Obj)['f:containers'] as Obj));
  assert.deepEqual(ownedItems('team-a'), ['k:{"name":"app"}']);
  assert.deepEqual(ownedItems('team-b'), ['k:{"name":"sidecar"}']);

  // Each team changes its own container freely...
  const bumped = apply(ab.object, deployment({ template: template(container('app', 'app:2')) }), 'team-a', { now: T3 }).object;
  assert.deepEqual(containers(bumped).map((c) => c.image), ['app:2', 'proxy:1']);
  // ...but not the other's.
  conflict(
    () => apply(bumped, bare({ template: template(container('sidecar', 'proxy:1'), container('app', 'app:3')) }), 'team-b'),
    'Apply failed with 1 conflict: conflict with "team-a": .spec.template.spec.containers[name="app"].image',
  );
  // Dropping its container removes only that one.
  const bGone = apply(bumped, bare(), 'team-b', { now: T3 });
  assert.deepEqual(containers(bGone.object).map((c) => c.name), ['app']);
  assert.equal(fieldsOf(bGone.managedFields, 'team-b'), undefined, 'an applier owning nothing has no entry');
});

test('the applied order wins for named items; live-only items keep their place', () => {
  const live = apply(undefined, deployment({ template: template(container('a', '1'), container('b', '1'), container('x', '1')) }), 'one').object;
  const r = apply(live, bare({ template: template(container('b', '2'), container('a', '2')) }), 'two', { force: true });
  assert.deepEqual(containers(r.object).map((c) => `${c.name}${c.image}`), ['b2', 'x1', 'a2']);
});

test('objects nobody managed yet belong to "before-first-apply"', () => {
  const live = deployment({ replicas: 1, paused: false });
  conflict(() => apply(live, deployment({ replicas: 3 }), 'kubectl'), 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
  const r = apply(live, deployment({ replicas: 1, paused: true }), 'kubectl', { force: true });
  assert.deepEqual(fieldsOf(r.managedFields, 'before-first-apply'), { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { '.': {}, 'f:replicas': {} } });
});

test('atomic lists and maps are owned and replaced whole', () => {
  const podApply = (live: unknown, applied: Obj, manager: string, force = false) =>
    serverSideApply({ live, applied, manager, force, schema: podSchema, resolve, apiVersion: 'v1', now: T1 });
  const pod = (spec: Obj) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });
  const live = podApply(undefined, pod({ dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a'] }, tolerations: [{ key: 'k' }] }), 'one');
  assert.deepEqual(fieldsOf(live.managedFields, 'one'), { 'f:spec': { 'f:dnsConfig': {}, 'f:tolerations': {} } });
  conflict(() => podApply(live.object, pod({ dnsConfig: { nameservers: ['8.8.8.8'] } }), 'two'), 'Apply failed with 1 conflict: conflict with "one": .spec.dnsConfig');
  const forced = podApply(live.object, pod({ dnsConfig: { nameservers: ['8.8.8.8'] } }), 'two', true);
  assert.deepEqual(spec(forced.object).dnsConfig, { nameservers: ['8.8.8.8'] });
});

test('a null in the configuration removes the field and the applier still owns it', () => {
  const live = apply(undefined, deployment({ replicas: 2, paused: true }), 'kubectl').object;
  const r = apply(live, deployment({ replicas: null, paused: true }), 'kubectl');
  assert.equal('replicas' in spec(r.object), false);
  assert.deepEqual(fieldsOf(r.managedFields, 'kubectl'), { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
});

test('ignored fields (status on the main resource) are neither owned nor compared', () => {
  const live = update(apply(undefined, deployment({ replicas: 1 }), 'kubectl').object, (o) => (o.status = { readyReplicas: 1 }), 'controller');
  const r = apply(live, { ...deployment({ replicas: 1 }), status: { readyReplicas: 5 } }, 'kubectl', { ignoreFields: [['status']] });
  assert.equal((fieldsOf(r.managedFields, 'kubectl') as Obj)['f:status'], undefined);
  assert.throws(() => apply(live, { ...deployment({ replicas: 1 }), status: { readyReplicas: 5 } }, 'kubectl'), ApplyConflictError);
});

test('invalid configurations are rejected', () => {
  const bad = (applied: unknown, code: 400 | 422, fragment: string) =>
    assert.throws(
      () => serverSideApply({ live: undefined, applied, manager: 'm', schema: deploymentSchema, resolve, apiVersion: 'apps/v1', now: T1 }),
      (e: unknown) => e instanceof PatchError && e.code === code && e.message.includes(fragment),
    );
  bad(deployment({ template: template(container('a', '1'), container('a', '2')) }), 422, 'duplicate entries for key {"name":"a"}');
  bad(deployment({ template: template({ image: 'no-name' }) }), 422, 'omits key field "name"');
  bad({ ...deployment({}), metadata: { name: 'web', managedFields: [] } }, 400, 'managedFields must be nil');
  bad([], 400, 'must be an object');
});

test('the live object is not modified', () => {
  const live = apply(undefined, deployment({ replicas: 2, paused: true, template: template(container('a', '1')) }), 'kubectl').object;
  const copy = structuredClone(live);
  serverSideApply({ live, applied: deployment({ replicas: 2, template: template(container('a', '2')) }), manager: 'kubectl', schema: deploymentSchema, resolve, apiVersion: 'apps/v1', now: T2 });
  assert.deepEqual(live, copy);
});
