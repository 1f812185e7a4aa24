import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch } from '../../src/api/patch/index.js';
import { frozen } from './fixtures.js';

// RFC 7386, Appendix A: [target, patch, result].
const examples: Array<[unknown, unknown, unknown]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

for (const [i, [target, patch, result]] of examples.entries()) {
  test(`RFC 7386 example ${i + 1}`, () => {
    assert.deepEqual(applyMergePatch(frozen(target), frozen(patch)), result);
  });
}

test('merge patch copies: the result shares nothing with its inputs', () => {
  const target = { spec: { a: { x: 1 } } };
  const patch = { spec: { b: { y: [1, 2] } } };
  const out = applyMergePatch(target, patch) as { spec: { a: { x: number }; b: { y: number[] } } };
  out.spec.a.x = 9;
  out.spec.b.y.push(3);
  assert.deepEqual(target, { spec: { a: { x: 1 } } });
  assert.deepEqual(patch, { spec: { b: { y: [1, 2] } } });
});

test('merge patch of a missing object starts from {}', () => {
  assert.deepEqual(applyMergePatch(undefined, { metadata: { labels: { a: 'b', c: null } } }), { metadata: { labels: { a: 'b' } } });
});

test('a __proto__ key is stored as data, not as a prototype', () => {
  const patch = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
  const out = applyMergePatch({}, patch) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__']);
});
