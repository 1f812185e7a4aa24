// Instance consoles between the API server and a node server: one WebSocket
// per session at /console/instance/UID?type=container|vm, framed like exec
// (exec-stream.ts): 0 stdin (to the node), 1 output (from it), 3 the end
// (from the node: JSON {} or {"error": "..."}), 4 resize (to the node: JSON
// {"cols", "rows"}). Errors found before attaching are answered as an HTTP
// error {reason, message} instead of the upgrade. The console log is a plain
// GET of /log/instance/UID?type=...&follow=true&tailLines=N (text/plain).
import { refuseUpgrade } from './fail.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData, type WebSocketServer } from 'ws';
import type { Logger } from '../../util/log.js';
import { ConsoleUnavailableError, type ConsoleLogOptions, type ConsoleSession, type ConsoleTarget, type NodeConsole } from '../console/node-console.js';
import { EXEC_CHANNEL, frame } from './exec-stream.js';

const typeQuery = (t: ConsoleTarget): string => `type=${t.type === 'vm' ? 'vm' : 'container'}`;

export const consolePath = (t: ConsoleTarget): string => `/console/instance/${encodeURIComponent(t.uid)}?${typeQuery(t)}`;

export function consoleLogPath(t: ConsoleTarget, o: Pick<ConsoleLogOptions, 'follow' | 'tailLines'>): string {
  const q = new URLSearchParams(typeQuery(t));
  if (o.follow) q.set('follow', 'true');
  if (o.tailLines !== undefined) q.set('tailLines', String(o.tailLines));
  return `/log/instance/${encodeURIComponent(t.uid)}?${q}`;
}

/** The target of /console/instance/UID or /log/instance/UID, or undefined when the path is neither. */
export function parseConsolePath(url: URL): { kind: 'console' | 'log'; target: ConsoleTarget } | undefined {
  const m = /^\/(console|log)\/instance\/([^/]+)$/.exec(url.pathname);
  if (!m) return undefined;
  return { kind: m[1] as 'console' | 'log', target: { uid: decodeURIComponent(m[2]!), type: url.searchParams.get('type') === 'vm' ? 'vm' : 'container' } };
}


const codeOf = (e: ConsoleUnavailableError): number => (e.reason === 'notRunning' ? 409 : 404);

/** Serve one upgrade request for /console/instance/UID: attach, then relay over the WebSocket. */
export async function serveConsole(req: IncomingMessage, socket: Duplex, head: Buffer, target: ConsoleTarget, deps: { nodeName: string; console: NodeConsole; wss: WebSocketServer; log: Logger }): Promise<void> {
  let session: ConsoleSession;
  try {
    session = await deps.console.attach(deps.nodeName, target);
  } catch (e) {
    if (e instanceof ConsoleUnavailableError) return refuseUpgrade(socket, codeOf(e), e.reason, e.message);
    return refuseUpgrade(socket, 500, 'InternalError', (e as Error).message);
  }
  deps.wss.handleUpgrade(req, socket, head, (ws) => relay(ws, session, deps.log));
}

function relay(ws: WebSocket, s: ConsoleSession, log: Logger): void {
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    if (buf[0] === EXEC_CHANNEL.stdin) s.stream.write(payload);
    else if (buf[0] === EXEC_CHANNEL.resize) {
      try {
        const size = JSON.parse(payload.toString('utf8')) as { cols?: number; rows?: number };
        if (typeof size.cols === 'number' && typeof size.rows === 'number') s.resize(size.cols, size.rows);
      } catch {
        log.warn('ignoring an unreadable console resize message', { payload: payload.toString('utf8').slice(0, 100) });
      }
    }
  });
  // The caller detached: so does the node.
  ws.on('close', () => s.stream.destroy());
  ws.on('error', () => undefined);
  s.stream.on('error', (e: Error) => finish({ error: e.message }));
  // One frame in flight: a slow caller holds the console back rather than filling memory.
  s.stream.on('data', (d: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    s.stream.pause();
    ws.send(frame(EXEC_CHANNEL.stdout, d), () => s.stream.resume());
  });
  s.stream.on('end', () => finish({}));
  s.stream.on('close', () => finish({}));
  let ended = false;
  function finish(end: { error?: string }): void {
    if (ended) return;
    ended = true;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame(EXEC_CHANNEL.end, JSON.stringify(end)), () => ws.close(1000));
  }
}

/** GET /log/instance/UID: the console log as text, followed on request. */
export async function serveConsoleLog(req: IncomingMessage, res: ServerResponse, url: URL, target: ConsoleTarget, deps: { nodeName: string; console: NodeConsole }): Promise<void> {
  const fail = (code: number, reason: string, message: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ reason, message }));
  };
  if (req.method !== 'GET') return fail(405, 'MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}`);
  const q = url.searchParams;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const tail = q.get('tailLines');
  let lines: AsyncIterable<string>;
  try {
    lines = await deps.console.log(deps.nodeName, target, { follow: q.get('follow') === 'true', tailLines: tail === null ? undefined : Number(tail), signal: abort.signal });
  } catch (e) {
    if (e instanceof ConsoleUnavailableError) return fail(codeOf(e), e.reason, e.message);
    throw e;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.flushHeaders();
  for await (const chunk of lines) {
    if (abort.signal.aborted) break;
    if (!res.write(chunk))
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
  }
  res.end();
}
