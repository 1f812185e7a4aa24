// End-to-end: authentication and error answers of a real `lodge up`.
// Every failure must be a Kubernetes Status with the right code and a message
// that names the offending field; nothing may answer 500.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCa, issueLeaf, loadCa } from '../../src/pki/certs.js';
import { api, apiWithCert, requestFailures, shutdown, startLodge, type ApiResult, type Lodge } from './harness.js';
import { apiCaller } from './api-caller.js';

let lodge: Lodge | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-errors-'));

const { L, call } = apiCaller(() => lodge);


const json = (v: unknown): { body: string; contentType: string } => ({ body: JSON.stringify(v), contentType: 'application/json' });

/** Assert a Status with this code; returns it. */
function status(r: ApiResult, code: number, reason?: string): { message: string; reason: string; code: number; details?: any } {
  assert.equal(r.status, code, `expected ${code}, got ${r.status}: ${r.text}`);
  const s = r.json();
  assert.equal(s.kind, 'Status', r.text);
  assert.equal(s.apiVersion, 'v1', r.text);
  assert.equal(s.status, 'Failure', r.text);
  assert.equal(s.code, code, r.text);
  if (reason) assert.equal(s.reason, reason, r.text);
  assert.equal(typeof s.message, 'string');
  return s;
}

const cm = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { a: '1' },
  ...extra,
});

const deployment = (name: string, replicas: unknown): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
});

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

describe('authentication', () => {
  it('answers 401 Status without a token', async () => {
    status(await call('GET', '/api/v1/namespaces', { token: null }), 401, 'Unauthorized');
  });

  it('answers 401 Status for a wrong token', async () => {
    status(await call('GET', '/api/v1/namespaces', { token: 'not-the-token' }), 401, 'Unauthorized');
    status(await call('GET', '/api/v1/namespaces', { token: `${L().token}x` }), 401, 'Unauthorized');
  });

  it('accepts the admin token', async () => {
    const r = await call('GET', '/api/v1/namespaces');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().kind, 'NamespaceList');
  });

  it('accepts the admin client certificate', async () => {
    const certPem = readFileSync(join(dataDir, 'pki', 'admin.crt'), 'utf8');
    const keyPem = readFileSync(join(dataDir, 'pki', 'admin.key'), 'utf8');
    const r = await apiWithCert(L(), 'GET', '/api/v1/namespaces', { certPem, keyPem });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().kind, 'NamespaceList');
  });

  it('rejects a client certificate from another CA with 401', async () => {
    const other = await createCa('not-lodge-ca', 1);
    const leaf = await issueLeaf(await loadCa(other), { subject: { CN: 'admin', O: ['system:masters'] }, days: 1, usage: 'client' });
    const r = await apiWithCert(L(), 'GET', '/api/v1/namespaces', leaf);
    assert.equal(r.status, 401, r.text);
    assert.equal(JSON.parse(r.text).kind, 'Status');
  });

  it('serves /healthz and /version without authentication', async () => {
    const h = await call('GET', '/healthz', { token: null });
    assert.equal(h.status, 200, h.text);
    assert.equal(h.text.trim(), 'ok');
    const v = await call('GET', '/version', { token: null });
    assert.equal(v.status, 200, v.text);
    const ver = v.json();
    assert.equal(typeof ver.gitVersion, 'string');
    assert.ok(ver.major !== undefined && ver.minor !== undefined, v.text);
  });
});

describe('error answers', () => {
  const cms = '/api/v1/namespaces/default/configmaps';
  const deploys = '/apis/apps/v1/namespaces/default/deployments';

  it('malformed JSON → 400', async () => {
    const s = status(await call('POST', cms, { body: '{"apiVersion": "v1", "kind": ', contentType: 'application/json' }), 400, 'BadRequest');
    assert.match(s.message, /JSON/);
  });

  it('malformed YAML → 400', async () => {
    const s = status(await call('POST', cms, { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n  - : :\n', contentType: 'application/yaml' }), 400, 'BadRequest');
    assert.match(s.message, /YAML/);
  });

  it('YAML bodies are accepted when well formed', async () => {
    const r = await call('POST', cms, { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n', contentType: 'application/yaml' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().data.k, 'v');
  });

  it('wrong type → 400 naming spec.replicas', async () => {
    const s = status(await call('POST', deploys, json(deployment('wrong-type', 'three'))), 400, 'BadRequest');
    assert.match(s.message, /spec\.replicas/);
  });

  it('a type error names the value it got', async () => {
    const s = status(await call('POST', deploys, json(deployment('wrong-type-msg', 'three'))), 400);
    assert.doesNotMatch(s.message, /Invalid value: undefined/);
    assert.match(s.message, /three/);
  });

  it('an int32 out of range → 400 naming spec.replicas', async () => {
    const s = status(await call('POST', deploys, json(deployment('too-many', 2147483648))), 400);
    assert.match(s.message, /spec\.replicas/);
  });

  it('unknown field → 400 naming it (Strict is the default)', async () => {
    const s = status(await call('POST', cms, json(cm('unknown-strict', { bogusField: 1 }))), 400, 'BadRequest');
    assert.match(s.message, /bogusField/);
    const nested = status(await call('POST', deploys, json({ ...deployment('unknown-nested', 1), spec: { ...(deployment('x', 1).spec as object), replicaz: 2 } })), 400);
    assert.match(nested.message, /replicaz/);
    const explicit = status(await call('POST', `${cms}?fieldValidation=Strict`, json(cm('unknown-strict2', { bogusField: 1 }))), 400);
    assert.match(explicit.message, /bogusField/);
    assert.equal((await call('GET', `${cms}/unknown-strict`)).status, 404);
  });

  it('fieldValidation=Warn → 201 with a Warning header', async () => {
    const r = await call('POST', `${cms}?fieldValidation=Warn`, json(cm('unknown-warn', { bogusField: 1 })));
    assert.equal(r.status, 201, r.text);
    const warning = String(r.headers.warning ?? '');
    assert.match(warning, /^299 /);
    assert.match(warning, /bogusField/);
    assert.equal(r.json().bogusField, undefined);
  });

  it('fieldValidation=Ignore → 201, field dropped, no warning', async () => {
    const r = await call('POST', `${cms}?fieldValidation=Ignore`, json(cm('unknown-ignore', { bogusField: 1 })));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.warning, undefined);
    assert.equal(r.json().bogusField, undefined);
    const got = (await call('GET', `${cms}/unknown-ignore`)).json();
    assert.equal(got.bogusField, undefined);
    assert.deepEqual(got.data, { a: '1' });
  });

  it('an invalid fieldValidation value → 400', async () => {
    status(await call('POST', `${cms}?fieldValidation=Loose`, json(cm('fv-bad'))), 400);
  });

  it('missing required field (container image) → 422 with causes', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-image' }, spec: { containers: [{ name: 'c' }] } };
    const s = status(await call('POST', '/api/v1/namespaces/default/pods', json(pod)), 422, 'Invalid');
    assert.match(s.message, /spec\.containers\[0\]\.image/);
    assert.ok(Array.isArray(s.details?.causes) && s.details.causes.length > 0, JSON.stringify(s));
    assert.ok(
      s.details.causes.some((c: { field?: string }) => c.field === 'spec.containers[0].image'),
      JSON.stringify(s.details.causes),
    );
    assert.equal(s.details.kind, 'Pod');
    assert.equal(s.details.name, 'no-image');
  });

  it('a body over 3 MiB → 413', async () => {
    const big = JSON.stringify(cm('too-big', { data: { blob: 'x'.repeat(3 * 1024 * 1024 + 16) } }));
    status(await call('POST', cms, { body: big, contentType: 'application/json' }), 413, 'RequestEntityTooLarge');
    // The connection and server are still fine afterwards.
    assert.equal((await call('GET', cms)).status, 200);
  });

  it('a streamed (chunked) body over 3 MiB → 413', async () => {
    const { request } = await import('node:https');
    const r = await new Promise<{ status: number; text: string }>((res, rej) => {
      const req = request(
        new URL(cms, L().url),
        { method: 'POST', ca: L().caPem, agent: false, headers: { authorization: `Bearer ${L().token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (resp) => {
          let text = '';
          resp.setEncoding('utf8');
          resp.on('data', (d: string) => (text += d));
          resp.on('end', () => res({ status: resp.statusCode ?? 0, text }));
        },
      );
      req.on('error', rej);
      req.write(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"too-big-stream"},"data":{"blob":"`);
      const chunk = 'y'.repeat(256 * 1024);
      for (let i = 0; i < 14; i++) req.write(chunk);
      req.end('"}}');
    }).catch((e: Error) => ({ status: -1, text: e.message }));
    // The server may close the connection before reading all of the body; if it answers, it is a 413.
    if (r.status !== -1) {
      assert.equal(r.status, 413, r.text);
      assert.equal(JSON.parse(r.text).reason, 'RequestEntityTooLarge');
    }
    assert.equal((await call('GET', `${cms}/too-big-stream`)).status, 404);
    assert.equal((await call('GET', cms)).status, 200);
  });

  it('a body nested too deeply → 400, not a stack overflow', async () => {
    const depth = 100_000;
    const deepJson = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"bogus":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    status(await call('POST', cms, { body: deepJson, contentType: 'application/json' }), 400, 'BadRequest');
    status(await call('POST', `${cms}?fieldValidation=Ignore`, { body: deepJson, contentType: 'application/json' }), 400, 'BadRequest');
    const deepYaml = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep-yaml}\nbogus: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    status(await call('POST', cms, { body: deepYaml, contentType: 'application/yaml' }), 400, 'BadRequest');
    await call('POST', cms, json(cm('deep-patch')));
    status(await call('PATCH', `${cms}/deep-patch`, { body: `{"metadata":{"annotations":${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}}}`, contentType: 'application/merge-patch+json' }), 400);
    // A merely deep object (managedFields mirror the object's shape) goes through its whole life.
    const fields = `${'{"f:a":'.repeat(200)}{}${'}'.repeat(200)}`;
    const ok = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep-ok","managedFields":[{"manager":"e2e","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":${fields}}]}}`;
    assert.equal((await call('POST', cms, { body: ok, contentType: 'application/json' })).status, 201);
    assert.equal((await call('GET', cms)).status, 200);
    assert.equal((await call('PATCH', `${cms}/deep-ok`, { body: '{"data":{"k":"v"}}', contentType: 'application/merge-patch+json' })).status, 200);
    assert.equal((await call('DELETE', `${cms}/deep-ok`)).status, 200);
  });

  it('a malformed percent-encoding in the path → 400', async () => {
    status(await call('GET', `${cms}/%E0%A4%A`), 400, 'BadRequest');
    status(await call('GET', '/api/v1/namespaces/%ZZ/configmaps'), 400, 'BadRequest');
  });

  it('a resourceVersion the store has not reached → 504 "Too large resource version"', async () => {
    const current = Number((await call('GET', cms)).json().metadata.resourceVersion);
    const future = current + 1_000_000;
    for (const q of [`resourceVersion=${future}&resourceVersionMatch=Exact`, `resourceVersion=${future}&resourceVersionMatch=NotOlderThan`, `resourceVersion=${future}`, `watch=1&resourceVersion=${future}`, `watch=1&labelSelector=a%3Db&resourceVersion=${future}`]) {
      const s = status(await call('GET', `${cms}?${q}`), 504, 'Timeout');
      assert.match(s.message, /Too large resource version/, q);
      assert.equal(s.details?.causes?.[0]?.reason, 'ResourceVersionTooLarge', q);
    }
    // The current revision itself is fine.
    assert.equal((await call('GET', `${cms}?resourceVersion=${current}&resourceVersionMatch=Exact`)).status, 200);
  });

  it('DeleteOptions with wrong types → 400, and nothing is deleted', async () => {
    await call('POST', cms, json(cm('keep-me')));
    for (const body of [{ dryRun: 'All' }, { dryRun: ['Some'] }, { propagationPolicy: 5 }, { propagationPolicy: 'Sideways' }, { preconditions: 'x' }, { preconditions: { uid: 5 } }, { gracePeriodSeconds: 'x' }, { orphanDependents: 'yes' }]) {
      const r = await call('DELETE', `${cms}/keep-me`, json({ kind: 'DeleteOptions', apiVersion: 'v1', ...body }));
      status(r, 400);
    }
    status(await call('DELETE', `${cms}/keep-me?dryRun=Some`), 400);
    assert.equal((await call('GET', `${cms}/keep-me`)).status, 200);
    // A proper dry run in the body leaves it too.
    assert.equal((await call('DELETE', `${cms}/keep-me`, json({ dryRun: ['All'] }))).status, 200);
    assert.equal((await call('GET', `${cms}/keep-me`)).status, 200);
  });

  it('a patch carrying another uid → 409 (a uid precondition, as for PUT)', async () => {
    const obj = (await call('POST', cms, json(cm('uid-pre')))).json();
    const merge = (body: unknown, type = 'application/merge-patch+json'): Promise<ApiResult> => call('PATCH', `${cms}/uid-pre`, { body: JSON.stringify(body), contentType: type });
    status(await merge({ metadata: { uid: '00000000-0000-0000-0000-000000000000' }, data: { a: 'x' } }), 409, 'Conflict');
    status(await merge([{ op: 'replace', path: '/metadata/uid', value: 'abc' }], 'application/json-patch+json'), 409, 'Conflict');
    const same = await merge({ metadata: { uid: obj.metadata.uid }, data: { a: 'y' } });
    assert.equal(same.status, 200, same.text);
    assert.equal((await call('GET', `${cms}/uid-pre`)).json().data.a, 'y');
  });

  it('a bad name (Upper_Case) → 422 naming metadata.name', async () => {
    const s = status(await call('POST', cms, json(cm('Upper_Case'))), 422, 'Invalid');
    assert.match(s.message, /metadata\.name/);
    assert.ok(s.details?.causes?.some((c: { field?: string }) => c.field === 'metadata.name'), JSON.stringify(s));
  });

  it('unknown resource → 404', async () => {
    status(await call('GET', '/api/v1/namespaces/default/widgets'), 404, 'NotFound');
    status(await call('GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
    status(await call('POST', '/api/v1/namespaces/default/widgets', json(cm('w'))), 404, 'NotFound');
  });

  it('unknown object → 404 naming it', async () => {
    const s = status(await call('GET', `${cms}/does-not-exist`), 404, 'NotFound');
    assert.match(s.message, /does-not-exist/);
  });

  it('kind in the body does not match the URL → 400', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mismatch' }, stringData: { a: 'b' } };
    status(await call('POST', cms, json(secret)), 400, 'BadRequest');
    status(await call('POST', cms, json({ ...cm('mismatch2'), apiVersion: 'apps/v1' })), 400, 'BadRequest');
  });

  it('create in a missing namespace → 404', async () => {
    const s = status(await call('POST', '/api/v1/namespaces/no-such-ns/configmaps', json(cm('orphan'))), 404, 'NotFound');
    assert.match(s.message, /no-such-ns/);
  });

  it('create in a terminating namespace → 403', async () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'closing', finalizers: ['e2e.lodge.dev/hold'] } };
    assert.equal((await call('POST', '/api/v1/namespaces', json(ns))).status, 201);
    const del = await call('DELETE', '/api/v1/namespaces/closing');
    assert.ok(del.status === 200 || del.status === 202, del.text);
    const s = status(await call('POST', '/api/v1/namespaces/closing/configmaps', json(cm('late'))), 403, 'Forbidden');
    assert.match(s.message, /closing/);
    // Let it go: drop our finalizer.
    const p = await call('PATCH', '/api/v1/namespaces/closing', { body: JSON.stringify({ metadata: { finalizers: null } }), contentType: 'application/merge-patch+json' });
    assert.ok(p.status === 200, p.text);
  });

  it('duplicate create → 409 AlreadyExists', async () => {
    assert.equal((await call('POST', cms, json(cm('dup')))).status, 201);
    const s = status(await call('POST', cms, json(cm('dup'))), 409, 'AlreadyExists');
    assert.match(s.message, /dup/);
  });

  it('update with a stale resourceVersion → 409 Conflict', async () => {
    const created = (await call('POST', cms, json(cm('stale')))).json();
    const rv0 = created.metadata.resourceVersion;
    const first = await call('PUT', `${cms}/stale`, json({ ...created, data: { a: '2' } }));
    assert.equal(first.status, 200, first.text);
    assert.notEqual(first.json().metadata.resourceVersion, rv0);
    const s = status(await call('PUT', `${cms}/stale`, json({ ...created, metadata: { ...created.metadata, resourceVersion: rv0 }, data: { a: '3' } })), 409, 'Conflict');
    assert.match(s.message, /modified/);
    assert.equal((await call('GET', `${cms}/stale`)).json().data.a, '2');
  });

  it('unsupported patch content type → 415', async () => {
    await call('POST', cms, json(cm('patchme')));
    status(await call('PATCH', `${cms}/patchme`, { body: '{"data":{"a":"9"}}', contentType: 'text/plain' }), 415, 'UnsupportedMediaType');
    status(await call('PATCH', `${cms}/patchme`, { body: '{"data":{"a":"9"}}', contentType: 'application/json' }), 415, 'UnsupportedMediaType');
    assert.equal((await call('GET', `${cms}/patchme`)).json().data.a, '1');
  });

  it('strategic merge patch on a lodge.dev Instance → 415', async () => {
    const inst = { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'box' }, spec: { type: 'container', image: 'busybox' } };
    const c = await call('POST', '/apis/lodge.dev/v1alpha1/namespaces/default/instances', json(inst));
    assert.equal(c.status, 201, c.text);
    const s = status(
      await call('PATCH', '/apis/lodge.dev/v1alpha1/namespaces/default/instances/box', {
        body: '{"metadata":{"labels":{"a":"b"}}}',
        contentType: 'application/strategic-merge-patch+json',
      }),
      415,
      'UnsupportedMediaType',
    );
    assert.match(s.message, /merge/);
    // A JSON merge patch works.
    const m = await call('PATCH', '/apis/lodge.dev/v1alpha1/namespaces/default/instances/box', {
      body: '{"metadata":{"labels":{"a":"b"}}}',
      contentType: 'application/merge-patch+json',
    });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json().metadata.labels.a, 'b');
  });

  it('malformed patch bodies → 400, patches on missing objects → 404', async () => {
    status(await call('PATCH', `${cms}/patchme`, { body: '{not json', contentType: 'application/merge-patch+json' }), 400);
    status(await call('PATCH', `${cms}/patchme`, { body: '[{"op":"frobnicate","path":"/data/a"}]', contentType: 'application/json-patch+json' }), 400);
    status(await call('PATCH', `${cms}/never-made`, { body: '{"data":{"a":"1"}}', contentType: 'application/merge-patch+json' }), 404, 'NotFound');
  });

  it('bad query parameters → 400', async () => {
    status(await call('GET', `${cms}?limit=abc`), 400);
    status(await call('GET', `${cms}?labelSelector=${encodeURIComponent('a in (b')}`), 400);
    status(await call('GET', `${cms}?fieldSelector=${encodeURIComponent('spec.nope=1')}`), 400);
    status(await call('GET', `${cms}?continue=garbage-token`), 400);
    status(await call('GET', `${cms}?watch=1&resourceVersion=abc`), 400);
  });

  it('no request answered 500 (no "request failed" in the log)', () => {
    assert.deepEqual(requestFailures(L()), []);
  });
});
