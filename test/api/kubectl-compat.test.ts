// Real kubectl (every version installed, 1.27-1.33) against a throwaway HTTP
// server that answers only from discovery.ts, openapi.ts, table.ts and
// selectors.ts, with a tiny in-memory pod list. It proves the documents are
// accepted as kubectl actually reads them: aggregated discovery without falling
// back to per-group requests, server-side printing, explain through
// /openapi/v3, and server-side field validation being detected.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aggregatedDiscovery, apiGroupList, apiResourceList, apiVersions, discoveryContentType, negotiateDiscovery, versionInfo } from '../../src/api/discovery.js';
import { OPENAPI_V2_PROTOBUF, buildOpenAPI, negotiateOpenAPIV2 } from '../../src/api/openapi.js';
import { SelectorError, parseFieldSelector, parseLabelSelector } from '../../src/api/selectors.js';
import { negotiateTable, toPartialObjectMetadataList, toTable, type IncludeObject } from '../../src/api/table.js';
import type { KubeObject } from '../../src/apis/types.js';
import { pod, podObject, testRegistry } from './fixtures.js';

const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
const versions = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'].filter((v) => existsSync(join(KUBECTL_DIR, `kubectl.${v}`)));

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  accept: string;
}

const reg = testRegistry();
const openapi = buildOpenAPI(reg);
const pods: KubeObject[] = [
  podObject('web-1', { labels: { app: 'web' }, phase: 'Running', nodeName: 'n1', created: new Date(Date.now() - 120_000).toISOString() }),
  podObject('db-1', { labels: { app: 'db' }, phase: 'Pending', created: new Date(Date.now() - 120_000).toISOString() }),
];
let seen: Seen[] = [];
const patches: Array<{ contentType: string; body: Record<string, unknown>; query: URLSearchParams }> = [];

function send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(code, { 'Content-Type': contentType });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname.replace(/\/$/, '') || '/';
  const accept = req.headers.accept ?? '';
  seen.push({ method: req.method ?? 'GET', path, query: url.searchParams, accept });
  if (process.env.COMPAT_DEBUG) process.stderr.write(`req ${req.method} ${req.url} accept=${accept}\n`);
  if (path === '/version') return send(res, 200, versionInfo());
  if (path === '/api' || path === '/apis') {
    const format = negotiateDiscovery(accept);
    const doc = format === 'legacy' ? (path === '/api' ? apiVersions(reg) : apiGroupList(reg)) : aggregatedDiscovery(reg, path === '/api' ? 'api' : 'apis', format);
    return send(res, 200, doc, discoveryContentType(format));
  }
  const gv = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (gv) {
    const list = gv[1] ? apiResourceList(reg, '', 'v1') : apiResourceList(reg, gv[2] as string, gv[3] as string);
    return list ? send(res, 200, list) : status(res, 404, 'NotFound', 'not found');
  }
  if (path === '/openapi/v2') {
    const enc = negotiateOpenAPIV2(accept);
    if (enc === 'protobuf') {
      res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF });
      return void res.end(openapi.v2Protobuf);
    }
    return enc ? send(res, 200, openapi.v2.json) : status(res, 406, 'NotAcceptable', 'not acceptable');
  }
  if (path === '/openapi/v3') return send(res, 200, openapi.v3Index.json);
  if (path.startsWith('/openapi/v3/')) {
    const d = openapi.v3.get(path.slice('/openapi/v3/'.length));
    return d ? send(res, 200, d.json) : status(res, 404, 'NotFound', 'not found');
  }
  const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods(?:\/([^/]+))?$/.exec(path);
  if (m && req.method === 'GET') {
    let items = pods.filter((p) => !m[1] || p.metadata.namespace === m[1]);
    try {
      const ls = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
      const fs = parseFieldSelector(url.searchParams.get('fieldSelector') ?? '', pod);
      items = items.filter((p) => ls(p.metadata.labels) && fs(p) && (!m[2] || p.metadata.name === m[2]));
    } catch (e) {
      if (e instanceof SelectorError) return status(res, 400, 'BadRequest', e.message);
      throw e;
    }
    if (m[2] && !items.length) return status(res, 404, 'NotFound', `pods "${m[2]}" not found`);
    const fmt = negotiateTable(accept);
    const includeObject = (url.searchParams.get('includeObject') ?? 'Metadata') as IncludeObject;
    if (fmt.as === 'Table') return send(res, 200, toTable(pod, items, { includeObject, listMeta: { resourceVersion: '10' }, version: fmt.version }));
    if (fmt.as === 'PartialObjectMetadataList') return send(res, 200, toPartialObjectMetadataList(items, { resourceVersion: '10' }, fmt.version));
    if (m[2]) return send(res, 200, items[0]);
    return send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '10' }, items });
  }
  if (m && req.method === 'POST') {
    const obj = JSON.parse(body) as KubeObject;
    obj.metadata = { ...obj.metadata, namespace: m[1] ?? 'default', uid: 'u-new', resourceVersion: '11', creationTimestamp: new Date().toISOString() };
    if (url.searchParams.get('dryRun') !== 'All' && obj.metadata.name?.startsWith('applied-')) pods.push(obj);
    return send(res, 201, obj);
  }
  if (m && m[2] && req.method === 'PATCH') {
    patches.push({ contentType: req.headers['content-type'] ?? '', body: JSON.parse(body) as Record<string, unknown>, query: url.searchParams });
    const found = pods.find((p) => p.metadata.name === m[2]);
    return found ? send(res, 200, found) : status(res, 404, 'NotFound', `pods "${m[2]}" not found`);
  }
  // Everything else Lodge serves for real (deployments, instances, nodes) is empty here.
  const other = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/(?:namespaces\/[^/]+\/)?([^/]+)$/.exec(path);
  if (other && req.method === 'GET') {
    const rt = reg.kinds.find((k) => k.plural === other[1]);
    if (rt && negotiateTable(accept).as === 'Table') return send(res, 200, toTable(rt, [], { listMeta: { resourceVersion: '10' } }));
    if (rt) return send(res, 200, { kind: `${rt.kind}List`, apiVersion: 'v1', metadata: { resourceVersion: '10' }, items: [] });
  }
  status(res, 404, 'NotFound', `${req.method} ${path} not served by the test server`);
}

let server: Server;
let dir: string;
let kubeconfig: string;

function kubectl(version: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(KUBECTL_DIR, `kubectl.${version}`),
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, `cache-${version}`)}`, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('kubectl against Lodge discovery, OpenAPI and tables', { skip: versions.length === 0 ? 'no kubectl binaries' : false }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lodge-kubectl-compat-'));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => handle(req, res, body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: t, user: {}}]\ncontexts: [{name: t, context: {cluster: t, user: t, namespace: default}}]\ncurrent-context: t\n`,
    );
    writeFileSync(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: new-pod\nspec:\n  containers:\n  - name: c\n    image: busybox\n');
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const v of versions) {
    describe(`kubectl ${v}`, () => {
      it('reads the server version', async () => {
        const r = await kubectl(v, ['version', '-o', 'json']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).serverVersion.gitVersion, 'v1.33.0-lodge');
      });

      it('discovers resources from the aggregated documents alone', async () => {
        seen = [];
        const r = await kubectl(v, ['api-resources']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^pods\s+po\s+v1\s+true\s+Pod$/m);
        assert.match(r.stdout, /^nodes\s+no\s+v1\s+false\s+Node$/m);
        assert.match(r.stdout, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
        assert.match(r.stdout, /^instances\s+inst\s+lodge\.dev\/v1alpha1\s+true\s+Instance$/m);
        const fetched = seen.map((s) => s.path);
        assert.ok(fetched.includes('/api') && fetched.includes('/apis'), fetched.join(' '));
        assert.deepEqual(fetched.filter((p) => /^\/api\/v1$|^\/apis\/.+/.test(p)), [], 'no legacy per-group fallback');
      });

      it('prints server-side tables', async () => {
        const r = await kubectl(v, ['get', 'pods']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^NAME\s+STATUS\s+RESTARTS\s+AGE$/m);
        assert.match(r.stdout, /^web-1\s+Running\s+0\s+2m/m);
        const wide = await kubectl(v, ['get', 'po', '-o', 'wide', '-l', 'app=web', '--show-kind']);
        assert.equal(wide.code, 0, wide.stderr);
        assert.match(wide.stdout, /^NAME\s+STATUS\s+RESTARTS\s+AGE\s+NODE$/m);
        assert.match(wide.stdout, /^pod\/web-1\s+Running\s+0\s+2m\d*s?\s+n1$/m);
        assert.doesNotMatch(wide.stdout, /db-1/);
        const all = await kubectl(v, ['get', 'all']);
        assert.equal(all.code, 0, all.stderr);
        assert.match(all.stdout, /pod\/web-1/);
      });

      it('reports bad selectors from the server', async () => {
        const r = await kubectl(v, ['get', 'pods', '--field-selector', 'spec.bogus=x']);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /field label not supported: spec\.bogus/);
      });

      // 1.27 and 1.28 load /openapi/v2 (protobuf only) before explain, create and apply
      // even though they then use v3; later versions never touch v2 here.
      const needsV2 = Number(v.split('.')[1]) < 29;

      it('explains kinds and fields through /openapi/v3', async () => {
        seen = [];
        const r = await kubectl(v, ['explain', 'pods.spec.containers']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /KIND:\s+Pod/);
        assert.match(r.stdout, /FIELD:\s+containers <\[\]Container>/);
        assert.match(r.stdout, /Containers in the pod\./);
        assert.match(r.stdout, /A single application container\./);
        assert.match(r.stdout, /port\s+<IntOrString>/);
        assert.match(r.stdout, /memory\s+<Quantity>/);
        assert.match(r.stdout, /name\s+<string> -required-/);
        if (!needsV2) assert.ok(!seen.some((s) => s.path === '/openapi/v2'), 'explain did not need v2');
        const inst = await kubectl(v, ['explain', 'instances']);
        assert.equal(inst.code, 0, inst.stderr);
        assert.match(inst.stdout, /GROUP:\s+lodge\.dev/);
        assert.match(inst.stdout, /DESCRIPTION:\n\s+Instance is a lodge\.dev\/v1alpha1/);
      });

      it('explains from the /openapi/v2 protobuf', async () => {
        const r = await kubectl(v, ['explain', 'pods.spec.containers', '--output', 'plaintext-openapiv2']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /RESOURCE:\s+containers <\[\]Object>/);
        assert.match(r.stdout, /Containers in the pod\./);
        assert.match(r.stdout, /port\s+<string>/);
        assert.match(r.stdout, /name\s+<string> -required-/);
        const inst = await kubectl(v, ['explain', 'instances.spec', '--output', 'plaintext-openapiv2']);
        assert.equal(inst.code, 0, inst.stderr);
        assert.match(inst.stdout, /type\s+<string>/);
      });

      it('applies client-side with a strategic merge patch', async () => {
        const file = join(dir, `applied-${v}.yaml`);
        const manifest = (image: string): string =>
          `apiVersion: v1\nkind: Pod\nmetadata:\n  name: applied-${v.replace('.', '-')}\nspec:\n  containers:\n  - name: c\n    image: ${image}\n  - name: d\n    image: busybox\n`;
        writeFileSync(file, manifest('busybox'));
        const first = await kubectl(v, ['apply', '-f', file]);
        assert.equal(first.code, 0, first.stderr);
        writeFileSync(file, manifest('nginx'));
        patches.length = 0;
        const second = await kubectl(v, ['apply', '-f', file]);
        assert.equal(second.code, 0, second.stderr);
        assert.doesNotMatch(second.stderr, /warning/i);
        assert.equal(patches.length, 1);
        assert.equal(patches[0]?.contentType, 'application/strategic-merge-patch+json');
        assert.equal(patches[0]?.query.get('fieldValidation'), 'Strict');
        // Merge-keyed list patch: only the changed container, addressed by name.
        const spec = patches[0]?.body.spec as { containers: Array<Record<string, string>> };
        assert.deepEqual(spec.containers, [{ image: 'nginx', name: 'c' }]);
      });

      it('detects server-side field validation', async () => {
        seen = [];
        const r = await kubectl(v, ['create', '-f', join(dir, 'pod.yaml')]);
        assert.equal(r.code, 0, r.stderr);
        const post = seen.find((s) => s.method === 'POST');
        assert.equal(post?.query.get('fieldValidation'), 'Strict', 'kubectl found fieldValidation in the v3 PATCH operation');
        if (!needsV2) assert.ok(!seen.some((s) => s.path === '/openapi/v2'), 'no fallback to client-side validation');
      });
    });
  }
});
