import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonLines } from '../../src/client/json-lines.js';
import { matchResource, type DiscoveredResource } from '../../src/client/discovery.js';
import { resourcePath } from '../../src/client/paths.js';
import { ApiError } from '../../src/client/errors.js';

async function* chunks(parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const p of parts) yield p;
}

async function collect(parts: Array<string | Uint8Array>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of parseJsonLines(chunks(parts))) out.push(v);
  return out;
}

test('watch stream lines split anywhere, including inside a UTF-8 character', async () => {
  const text = '{"type":"ADDED","object":{"n":"é€"}}\n\n{"type":"DELETED","object":{"n":2}}\n{"type":"MODIFIED","object":{}}';
  const bytes = Buffer.from(text, 'utf8');
  for (let size = 1; size <= 7; size++) {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
    const events = await collect(parts);
    assert.deepEqual(events, [
      { type: 'ADDED', object: { n: 'é€' } },
      { type: 'DELETED', object: { n: 2 } },
      { type: 'MODIFIED', object: {} },
    ], `chunk size ${size}`);
  }
  await assert.rejects(collect(['{"a":\n']), /malformed JSON line/);
});

const r = (group: string, plural: string, kind: string, shortNames: string[] = [], namespaced = true): DiscoveredResource => ({
  group,
  version: group === '' ? 'v1' : group === 'lodge.dev' ? 'v1alpha1' : 'v1',
  plural,
  kind,
  namespaced,
  singular: kind.toLowerCase(),
  shortNames,
  categories: [],
  verbs: [],
});
const resources = [
  r('', 'pods', 'Pod', ['po']),
  r('', 'namespaces', 'Namespace', ['ns'], false),
  r('', 'events', 'Event', ['ev']),
  r('apps', 'deployments', 'Deployment', ['deploy']),
  r('events.k8s.io', 'events', 'Event', ['ev']),
  r('lodge.dev', 'instances', 'Instance', ['inst']),
];

test('resource names resolve like kubectl', () => {
  const at = (typed: string) => {
    const m = matchResource(resources, typed);
    return m && `${m.group}/${m.plural}`;
  };
  for (const t of ['pods', 'pod', 'po', 'Pod', 'PODS']) assert.equal(at(t), '/pods', t);
  for (const t of ['deployments.apps', 'deploy', 'Deployment', 'deployments.v1.apps', 'deployment.apps']) assert.equal(at(t), 'apps/deployments', t);
  assert.equal(at('events'), '/events', 'core wins over other groups');
  assert.equal(at('events.events.k8s.io'), 'events.k8s.io/events');
  assert.equal(at('instances'), 'lodge.dev/instances');
  assert.equal(at('instances.lodge.dev'), 'lodge.dev/instances');
  assert.equal(at('inst'), 'lodge.dev/instances');
  assert.equal(at('pods.apps'), undefined);
  assert.equal(at('nothing'), undefined);
});

test('paths', () => {
  const pods = resources[0];
  const ns = resources[1];
  const deploy = resources[3];
  assert.equal(resourcePath(pods, { namespace: 'default', name: 'web' }), '/api/v1/namespaces/default/pods/web');
  assert.equal(resourcePath(pods, {}), '/api/v1/pods');
  assert.equal(resourcePath(pods, { namespace: 'a', name: 'x', subresource: 'status' }), '/api/v1/namespaces/a/pods/x/status');
  assert.equal(resourcePath(ns, { namespace: 'ignored', name: 'kube-system' }), '/api/v1/namespaces/kube-system');
  assert.equal(resourcePath(deploy, { namespace: 'd' }), '/apis/apps/v1/namespaces/d/deployments');
  assert.throws(() => resourcePath(pods, { name: '' }), /may not be empty/);
});

test('ApiError from Status bodies and from plain text', () => {
  const e = ApiError.fromResponse(404, JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'pods "x" not found', details: { name: 'x', kind: 'pods' } }), 'GET', '/api/v1/namespaces/default/pods/x');
  assert.equal(e.code, 404);
  assert.equal(e.reason, 'NotFound');
  assert.equal(e.message, 'pods "x" not found');
  assert.deepEqual(e.details, { name: 'x', kind: 'pods' });
  const t = ApiError.fromResponse(502, 'bad gateway', 'GET', '/api');
  assert.equal(t.reason, 'InternalError');
  assert.match(t.message, /bad gateway \(GET \/api\)/);
});
