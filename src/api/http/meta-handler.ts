// Everything that is not a resource: health, version, discovery and OpenAPI.
// Returns false when the path is none of these.
import type { Registry } from '../../apis/registry.js';
import type { ResourceType } from '../../apis/types.js';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, discoveryContentType, negotiateDiscovery, versionInfo, type DiscoveryOptions, type SubresourceInfo } from '../discovery.js';
import { ApiError } from '../status.js';
import type { ApiRequest } from './body.js';
import { serveOpenApi } from './openapi-handler.js';
import { sendJson, sendRaw, type ApiResponse } from './respond.js';

const HEALTH = new Set(['/healthz', '/livez', '/readyz']);

export const discoveryOptions: DiscoveryOptions = {
  subresources(rt: ResourceType): SubresourceInfo[] {
    const subs: SubresourceInfo[] = rt.statusSubresource ? [{ name: 'status', verbs: ['get', 'patch', 'update'] }] : [];
    if (rt.kind === 'Namespace' && rt.group === '') subs.push({ name: 'finalize', verbs: ['update'] });
    if (rt.kind === 'Instance' && rt.group === 'lodge.dev') subs.push({ name: 'exec', kind: { group: 'lodge.dev', version: rt.version, kind: 'InstanceExecOptions' }, verbs: ['create', 'get'] });
    // The console (WebSocket, the exec channel protocol) and the console log (text/plain), as pods/log.
    if (rt.kind === 'Instance' && rt.group === 'lodge.dev') subs.push({ name: 'console', kind: { group: 'lodge.dev', version: rt.version, kind: 'InstanceConsoleOptions' }, verbs: ['get'] }, { name: 'log', kind: { group: 'lodge.dev', version: rt.version, kind: 'Instance' }, verbs: ['get'] }, { name: 'export', kind: { group: 'lodge.dev', version: rt.version, kind: 'Instance' }, verbs: ['get'] }, { name: 'import', kind: { group: 'lodge.dev', version: rt.version, kind: 'Instance' }, verbs: ['create'] });
    if (rt.kind === 'Pod' && rt.group === '') subs.push({ name: 'attach', kind: { group: '', version: 'v1', kind: 'PodAttachOptions' }, verbs: ['create', 'get'] }, { name: 'exec', kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] }, { name: 'log', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] });
    // Port-forward (SPDY/3.1 or WebSocket upgrades), as the apiserver lists them.
    if (rt.kind === 'Pod' && rt.group === '') subs.push({ name: 'portforward', kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' }, verbs: ['create', 'get'] });
    if (rt.kind === 'Instance' && rt.group === 'lodge.dev') subs.push({ name: 'portforward', kind: { group: 'lodge.dev', version: rt.version, kind: 'InstancePortForwardOptions' }, verbs: ['create', 'get'] });
    // Where a scheduler places a workload (a Binding names the node).
    if ((rt.kind === 'Pod' && rt.group === '') || (rt.kind === 'Instance' && rt.group === 'lodge.dev')) subs.push({ name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] });
    // kubectl drain evicts through it.
    if (rt.kind === 'Pod' && rt.group === '') subs.push({ name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
    if (rt.scale) subs.push({ name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
    return subs;
  },
};

export async function handleMeta(req: ApiRequest, res: ApiResponse, url: URL, registry: Registry): Promise<boolean> {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (HEALTH.has(path)) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('ok');
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/version') {
    sendJson(res, 200, versionInfo());
    return true;
  }
  if (path.startsWith('/openapi/')) return serveOpenApi(req, res, path, registry);
  if (path === '/api' || path === '/apis') {
    const format = negotiateDiscovery(String(req.headers.accept ?? ''));
    const root = path === '/api' ? 'api' : 'apis';
    const body = format === 'legacy' ? (root === 'api' ? apiVersions(registry) : apiGroupList(registry)) : aggregatedDiscovery(registry, root, format, discoveryOptions);
    sendRaw(res, 200, JSON.stringify(body), { 'content-type': discoveryContentType(format), vary: 'Accept' });
    return true;
  }
  const m = /^\/(?:api\/(v[^/]+)|apis\/([^/]+)(?:\/([^/]+))?)$/.exec(path);
  if (!m) return false;
  if (m[1] || m[3]) {
    const group = m[1] ? '' : m[2];
    const version = m[1] ?? m[3];
    const list = apiResourceList(registry, group, version, discoveryOptions);
    if (!list) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (group version ${group ? `${group}/` : ''}${version})`);
    sendJson(res, 200, list);
    return true;
  }
  const group = apiGroup(registry, m[2]);
  if (!group) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (group ${m[2]})`);
  sendJson(res, 200, group);
  return true;
}
