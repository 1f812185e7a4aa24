import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PatchError, applyJsonPatch } from '../../src/api/patch/index.js';
import { frozen } from './fixtures.js';

const doc = () =>
  frozen({
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { replicas: 1, containers: [{ name: 'a', image: 'nginx' }] },
  });

function fails(f: () => unknown, code: 400 | 422, ...fragments: string[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof PatchError, `expected PatchError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} should mention ${f}`);
    return true;
  });
}

test('add, remove, replace, move, copy and a passing test', () => {
  const out = applyJsonPatch(doc(), [
    { op: 'test', path: '/spec/replicas', value: 1 },
    { op: 'replace', path: '/spec/replicas', value: 3 },
    { op: 'add', path: '/metadata/labels/tier', value: 'front' },
    { op: 'remove', path: '/metadata/labels/app' },
    { op: 'add', path: '/spec/containers/-', value: { name: 'b', image: 'redis' } },
    { op: 'copy', from: '/spec/containers/0/image', path: '/metadata/labels/image' },
    { op: 'move', from: '/spec/containers/1', path: '/spec/containers/0' },
  ]);
  assert.deepEqual(out, {
    metadata: { name: 'web', labels: { tier: 'front', image: 'nginx' } },
    spec: {
      replicas: 3,
      containers: [
        { name: 'b', image: 'redis' },
        { name: 'a', image: 'nginx' },
      ],
    },
  });
});

test('a failed test names the operation and path (422)', () => {
  fails(
    () =>
      applyJsonPatch(doc(), [
        { op: 'replace', path: '/spec/replicas', value: 2 },
        { op: 'test', path: '/spec/replicas', value: 5 },
      ]),
    422,
    'operation 1',
    'test /spec/replicas',
  );
});

test('missing paths fail with 422', () => {
  fails(() => applyJsonPatch(doc(), [{ op: 'replace', path: '/spec/paused', value: true }]), 422, 'operation 0', '/spec/paused', 'does not exist');
  fails(() => applyJsonPatch(doc(), [{ op: 'remove', path: '/metadata/annotations/x' }]), 422, '/metadata/annotations/x');
  fails(() => applyJsonPatch(doc(), [{ op: 'add', path: '/status/phase', value: 'Running' }]), 422, 'parent does not exist');
  fails(() => applyJsonPatch(doc(), [{ op: 'move', from: '/nope', path: '/x' }]), 422, '"from" path /nope');
});

test('malformed operations fail with 400 before anything is applied', () => {
  fails(() => applyJsonPatch(doc(), { op: 'add' }), 400, 'array');
  fails(() => applyJsonPatch(doc(), ['add']), 400, 'operation 0');
  fails(() => applyJsonPatch(doc(), [{ op: 'test', path: '/a', value: 1 }, { op: 'frobnicate', path: '/a' }]), 400, 'operation 1', '"op"');
  fails(() => applyJsonPatch(doc(), [{ op: 'add', value: 1 }]), 400, '"path"');
  fails(() => applyJsonPatch(doc(), [{ op: 'add', path: 'spec' , value: 1 }]), 400, 'JSON pointer');
  fails(() => applyJsonPatch(doc(), [{ op: 'replace', path: '/spec/replicas' }]), 400, '"value" is required');
  fails(() => applyJsonPatch(doc(), [{ op: 'copy', path: '/spec/x' }]), 400, '"from"');
});

test('operations do not modify the target or the patch', () => {
  const target = doc();
  const value = { name: 'c', env: [] as unknown[] };
  const ops = [
    { op: 'add', path: '/spec/containers/-', value },
    { op: 'add', path: '/spec/containers/1/env/-', value: { name: 'X' } },
  ];
  const out = applyJsonPatch(target, ops) as { spec: { containers: Array<{ env?: unknown[] }> } };
  assert.deepEqual(out.spec.containers[1].env, [{ name: 'X' }]);
  assert.deepEqual(value, { name: 'c', env: [] });
});

test('null is a valid value', () => {
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/a', value: null }]), { a: null });
});
