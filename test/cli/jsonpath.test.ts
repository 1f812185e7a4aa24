import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executeTemplate, selectValues } from '../../src/cli/print/jsonpath.js';

const pod = (name: string, phase: string, ready: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web', 'app.kubernetes.io/name': name } },
  spec: { containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'debian' }] },
  status: { phase, conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: ready }] },
});
const list = { apiVersion: 'v1', kind: 'List', items: [pod('web-1', 'Running', 'True'), pod('web-2', 'Pending', 'False')] };

test('field paths, wildcards and indexes', () => {
  assert.equal(executeTemplate('{.items[0].metadata.name}', list), 'web-1');
  assert.equal(executeTemplate('{.items[*].metadata.name}', list), 'web-1 web-2');
  assert.equal(executeTemplate('{.items[-1].status.phase}', list), 'Pending');
  assert.equal(executeTemplate('{.items[0:1].metadata.name}', list), 'web-1');
  assert.equal(executeTemplate('{$.kind}', list), 'List');
  assert.equal(executeTemplate('.kind', list), 'List', 'a bare path is one expression');
  assert.equal(executeTemplate('{.items[0].spec.containers[*].image}', list), 'busybox debian');
  assert.equal(executeTemplate('{..image}', list), 'busybox debian busybox debian');
  assert.equal(executeTemplate('{.items[0].metadata.labels}', list), '{"app":"web","app.kubernetes.io/name":"web-1"}');
});

test('missing keys print nothing', () => {
  assert.equal(executeTemplate('{.items[0].spec.nodeName}', list), '');
  assert.equal(executeTemplate('x{.nope.deeper}y', list), 'xy');
});

test('keys with dots, by escaping or quoting', () => {
  const p = list.items[0];
  assert.equal(executeTemplate('{.metadata.labels.app\\.kubernetes\\.io/name}', p), 'web-1');
  assert.equal(executeTemplate("{.metadata.labels['app.kubernetes.io/name']}", p), 'web-1');
});

test('filters', () => {
  assert.equal(executeTemplate('{.items[0].status.conditions[?(@.type=="Ready")].status}', list), 'True');
  assert.equal(executeTemplate("{.items[?(@.status.phase=='Pending')].metadata.name}", list), 'web-2');
  assert.equal(executeTemplate('{.items[?(@.status.phase!="Pending")].metadata.name}', list), 'web-1');
  assert.equal(executeTemplate('{.items[?(@.spec.nodeName)].metadata.name}', list), '');
});

test('range with literals', () => {
  const out = executeTemplate('{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}', list);
  assert.equal(out, 'web-1\tRunning\nweb-2\tPending\n');
  const nested = executeTemplate('{range .items[*]}{.metadata.name}:{range .spec.containers[*]} {.name}{end};{end}', list);
  assert.equal(nested, 'web-1: a b;web-2: a b;');
});

test('template errors name the problem', () => {
  assert.throws(() => executeTemplate('{range .items[*]}{.a}', list), /range.*without \{end\}/);
  assert.throws(() => executeTemplate('{.a', list), /unclosed/);
  assert.throws(() => executeTemplate('{end}', list), /without \{range\}/);
});

test('selectValues for custom columns', () => {
  assert.deepEqual(selectValues('.spec.containers[*].name', list.items[0]), ['a', 'b']);
  assert.deepEqual(selectValues('{.metadata.name}', list.items[1]), ['web-2']);
});
