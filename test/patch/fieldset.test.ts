import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldSet, pathString } from '../../src/api/patch/index.js';

const fieldsV1 = {
  'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
  'f:spec': {
    'f:containers': {
      'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } },
    },
    'f:replicas': {},
  },
  'f:metadata2': { 'f:finalizers': { 'v:"example.com/x"': {} } },
};

test('FieldsV1 round-trips, written in Kubernetes order (".", then f:, k:, v:, i:)', () => {
  const set = FieldSet.fromFieldsV1(fieldsV1);
  const out = set.toFieldsV1();
  assert.deepEqual(out, fieldsV1);
  assert.deepEqual(Object.keys(out), ['f:metadata', 'f:metadata2', 'f:spec']);
  assert.deepEqual(Object.keys((out['f:spec'] as Record<string, unknown>)), ['f:containers', 'f:replicas']);
});

test('member paths print as Kubernetes prints them in conflicts', () => {
  const paths = FieldSet.fromFieldsV1(fieldsV1).paths().map(pathString);
  assert.deepEqual(paths, [
    '.metadata.labels',
    '.metadata.labels.app',
    '.metadata2.finalizers[="example.com/x"]',
    '.spec.replicas',
    '.spec.containers[name="app"]',
    '.spec.containers[name="app"].image',
    '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]',
    '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"].containerPort',
  ]);
});

test('set algebra works on members, not subtrees', () => {
  const a = FieldSet.fromFieldsV1({ 'f:spec': { '.': {}, 'f:a': {}, 'f:b': {} } });
  const b = FieldSet.fromFieldsV1({ 'f:spec': { 'f:b': {}, 'f:c': {} } });
  assert.deepEqual(a.difference(b).toFieldsV1(), { 'f:spec': { '.': {}, 'f:a': {} } });
  assert.deepEqual(a.intersection(b).toFieldsV1(), { 'f:spec': { 'f:b': {} } });
  assert.deepEqual(a.union(b).toFieldsV1(), { 'f:spec': { '.': {}, 'f:a': {}, 'f:b': {}, 'f:c': {} } });
  assert.deepEqual(b.withoutSubtrees(FieldSet.fromFieldsV1({ 'f:spec': {} })).toFieldsV1(), {});
  assert.ok(a.difference(a).isEmpty());
});
