// The node server: what the API server asks of a node agent that runs in
// another process or on another host (the kubelet's port 10250): container
// logs and exec, Instance consoles and console logs (port-forward as it
// comes). HTTPS with the node's own serving certificate; every request must
// carry the bearer token the agent itself was given, so only the control
// plane it joined can ask.
import { fail } from './fail.js';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/log.js';
import { WebSocketServer } from 'ws';
import type { NodeExec } from '../exec/node-exec.js';
import type { NodeConsole } from '../console/node-console.js';
import { parseConsolePath, serveConsole, serveConsoleLog } from './console-stream.js';
import { LogUnavailableError, type LogOptions, type NodeLogs } from '../logs/node-logs.js';
import { parseAttachPath, parseExecPath, serveExec } from './exec-stream.js';
import type { ServingCert } from './serving-cert.js';
import type { NodeBackup } from '../backup/node-backup.js';
import { parseBackupPath, serveBackup } from './backup-stream.js';
import type { NodePortForward } from '../portforward/node-port-forward.js';
import { parsePortForwardPath, servePortForward } from './portforward-stream.js';

export interface NodeServerOptions {
  host: string;
  port: number;
  cert: ServingCert;
  token: string;
  nodeName: string;
  logs: NodeLogs;
  exec: NodeExec;
  /** Instance consoles and their logs (console-stream.ts). */
  console?: NodeConsole;
  /** Instance exports and imports (backup-stream.ts). */
  backup?: NodeBackup;
  /** TCP connections to Pods and Instances (portforward-stream.ts). */
  portForward?: NodePortForward;
  log: Logger;
}

export interface NodeServer {
  port: number;
  close(): Promise<void>;
}

/** Path of a container's log on the node server; the query carries LogOptions. */
export const containerLogsPath = (podUid: string, container: string): string => `/containerLogs/${encodeURIComponent(podUid)}/${encodeURIComponent(container)}`;


function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const optInt = (q: URLSearchParams, name: string): number | undefined => (q.has(name) ? Number(q.get(name)) : undefined);

export async function startNodeServer(o: NodeServerOptions): Promise<NodeServer> {
  const sockets = new Set<Duplex>();
  const server: Server = createServer({ key: o.cert.keyPem, cert: o.cert.certPem }, (req, res) => {
    handle(req, res).catch((e: Error) => {
      o.log.warn('node server request failed', { path: req.url, error: e.message });
      fail(res, 500, 'InternalError', e.message);
    });
  });
  // Exec upgrades to a WebSocket (exec-stream.ts).
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (!tokenMatches(req.headers.authorization, o.token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'https://node');
    const con = parseConsolePath(url);
    if (con?.kind === 'console' && o.console) {
      serveConsole(req, socket, head, con.target, { nodeName: o.nodeName, console: o.console, wss, log: o.log }).catch((e: Error) => {
        o.log.warn('node server console failed', { path: url.pathname, error: e.message });
        socket.destroy();
      });
      return;
    }
    const pf = o.portForward && parsePortForwardPath(url);
    if (pf && o.portForward) {
      servePortForward(req, socket, head, pf, { nodeName: o.nodeName, portForward: o.portForward, wss, log: o.log }).catch((e: Error) => {
        o.log.warn('node server port-forward failed', { path: url.pathname, error: e.message });
        socket.destroy();
      });
      return;
    }
    const attachTarget = parseAttachPath(url.pathname);
    const target = attachTarget ?? parseExecPath(url.pathname);
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    serveExec(req, socket, head, { target, query: url.searchParams, attach: attachTarget !== undefined }, { nodeName: o.nodeName, exec: o.exec, wss, log: o.log }).catch((e: Error) => {
      o.log.warn('node server exec failed', { path: url.pathname, error: e.message });
      socket.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!tokenMatches(req.headers.authorization, o.token)) return fail(res, 401, 'Unauthorized', 'Unauthorized');
    const url = new URL(req.url ?? '/', 'https://node');
    const con = parseConsolePath(url);
    if (con?.kind === 'log' && o.console) return serveConsoleLog(req, res, url, con.target, { nodeName: o.nodeName, console: o.console });
    const backup = parseBackupPath(url);
    if (backup && o.backup) return serveBackup(req, res, backup, { nodeName: o.nodeName, backup: o.backup, log: o.log });
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return fail(res, 404, 'NotFound', `no such node endpoint: ${req.method} ${url.pathname}`);
    const q = url.searchParams;
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const opts: LogOptions = {
      follow: q.get('follow') === 'true',
      previous: q.get('previous') === 'true',
      timestamps: q.get('timestamps') === 'true',
      tailLines: optInt(q, 'tailLines'),
      sinceSeconds: optInt(q, 'sinceSeconds'),
      limitBytes: optInt(q, 'limitBytes'),
      signal: abort.signal,
    };
    let lines: AsyncIterable<string>;
    try {
      lines = await o.logs.open(o.nodeName, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), opts);
    } catch (e) {
      if (e instanceof LogUnavailableError) return fail(res, 404, e.reason, e.message);
      throw e;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.flushHeaders();
    for await (const chunk of lines) {
      if (abort.signal.aborted) break;
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}
