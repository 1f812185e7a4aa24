// The API server: HTTPS (HTTP/2 with HTTP/1.1 fallback), authentication by
// admin bearer token or a client certificate signed by Lodge's CA, then
// routing to discovery, OpenAPI and resource handlers.
import { timingSafeEqual } from 'node:crypto';
import { observeRequest } from './request-metrics.js';
import { metrics } from '../metrics/metrics.js';
import http2, { type Http2SecureServer, type Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Registry } from '../../apis/registry.js';
import type { NodeLogs } from '../../agent/logs/node-logs.js';
import type { NodeExec } from '../../agent/exec/node-exec.js';
import type { NodeConsole } from '../../agent/console/node-console.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../util/log.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, unauthorized } from '../status.js';
import type { ApiRequest } from './body.js';
import { handleExecUpgrade, hasAttach, hasExec, rejectUpgrade } from './exec-handler.js';
import { handlePortForwardUpgrade, handlePortForwardWithoutUpgrade } from './portforward-handler.js';
import { hasPortForward } from '../portforward/resolve.js';
import type { NodePortForward } from '../../agent/portforward/node-port-forward.js';
import { handleConsoleUpgrade, handleConsoleWithoutUpgrade, isInstanceType } from './console-handler.js';
import { handleInstanceLog } from './instance-log-handler.js';
import { handleInstanceExport, handleInstanceImport } from './instance-backup-handler.js';
import type { NodeBackup } from '../../agent/backup/node-backup.js';
import { handleMeta } from './meta-handler.js';
import { handleResource } from './resource-handler.js';
import { sendError, type ApiResponse } from './respond.js';
import { parseRoute } from './route.js';

export interface ApiServerConfig {
  host: string;
  port: number;
  tls: { key: string; cert: string; ca: string };
  token: string;
  service: ResourceService;
  registry: Registry;
  log: Logger;
  /** Where pods/log reads container logs, by node. */
  nodeLogs?: NodeLogs;
  /** Where pods/exec starts processes, by node. */
  nodeExec?: NodeExec;
  /** Where pods/portforward and instances/portforward connect, by node. */
  nodePortForward?: NodePortForward;
  /** Where instances/console attaches and instances/log reads, by node. */
  nodeConsole?: NodeConsole;
  /** Where instances/export and instances/import go, by node. */
  nodeBackup?: NodeBackup;
}

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Paths anyone may read, as Kubernetes allows for health and version. */
const PUBLIC = new Set(['/healthz', '/livez', '/readyz', '/version']);

function tlsSocket(req: ApiRequest): TLSSocket {
  const h2 = req as Http2ServerRequest;
  return (h2.stream?.session?.socket ?? req.socket) as TLSSocket;
}

export function authenticate(req: ApiRequest, token: string): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
    const given = Buffer.from(auth.slice(7).trim());
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want) ? 'admin' : null;
  }
  const sock = tlsSocket(req);
  if (sock.authorized) {
    const cn = sock.getPeerCertificate()?.subject?.CN;
    return typeof cn === 'string' && cn ? cn : null;
  }
  return null;
}

/** /metrics in Prometheus' text format (as kube-apiserver serves it, to authenticated callers). */
function sendMetrics(res: ApiResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  res.end(metrics.render());
}

export async function startApiServer(c: ApiServerConfig): Promise<ApiServer> {
  const server: Http2SecureServer = http2.createSecureServer({
    key: c.tls.key,
    cert: c.tls.cert,
    ca: c.tls.ca,
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: true,
  });
  const log = c.log.child({ component: 'apiserver' });
  const sockets = new Set<import('node:net').Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: ApiRequest, res: ApiResponse) => {
    void serve(req, res);
  });
  const serve = async (req: ApiRequest, res: ApiResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://lodge.invalid');
    const started = performance.now();
    try {
      if (!PUBLIC.has(url.pathname) && !authenticate(req, c.token)) throw unauthorized();
      if (url.pathname === '/metrics' && req.method === 'GET') return sendMetrics(res);
      if (await handleMeta(req, res, url, c.registry)) return;
      const route = parseRoute(c.registry, url.pathname);
      switch (route.kind) {
        case 'resource': {
          const { rt, namespace: ns, name, subresource } = route.route;
          observeRequest(req, res, { resource: rt.plural, group: rt.group, namespace: ns, name, subresource, query: url.searchParams }, started);
          // Instances' console and console log: served here, as resource-handler knows only generic subresources.
          if (name && isInstanceType(rt) && subresource === 'log') return await handleInstanceLog(req, res, { rt, ns, name, q: url.searchParams }, c.service, c.nodeConsole);
          if (name && isInstanceType(rt) && subresource === 'console') return await handleConsoleWithoutUpgrade(req.method, rt, ns, name, c.service);
          if (name && hasPortForward(rt) && subresource === 'portforward') return await handlePortForwardWithoutUpgrade(req.method, rt, ns, name, c.service);
          if (name && isInstanceType(rt) && subresource === 'export') return await handleInstanceExport(req, res, { rt, ns, name }, c.service, c.nodeBackup);
          if (name && isInstanceType(rt) && subresource === 'import') return await handleInstanceImport(req, res, { rt, ns, name }, c.service, c.nodeBackup);
          return await handleResource(req, res, route.route, url.searchParams, c.service, c.nodeLogs);
        }
        case 'unknownResource':
          throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${route.resource} in ${route.group || 'core'}/${route.version})`);
        default:
          throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      }
    } catch (e) {
      if (!(e instanceof ApiError)) log.error('request failed', { method: req.method, path: url.pathname, error: (e as Error)?.stack ?? String(e) });
      sendError(res, e);
    }
  };
  // pods/exec upgrades to WebSocket. Clients dial it over HTTP/1.1 (no ALPN h2), and the allowHTTP1
  // fallback emits 'upgrade' on this server as an http.Server would.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(req, socket, head);
  });
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => undefined); // a client that hung up mid-handshake
    const url = new URL(req.url ?? '/', 'https://lodge.invalid');
    try {
      if (!authenticate(req, c.token)) throw unauthorized();
      const route = parseRoute(c.registry, url.pathname);
      if (route.kind !== 'resource') throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      const { rt, namespace: ns, name, subresource } = route.route;
      if (subresource === 'console' && isInstanceType(rt) && name) return await handleConsoleUpgrade(req, socket, head, { rt, ns, name }, { svc: c.service, nodeConsole: c.nodeConsole, wss, log });
      if (subresource === 'portforward' && hasPortForward(rt) && name) return await handlePortForwardUpgrade(req, socket, head, { rt, ns, name, q: url.searchParams }, { svc: c.service, nodePortForward: c.nodePortForward, log });
      if (subresource === 'attach' && hasAttach(rt) && name) return await handleExecUpgrade(req, socket, head, { rt, ns, name, q: url.searchParams, subresource: 'attach' }, { svc: c.service, nodeExec: c.nodeExec, wss, log });
      if (subresource !== 'exec' || !hasExec(rt) || !name) throw badRequest(`unable to upgrade connection: ${url.pathname} does not support upgrades; only pods/exec, pods/attach, pods/portforward, instances/exec, instances/portforward and instances/console do`);
      await handleExecUpgrade(req, socket, head, { rt, ns, name, q: url.searchParams }, { svc: c.service, nodeExec: c.nodeExec, wss, log });
    } catch (e) {
      if (!(e instanceof ApiError)) log.error('upgrade failed', { method: req.method, path: url.pathname, error: (e as Error)?.stack ?? String(e) });
      rejectUpgrade(socket, e);
    }
  };
  server.on('tlsClientError', () => {
    /* a client that gave up during the handshake: nothing to answer */
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(c.port, c.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : c.port;
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return {
    url: `https://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

