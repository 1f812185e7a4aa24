// Exec between the API server and a node server, over one WebSocket per
// process. Framing as in Kubernetes' channel protocol, without its versions:
// each binary message starts with its channel byte.
//   0 stdin (to the node), 1 stdout, 2 stderr (from it),
//   3 the end (from the node): JSON {"exitCode": n} or {"error": "..."},
//   4 resize (to the node): JSON {"cols": c, "rows": r},
//   255 stdin closed (to the node).
// The node answers errors found before starting (no such container, not
// running) as an HTTP error instead of upgrading: {reason, message}.
import { refuseUpgrade } from './fail.js';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData, type WebSocketServer } from 'ws';
import type { Logger } from '../../util/log.js';
import { ExecUnavailableError, type ExecProcess, type ExecTarget, type NodeExec } from '../exec/node-exec.js';

export const EXEC_CHANNEL = { stdin: 0, stdout: 1, stderr: 2, end: 3, resize: 4, closeStdin: 255 } as const;

/** Path of an exec on the node server (/exec/pod/UID/CONTAINER or /exec/instance/UID); the query carries the command (repeated), tty and stdin. */
export function execPath(target: ExecTarget, o: { command: string[]; tty: boolean; stdin: boolean }): string {
  const q = new URLSearchParams();
  for (const c of o.command) q.append('command', c);
  if (o.tty) q.set('tty', 'true');
  if (o.stdin) q.set('stdin', 'true');
  const where = target.kind === 'pod' ? `pod/${encodeURIComponent(target.uid)}/${encodeURIComponent(target.container)}` : `instance/${encodeURIComponent(target.uid)}`;
  return `/exec/${where}?${q}`;
}

/** The target of a node server exec path, or undefined when it names none. */
export function parseExecPath(pathname: string): ExecTarget | undefined {
  const pod = /^\/exec\/pod\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (pod) return { kind: 'pod', uid: decodeURIComponent(pod[1]!), container: decodeURIComponent(pod[2]!) };
  const inst = /^\/exec\/instance\/([^/]+)$/.exec(pathname);
  return inst ? { kind: 'instance', uid: decodeURIComponent(inst[1]!) } : undefined;
}

/** Path of an attach on the node server (/attach/pod/UID/CONTAINER); the query carries stdin. Framed as exec; the end is {"exitCode": 0} once the session is over. */
export function attachPath(target: Extract<ExecTarget, { kind: 'pod' }>, o: { stdin: boolean }): string {
  return `/attach/pod/${encodeURIComponent(target.uid)}/${encodeURIComponent(target.container)}${o.stdin ? '?stdin=true' : ''}`;
}

export function parseAttachPath(pathname: string): Extract<ExecTarget, { kind: 'pod' }> | undefined {
  const m = /^\/attach\/pod\/([^/]+)\/([^/]+)$/.exec(pathname);
  return m ? { kind: 'pod', uid: decodeURIComponent(m[1]!), container: decodeURIComponent(m[2]!) } : undefined;
}

export function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.of(channel), body]);
}


/** Serve one upgrade request for /exec/UID/CONTAINER: start the process, then relay it over the WebSocket. */
export async function serveExec(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  m: { target: ExecTarget; query: URLSearchParams; attach?: boolean },
  deps: { nodeName: string; exec: NodeExec; wss: WebSocketServer; log: Logger },
): Promise<void> {
  const command = m.query.getAll('command');
  if (!m.attach && !command.length) return refuseUpgrade(socket, 400, 'BadRequest', 'no command given');
  if (m.attach && (m.target.kind !== 'pod' || !deps.exec.attach)) return refuseUpgrade(socket, 404, 'NotFound', 'this node cannot attach to that target');
  let proc: ExecProcess;
  try {
    const stdin = m.query.get('stdin') === 'true';
    proc =
      m.attach && m.target.kind === 'pod' && deps.exec.attach
        ? await deps.exec.attach(deps.nodeName, m.target, { stdin })
        : await deps.exec.exec(deps.nodeName, m.target, { command, tty: m.query.get('tty') === 'true', stdin });
  } catch (e) {
    if (e instanceof ExecUnavailableError) return refuseUpgrade(socket, e.reason === 'notRunning' ? 409 : 404, e.reason, e.message);
    return refuseUpgrade(socket, 500, 'InternalError', (e as Error).message);
  }
  deps.wss.handleUpgrade(req, socket, head, (ws) => relay(ws, proc, deps.log));
}

function relay(ws: WebSocket, p: ExecProcess, log: Logger): void {
  let ended = false;
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    if (buf[0] === EXEC_CHANNEL.stdin) p.stdin?.write(payload);
    else if (buf[0] === EXEC_CHANNEL.closeStdin) p.stdin?.end();
    else if (buf[0] === EXEC_CHANNEL.resize) {
      try {
        const s = JSON.parse(payload.toString('utf8')) as { cols?: number; rows?: number };
        if (typeof s.cols === 'number' && typeof s.rows === 'number') p.resize(s.cols, s.rows);
      } catch {
        log.warn('ignoring an unreadable resize message', { payload: payload.toString('utf8').slice(0, 100) });
      }
    }
  });
  // The caller went away: the process goes too, as the API server's exec does it (an attach detaches).
  ws.on('close', () => {
    if (!ended) p.kill();
  });
  p.stdin?.on('error', () => undefined);
  p.stdout.on('data', (d: Buffer) => ws.send(frame(EXEC_CHANNEL.stdout, d)));
  p.stderr?.on('data', (d: Buffer) => ws.send(frame(EXEC_CHANNEL.stderr, d)));
  p.wait().then(
    (r) => finish({ exitCode: r.exitCode }),
    (e: Error) => finish({ error: e.message }),
  );
  function finish(end: { exitCode?: number; error?: string }): void {
    ended = true;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame(EXEC_CHANNEL.end, JSON.stringify(end)), () => ws.close(1000));
  }
}
