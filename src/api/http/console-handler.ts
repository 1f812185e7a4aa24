// The instances/console subresource: an Instance's console (a VM's serial
// port, a system container's terminal) over a WebSocket, in Kubernetes'
// channel protocol as pods/exec speaks it (v5.channel.k8s.io ... channel.k8s.io),
// so any client of the one speaks the other:
//   0 stdin (keystrokes, to the guest), 1 stdout (what the guest prints),
//   4 resize ({"Width","Height"}; a VM's serial port has no size and ignores it),
//   3 the end, from the server: a Status (v4, v5) when the console went away
//     (the instance stopped, the node failed), then the server closes.
// Detaching is the client closing the WebSocket; the instance goes on. What
// the request gets wrong (no such instance, not running, not placed) is
// answered before the upgrade as a Status with its HTTP code.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData, type WebSocketServer } from 'ws';
import { ConsoleUnavailableError, type ConsoleSession, type ConsoleTarget, type NodeConsole } from '../../agent/console/node-console.js';
import type { KubeObject, ResourceType } from '../../apis/types.js';
import type { Logger } from '../../util/log.js';
import { REMOTECOMMAND_CHANNEL } from '../remotecommand/channels.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, methodNotAllowed } from '../status.js';
import { chooseProtocol, EXEC_PROTOCOLS, offeredProtocols } from './exec-handler.js';

const { stdin: CH_STDIN, stdout: CH_STDOUT, error: CH_ERROR, resize: CH_RESIZE } = REMOTECOMMAND_CHANNEL;

/** Whether a kind is lodge.dev's Instance (the kind with console and log subresources). */
export function isInstanceType(rt: ResourceType): boolean {
  return rt.kind === 'Instance' && rt.group === 'lodge.dev';
}

/** The node an Instance runs on and how to reach its console; an Instance never placed has neither. */
export async function resolveInstanceOnNode(rt: ResourceType, ns: string | undefined, name: string, svc: ResourceService): Promise<{ inst: KubeObject; nodeName: string; target: ConsoleTarget }> {
  const inst = (await svc.get(rt, ns, name)).obj;
  const nodeName = (inst.status?.nodeName as string | undefined) ?? (inst.spec?.nodeName as string | undefined);
  if (!nodeName) throw badRequest(`instance ${name} has not been placed on a node yet`);
  return { inst, nodeName, target: { uid: String(inst.metadata.uid), type: inst.spec?.type === 'vm' ? 'vm' : 'container' } };
}

/** instances/console without an upgrade: the request's own errors first, as exec does. */
export async function handleConsoleWithoutUpgrade(method: string | undefined, rt: ResourceType, ns: string | undefined, name: string, svc: ResourceService): Promise<void> {
  if (method !== 'GET' && method !== 'POST') throw methodNotAllowed(`the server does not allow ${method} on ${rt.plural}/console`);
  await resolveInstanceOnNode(rt, ns, name, svc);
  throw badRequest('Upgrade request required');
}

function apiErrorOf(e: unknown, name: string): Error {
  if (!(e instanceof ConsoleUnavailableError)) return e as Error;
  if (e.reason === 'notRunning') return badRequest(`unable to attach to the console of instance ${name}: ${e.message}`);
  if (e.reason === 'instance') return new ApiError(404, 'NotFound', `instance ${name} has no console on its node: ${e.message}`);
  return new ApiError(503, 'ServiceUnavailable', e.message);
}

/** The upgrade request for instances/console, authenticated and routed: check it, attach on the node, switch to WebSocket and relay. */
export async function handleConsoleUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  at: { rt: ResourceType; ns: string | undefined; name: string },
  deps: { svc: ResourceService; nodeConsole: NodeConsole | undefined; wss: WebSocketServer; log: Logger },
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${at.rt.plural}/console`);
  const { inst, nodeName, target } = await resolveInstanceOnNode(at.rt, at.ns, at.name, deps.svc);
  const phase = inst.status?.phase as string | undefined;
  if (phase !== 'Running') throw badRequest(`unable to attach to the console: instance ${at.name} is not running (phase ${phase ?? 'Pending'}); its console log is at ${at.rt.plural}/${at.name}/log (lodge console --show-log ${at.name})`);
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw badRequest(`unable to upgrade connection: the console is served over WebSocket (${EXEC_PROTOCOLS.slice(0, 2).join(', ')})`);
  const protocol = chooseProtocol(offeredProtocols(req));
  if (!protocol) throw badRequest(`unable to upgrade connection: none of the offered subprotocols [${offeredProtocols(req).join(' ')}] is supported; supported: [${EXEC_PROTOCOLS.join(' ')}]`);
  if (!deps.nodeConsole) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node console sources');
  // Attached before the upgrade, so that "nothing to attach to" is an HTTP error every client shows.
  let session: ConsoleSession;
  try {
    session = await deps.nodeConsole.attach(nodeName, target);
  } catch (e) {
    throw apiErrorOf(e, at.name);
  }
  const structured = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
  let upgraded = false;
  // The client hung up during the handshake: nobody will ever detach this session.
  socket.once('close', () => {
    if (!upgraded) session.stream.destroy();
  });
  deps.wss.handleUpgrade(req, socket, head, (ws) => {
    upgraded = true;
    relay(ws, session, structured, at.name, deps.log);
  });
}

function frame(channel: number, data: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]);
}

function relay(ws: WebSocket, s: ConsoleSession, structured: boolean, name: string, log: Logger): void {
  let done = false;
  ws.on('error', () => undefined); // a client that vanished shows as 'close'
  ws.on('close', () => {
    done = true;
    s.stream.destroy(); // detach
  });
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    if (buf[0] === CH_STDIN) {
      if (payload.length && !s.stream.destroyed) s.stream.write(payload);
    } else if (buf[0] === CH_RESIZE) {
      try {
        const size = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
        if (typeof size.Width === 'number' && typeof size.Height === 'number') s.resize(size.Width, size.Height);
      } catch {
        log.warn('ignoring an unreadable console resize message', { instance: name, payload: payload.toString('utf8').slice(0, 100) });
      }
    }
  });
  // One frame in flight: a slow client holds the console back instead of filling memory.
  s.stream.on('data', (chunk: Buffer) => {
    if (done || ws.readyState !== WebSocket.OPEN) return;
    s.stream.pause();
    ws.send(frame(CH_STDOUT, chunk), () => s.stream.resume());
  });
  const finish = (err?: Error): void => {
    if (done) return;
    done = true;
    if (ws.readyState !== WebSocket.OPEN) return;
    const status = err
      ? { metadata: {}, status: 'Failure', reason: 'InternalError', code: 500, message: `the console of instance ${name} failed: ${err.message}` }
      : { metadata: {}, status: 'Success', message: `the console of instance ${name} closed (the instance stopped)` };
    ws.send(frame(CH_ERROR, structured ? JSON.stringify(status) : err ? status.message : ''), () => ws.close(1000));
  };
  s.stream.on('error', (e: Error) => finish(e));
  s.stream.on('end', () => finish());
  s.stream.on('close', () => finish());
}
