import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  columnDefinitions,
  negotiateTable,
  parseAccept,
  toPartialObjectMetadata,
  toPartialObjectMetadataList,
  toTable,
} from '../../src/api/table.js';
import { pod, podObject } from './fixtures.js';

const KUBECTL_GET = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('Accept parsing', () => {
  it('orders by q, then concrete before wildcard, then client order', () => {
    const c = parseAccept('*/*;q=0.5, application/*, application/json;as=Table, text/plain;q=0');
    assert.deepEqual(
      c.map((x) => `${x.type}/${x.subtype}`),
      ['application/json', 'application/*', '*/*'],
    );
    assert.deepEqual(c[0]?.params, { as: 'Table' });
    assert.deepEqual(parseAccept(undefined), []);
    assert.deepEqual(parseAccept('*').map((x) => x.subtype), ['*']);
  });
});

describe('negotiateTable', () => {
  it('recognises kubectl get', () => {
    assert.deepEqual(negotiateTable(KUBECTL_GET), { as: 'Table', version: 'v1', mediaType: 'application/json', matched: true });
  });

  it('falls through to v1beta1 and plain JSON in the client order', () => {
    assert.equal(negotiateTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json').version, 'v1beta1');
    assert.equal(negotiateTable('application/json;as=Table;v=v2;g=meta.k8s.io,application/json').as, undefined);
    assert.equal(negotiateTable('application/json;as=Pod;v=v1;g=,application/json').as, undefined);
  });

  it('recognises metadata-only requests and skips protobuf', () => {
    const informer = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
    assert.deepEqual(negotiateTable(informer), { as: 'PartialObjectMetadataList', version: 'v1', mediaType: 'application/json', matched: true });
    assert.equal(negotiateTable('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1').as, 'PartialObjectMetadata');
  });

  it('answers plain JSON for no header, wildcards and yaml', () => {
    assert.deepEqual(negotiateTable(undefined), { version: 'v1', mediaType: 'application/json', matched: true });
    assert.equal(negotiateTable('*/*').mediaType, 'application/json');
    assert.equal(negotiateTable('application/yaml').mediaType, 'application/yaml');
    assert.equal(negotiateTable('application/vnd.kubernetes.protobuf').matched, false);
  });
});

describe('toTable', () => {
  const now = Date.parse('2024-01-01T00:05:00Z');
  const a = podObject('a', { phase: 'Running', nodeName: 'n1' });
  const b = podObject('b');

  it('puts Name first with format name, then the kind columns with priority', () => {
    const cols = columnDefinitions(pod);
    assert.deepEqual(
      cols.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Status', 'string', '', 0],
        ['Restarts', 'integer', '', 0],
        ['Age', 'string', '', 0],
        ['Node', 'string', '', 1],
      ],
    );
    assert.ok(cols.every((c) => typeof c.description === 'string' && c.description.length > 0));
  });

  it('renders rows with cells and the requested object', () => {
    const t = toTable(pod, [a, b], { includeObject: 'Object', listMeta: { resourceVersion: '42', continue: 'tok', remainingItemCount: 3 }, now });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.metadata, { resourceVersion: '42', continue: 'tok', remainingItemCount: 3 });
    assert.deepEqual(t.rows[0]?.cells, ['a', 'Running', 0, '5m', 'n1']);
    assert.deepEqual(t.rows[1]?.cells, ['b', 'Pending', 0, '5m', null]);
    assert.equal(t.rows[0]?.object, a);
  });

  it('carries PartialObjectMetadata rows by default and nothing for None', () => {
    const meta = toTable(pod, [a], { now, version: 'v1beta1' });
    assert.equal(meta.apiVersion, 'meta.k8s.io/v1beta1');
    assert.deepEqual(meta.rows[0]?.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1beta1', metadata: a.metadata });
    const none = toTable(pod, [a], { includeObject: 'None', now });
    assert.equal('object' in (none.rows[0] ?? {}), false);
    assert.deepEqual(none.metadata, {});
  });

  it('omits column definitions for later watch events', () => {
    assert.deepEqual(toTable(pod, [a], { omitColumns: true, now }).columnDefinitions, []);
  });
});

describe('PartialObjectMetadata', () => {
  const a = podObject('a', { labels: { app: 'x' } });
  it('keeps only metadata', () => {
    assert.deepEqual(toPartialObjectMetadata(a), { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: a.metadata });
  });
  it('builds lists with list metadata', () => {
    const l = toPartialObjectMetadataList([a], { resourceVersion: '9' }) as { kind: string; metadata: object; items: Array<{ kind: string }> };
    assert.equal(l.kind, 'PartialObjectMetadataList');
    assert.deepEqual(l.metadata, { resourceVersion: '9' });
    assert.equal(l.items[0]?.kind, 'PartialObjectMetadata');
  });
});
