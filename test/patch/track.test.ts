import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trackUpdate, type TrackUpdateOptions } from '../../src/api/patch/index.js';
import type { ManagedFieldsEntry } from '../../src/apis/types.js';
import { frozen, pod, podSchema, resolve } from './fixtures.js';

type Obj = Record<string, unknown>;

function track(old: Obj | undefined, updated: Obj, manager: string, o: Partial<TrackUpdateOptions> = {}): ManagedFieldsEntry[] {
  return trackUpdate({
    old: old && frozen(old),
    updated: frozen(updated),
    manager,
    apiVersion: 'v1',
    now: '2026-01-01T00:00:00Z',
    schema: podSchema,
    resolve,
    ...o,
  });
}

function withManaged(o: Obj, managedFields: ManagedFieldsEntry[]): Obj {
  return { ...o, metadata: { ...(o.metadata as Obj), managedFields } };
}

const server = { uid: 'u-1', resourceVersion: '7', generation: 1, creationTimestamp: '2025-12-31T00:00:00Z' };
const created = () => pod({ containers: [{ name: 'app', image: 'app:1' }] }, { labels: { app: 'web' }, ...server });

test('create: the creator owns every field it set, except identity and server-set metadata', () => {
  const mf = track(undefined, created(), 'kubectl-create', { now: new Date('2026-01-01T00:00:00.789Z') });
  assert.deepEqual(mf, [
    {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2026-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': { '.': {}, 'f:containers': { '.': {}, 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
      },
    },
  ]);
});

test('an update takes the fields it changes from other managers; removed fields leave every set', () => {
  const v1 = withManaged(created(), track(undefined, created(), 'creator'));
  const v2 = structuredClone(v1);
  const c = ((v2.spec as Obj).containers as Obj[])[0];
  c.image = 'app:2';
  delete (v2.metadata as Obj).labels;
  const mf = track(v1, v2, 'editor', { now: '2026-01-02T00:00:00Z' });
  assert.deepEqual(
    mf.map((e) => [e.manager, e.time, e.fieldsV1]),
    [
      ['creator', '2026-01-01T00:00:00Z', { 'f:spec': { '.': {}, 'f:containers': { '.': {}, 'k:{"name":"app"}': { '.': {}, 'f:name': {} } } } }],
      ['editor', '2026-01-02T00:00:00Z', { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:image': {} } } } }],
    ],
  );
});

test('a write that changes nothing leaves managedFields as they were', () => {
  const v1 = withManaged(created(), track(undefined, created(), 'creator'));
  const same = { ...structuredClone(v1), metadata: { ...structuredClone(v1.metadata as Obj), resourceVersion: '8' } };
  assert.deepEqual(track(v1, same, 'creator', { now: '2026-02-01T00:00:00Z' }), (v1.metadata as Obj).managedFields);
  assert.deepEqual(track(v1, same, 'someone-else', { now: '2026-02-01T00:00:00Z' }), (v1.metadata as Obj).managedFields);
});

test('the same manager through a subresource has its own entry', () => {
  const v1 = withManaged(created(), track(undefined, created(), 'kubelet'));
  const v2 = { ...structuredClone(v1), status: { phase: 'Running' } };
  const mf = track(v1, v2, 'kubelet', { subresource: 'status' });
  assert.deepEqual(
    mf.map((e) => [e.manager, e.subresource, Object.keys(e.fieldsV1 ?? {})]),
    [
      ['kubelet', undefined, ['f:metadata', 'f:spec']],
      ['kubelet', 'status', ['f:status']],
    ],
  );
});

test('managedFields sent with the request replace the stored ones; [{}] resets them', () => {
  const v1 = withManaged(created(), track(undefined, created(), 'creator'));
  const reset = withManaged(structuredClone(v1), [{}] as ManagedFieldsEntry[]);
  assert.deepEqual(track(v1, reset, 'editor'), []);

  const replaced = withManaged(structuredClone(v1), [
    { manager: 'other', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:restartPolicy': {} } } },
  ]);
  assert.deepEqual(track(v1, replaced, 'editor').map((e) => e.manager), ['other']);

  // An empty list is not a reset: the stored entries stay.
  const empty = withManaged(structuredClone(v1), []);
  assert.deepEqual(track(v1, empty, 'editor'), (v1.metadata as Obj).managedFields);
});

test('ignored fields are never owned', () => {
  const v2 = { ...created(), status: { phase: 'Running' } };
  const mf = track(undefined, v2, 'creator', { ignoreFields: [['status'], ['spec', 'containers']] });
  assert.equal((mf[0].fieldsV1 as Obj)['f:status'], undefined);
  assert.deepEqual((mf[0].fieldsV1 as Obj)['f:spec'], {}, 'spec itself was added, nothing in it counts');
});

test('keeps up with a 5 KB object', () => {
  const containers = Array.from({ length: 8 }, (_, i) => ({
    name: `c${i}`,
    image: `registry.example.com/team/app-${i}:1.2.3`,
    args: ['--flag', String(i)],
    env: Array.from({ length: 6 }, (_, j) => ({ name: `VAR_${j}`, value: `value-${i}-${j}` })),
    ports: [{ containerPort: 8000 + i, protocol: 'TCP', name: `p${i}` }],
    resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
  }));
  const big = pod({ containers }, { labels: { app: 'big', tier: 'back' }, ...server });
  assert.ok(JSON.stringify(big).length > 4000);
  let current = withManaged(big, track(undefined, big, 'creator'));
  const start = performance.now();
  const rounds = 200;
  for (let i = 0; i < rounds; i++) {
    const next = structuredClone(current);
    (((next.spec as Obj).containers as Obj[])[i % 8] as Obj).image = `img:${i}`;
    current = withManaged(next, trackUpdate({ old: current, updated: next, manager: `m${i % 3}`, apiVersion: 'v1', now: '2026-01-01T00:00:00Z', schema: podSchema, resolve }));
  }
  const perWrite = (performance.now() - start) / rounds;
  assert.ok(perWrite < 5, `trackUpdate took ${perWrite.toFixed(2)} ms per write`);
});
