// /openapi/v2 (JSON or gnostic protobuf) and /openapi/v3 (index and one
// document per group-version), built once per registry and served with
// ETags, as kubectl and client libraries cache them.
import type { Registry } from '../../apis/registry.js';
import { OPENAPI_V2_PROTOBUF, buildOpenAPI, negotiateOpenAPIV2, type OpenAPIBundle } from '../openapi.js';
import { ApiError, notAcceptable } from '../status.js';
import type { ApiRequest } from './body.js';
import type { ApiResponse } from './respond.js';

const bundles = new WeakMap<Registry, OpenAPIBundle>();

function bundle(registry: Registry): OpenAPIBundle {
  let b = bundles.get(registry);
  if (!b) bundles.set(registry, (b = buildOpenAPI(registry)));
  return b;
}

function send(req: ApiRequest, res: ApiResponse, body: string | Buffer, type: string, hash: string, extra: Record<string, string> = {}): void {
  const etag = `"${hash}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag, ...extra });
    res.end();
    return;
  }
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(200, { 'content-type': type, 'content-length': String(buf.length), etag, vary: 'Accept', ...extra });
  if (req.method === 'HEAD') res.end();
  else res.end(buf);
}

export function serveOpenApi(req: ApiRequest, res: ApiResponse, path: string, registry: Registry): boolean {
  const b = bundle(registry);
  if (path === '/openapi/v2') {
    const format = negotiateOpenAPIV2(String(req.headers.accept ?? ''));
    if (!format) throw notAcceptable('/openapi/v2 is served as application/json or as protobuf');
    if (format === 'protobuf') send(req, res, b.v2Protobuf, OPENAPI_V2_PROTOBUF, b.v2.hash);
    else send(req, res, b.v2.json, 'application/json', b.v2.hash);
    return true;
  }
  if (path === '/openapi/v3') {
    send(req, res, b.v3Index.json, 'application/json', b.v3Index.hash);
    return true;
  }
  const key = path.slice('/openapi/v3/'.length);
  const doc = b.v3.get(key);
  if (!path.startsWith('/openapi/v3/') || !doc) throw new ApiError(404, 'NotFound', `no OpenAPI document at ${path}`);
  const asked = new URL(req.url ?? '/', 'https://x').searchParams.get('hash');
  if (asked && asked !== doc.hash) {
    res.writeHead(301, { location: `/openapi/v3/${key}?hash=${doc.hash}` });
    res.end();
    return true;
  }
  send(req, res, doc.json, 'application/json', doc.hash, asked ? { 'cache-control': 'public, immutable', expires: new Date(Date.now() + 365 * 864e5).toUTCString() } : {});
  return true;
}
