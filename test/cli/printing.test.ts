import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLines, tableGrid, StreamingTable, type Table } from '../../src/cli/print/table.js';
import { formatObjects, kindLabel, parseOutputFormat, objectName } from '../../src/cli/print/objects.js';
import { describeObject } from '../../src/cli/print/describe.js';
import { parseDuration } from '../../src/cli/duration.js';
import { parseTypeArgs } from '../../src/cli/targets.js';
import { formatError } from '../../src/cli/errors.js';
import { ApiError } from '../../src/client/errors.js';
import type { KubeObject } from '../../src/apis/types.js';

const table: Table = {
  kind: 'Table',
  columnDefinitions: [
    { name: 'Name', type: 'string', priority: 0 },
    { name: 'Ready', type: 'string', priority: 0 },
    { name: 'Status', type: 'string', priority: 0 },
    { name: 'IP', type: 'string', priority: 1 },
    { name: 'Age', type: 'string', priority: 0 },
  ],
  rows: [
    { cells: ['web-1', '1/1', 'Running', '10.0.0.5', '5m'], object: { metadata: { name: 'web-1', namespace: 'default', labels: { b: '2', a: '1' } } } },
    { cells: ['database-primary', '0/1', 'Pending', null, '12s'], object: { metadata: { name: 'database-primary', namespace: 'prod' } } },
  ],
};

const view = { wide: false, withNamespace: false, showLabels: false };

test('tables: uppercase headers, three-space gutters, no trailing spaces, wide columns hidden', () => {
  const g = tableGrid(table.columnDefinitions, table.rows, view);
  assert.equal(
    renderLines([g.header, ...g.rows]),
    ['NAME               READY   STATUS    AGE', 'web-1              1/1     Running   5m', 'database-primary   0/1     Pending   12s', ''].join('\n'),
  );
});

test('tables: -o wide, -A and --show-labels', () => {
  const g = tableGrid(table.columnDefinitions, table.rows, { wide: true, withNamespace: true, showLabels: true });
  assert.deepEqual(g.header, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'IP', 'AGE', 'LABELS']);
  assert.deepEqual(g.rows[0], ['default', 'web-1', '1/1', 'Running', '10.0.0.5', '5m', 'a=1,b=2']);
  assert.deepEqual(g.rows[1], ['prod', 'database-primary', '0/1', 'Pending', '', '12s', '<none>']);
});

test('tables: kind prefix for several types, event column for watches', () => {
  const g = tableGrid(table.columnDefinitions, table.rows.slice(0, 1), { ...view, namePrefix: 'pod/', withEventType: true }, ['ADDED']);
  assert.deepEqual(g.header, ['EVENT', 'NAME', 'READY', 'STATUS', 'AGE']);
  assert.deepEqual(g.rows[0], ['ADDED', 'pod/web-1', '1/1', 'Running', '5m']);
});

test('streaming tables print the header once and keep widths', () => {
  const w = new StreamingTable();
  const a = w.write(['NAME', 'AGE'], [['x', '1s']]);
  const b = w.write(['NAME', 'AGE'], [['y', '2s']]);
  assert.equal(a, 'NAME   AGE\nx      1s\n');
  assert.equal(b, 'y      2s\n');
});

test('output formats', () => {
  assert.deepEqual(parseOutputFormat(undefined), { kind: 'table', wide: false });
  assert.deepEqual(parseOutputFormat('wide'), { kind: 'table', wide: true });
  assert.deepEqual(parseOutputFormat('jsonpath={.a}'), { kind: 'jsonpath', template: '{.a}' });
  assert.deepEqual(parseOutputFormat('custom-columns=N:.metadata.name,P:.status.phase'), {
    kind: 'custom-columns',
    columns: [
      { header: 'N', path: '.metadata.name' },
      { header: 'P', path: '.status.phase' },
    ],
  });
  assert.throws(() => parseOutputFormat('xml'), /unable to match a printer/);

  const objs: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, status: { phase: 'Running' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'b' } },
  ];
  assert.equal(formatObjects(objs, { kind: 'name' }, false), 'pod/a\ndeployment.apps/b\n');
  assert.equal(formatObjects(objs.slice(0, 1), { kind: 'json' }, true), JSON.stringify(objs[0], null, 4) + '\n');
  assert.match(formatObjects(objs, { kind: 'yaml' }, false), /^apiVersion: v1\nkind: List\n[^]*\nitems:\n- apiVersion: v1\n {2}kind: Pod\n/);
  assert.equal(formatObjects(objs, { kind: 'jsonpath', template: '{.items[*].metadata.name}' }, false), 'a b');
  assert.equal(formatObjects(objs, parseOutputFormat('custom-columns=NAME:.metadata.name,PHASE:.status.phase') as never, false), 'NAME   PHASE\na      Running\nb      <none>\n');
  assert.equal(kindLabel('Instance', 'lodge.dev'), 'instance.lodge.dev');
  assert.equal(objectName(objs[1]), 'deployment.apps/b');
});

test('describe: aligned metadata, fallback spec/status, events', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const obj: KubeObject = {
    apiVersion: 'lodge.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name: 'vm1', namespace: 'default', labels: { app: 'db', tier: 'back' }, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { type: 'vm', cpu: 2 },
  };
  const text = describeObject(
    obj,
    undefined,
    [{ type: 'Normal', reason: 'Started', message: 'started qemu', count: 3, firstTimestamp: '2026-01-01T00:01:00Z', lastTimestamp: '2026-01-01T00:09:00Z', source: { component: 'lodge-agent' } }],
    now,
  );
  assert.equal(
    text,
    [
      'Name:         vm1',
      'Namespace:    default',
      'Labels:       app=db',
      '              tier=back',
      'Annotations:  <none>',
      'Created:      Thu, 01 Jan 2026 00:00:00 GMT (10m ago)',
      'Spec:',
      '  type: vm',
      '  cpu: 2',
      'Events:',
      '  Type    Reason   Age               From         Message',
      '  ----    ------   ----              ----         -------',
      '  Normal  Started  60s (x3 over 9m)  lodge-agent  started qemu',
      '',
    ].join('\n'),
  );
  assert.match(describeObject(obj, ['Type:  vm'], [], now), /Created:.*\nType:  vm\nEvents:  <none>\n$/);
});

test('durations, type arguments and error text', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('5 minutes'), /invalid duration/);

  assert.deepEqual(parseTypeArgs(['pods', 'a', 'b']), [{ typed: 'pods', names: ['a', 'b'] }]);
  assert.deepEqual(parseTypeArgs(['pods,svc']), [
    { typed: 'pods', names: [] },
    { typed: 'svc', names: [] },
  ]);
  assert.deepEqual(parseTypeArgs(['pod/a', 'svc/b', 'pod/c']), [
    { typed: 'pod', names: ['a', 'c'] },
    { typed: 'svc', names: ['b'] },
  ]);
  assert.throws(() => parseTypeArgs(['pod/a', 'b']), /resource\/name form/);

  assert.equal(formatError(new ApiError(404, 'NotFound', 'pods "x" not found')), 'Error from server (NotFound): pods "x" not found');
  assert.equal(formatError(new Error('boom')), 'error: boom');
});
