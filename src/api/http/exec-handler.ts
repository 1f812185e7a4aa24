// The pods/exec subresource: Kubernetes' remote command protocol over a
// WebSocket (kubectl ≥ 1.30, client libraries). Every frame is one channel
// byte and its payload: 0 stdin, 1 stdout, 2 stderr, 3 error (the outcome),
// 4 resize ({"Width","Height"}), and with v5 255 "close" (payload: the
// channel whose sender is done, so that `echo hi | kubectl exec -i` can end
// stdin without closing the connection).
//
// What the request gets wrong (no such pod or container, no command) is
// answered before the upgrade, as a Status with its HTTP code. kubectl retries
// a failed WebSocket upgrade over SPDY, which Lodge does not speak: the SPDY
// request is checked the same way, so kubectl prints the same error; only one
// that passes every check is told SPDY is not supported. Anything the node
// finds once asked (the container stopped a moment ago, no such executable)
// comes after the upgrade on the error channel, which every client prints.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { WebSocket, type RawData, type WebSocketServer } from 'ws';
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { ExecUnavailableError, type ExecProcess, type ExecTarget, type NodeExec } from '../../agent/exec/node-exec.js';
import { ExecFailedError } from '../../agent/runtime/driver.js';
import type { Logger } from '../../util/log.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, methodNotAllowed } from '../status.js';
import type { ApiRequest } from './body.js';
import { REMOTECOMMAND_CHANNEL } from '../remotecommand/channels.js';

/** Server preference is irrelevant: as the apiserver does, the first of the client's offers we speak wins. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
type ExecProtocol = (typeof EXEC_PROTOCOLS)[number];

const { stdin: CH_STDIN, stdout: CH_STDOUT, stderr: CH_STDERR, error: CH_ERROR, resize: CH_RESIZE, close: CH_CLOSE } = REMOTECOMMAND_CHANNEL;

export interface ExecRequest {
  /** The Pod or Instance. */
  pod: KubeObject;
  target: ExecTarget;
  nodeName: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

interface ContainerStatus {
  name: string;
  state?: { running?: unknown; waiting?: { reason?: string }; terminated?: unknown };
}

/** Whether a kind has the exec subresource: Pods (Kubernetes) and Instances (system containers). */
export function hasExec(rt: ResourceType): boolean {
  return (rt.kind === 'Pod' && rt.group === '') || (rt.kind === 'Instance' && rt.group === 'lodge.dev');
}

function commonOptions(q: URLSearchParams): Pick<ExecRequest, 'command' | 'stdin' | 'stdout' | 'stderr' | 'tty'> {
  const command = q.getAll('command');
  if (!command.length) throw badRequest('you must specify at least 1 command');
  const r = { command, stdin: flag(q, 'stdin'), stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr'), tty: flag(q, 'tty') };
  if (!r.stdin && !r.stdout && !r.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  return r;
}

/** instances/exec: a running system container, or a VM through its guest agent (no terminal: that is the serial console). */
async function resolveInstanceExec(rt: ResourceType, ns: string | undefined, name: string, q: URLSearchParams, svc: ResourceService): Promise<ExecRequest> {
  const inst = (await svc.get(rt, ns, name)).obj;
  const nodeName = (inst.status?.nodeName as string | undefined) ?? (inst.spec?.nodeName as string | undefined);
  if (!nodeName) throw badRequest(`instance ${name} has not been placed on a node yet`);
  const opts = commonOptions(q);
  if (inst.spec?.type === 'vm' && opts.tty) throw badRequest(`instance ${name} is a virtual machine: a terminal in a VM is its serial console; use lodge console ${name} (exec without -t runs a command through the guest agent)`);
  const phase = inst.status?.phase as string | undefined;
  if (phase !== 'Running') throw badRequest(`unable to upgrade connection: instance ${name} is not running (phase ${phase ?? 'Pending'})`);
  const uid = String(inst.metadata.uid);
  return { pod: inst, target: { kind: 'instance', uid }, nodeName, container: name, ...opts };
}

/** Everything that can be checked without the node: the apiserver's own checks, in its order and words. */
export async function resolveExec(rt: ResourceType, ns: string | undefined, name: string, q: URLSearchParams, svc: ResourceService): Promise<ExecRequest> {
  if (rt.kind === 'Instance') return resolveInstanceExec(rt, ns, name, q, svc);
  const pod = (await svc.get(rt, ns, name)).obj;
  const names = ((pod.spec?.containers as Array<{ name: string }> | undefined) ?? []).map((c) => c.name);
  let container = q.get('container') ?? '';
  if (!container) {
    if (names.length === 0) throw badRequest(`pod ${name} does not have a container`);
    if (names.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    container = names[0];
  } else if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const nodeName = pod.spec?.nodeName as string | undefined;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const r: ExecRequest = { pod, target: { kind: 'pod', uid: String(pod.metadata.uid), container }, nodeName, container, ...commonOptions(q) };
  const phase = pod.status?.phase as string | undefined;
  if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  // The kubelet's answer for a container it has not started (yet, or again): nothing to exec in.
  const st = (pod.status?.containerStatuses as ContainerStatus[] | undefined)?.find((s) => s.name === container);
  if (!st?.state?.running) throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
  return r;
}

/** pods/exec without an upgrade (a plain GET or POST, HTTP/2): the request's own errors first, as the apiserver does. */
export async function handleExecWithoutUpgrade(req: ApiRequest, rt: ResourceType, ns: string | undefined, name: string, q: URLSearchParams, svc: ResourceService): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${rt.plural}/exec`);
  await resolveExec(rt, ns, name, q, svc);
  throw badRequest('Upgrade request required');
}

/** Answer an upgrade request with a Status instead of switching protocols; the connection ends after it. */
export function rejectUpgrade(socket: Duplex, err: unknown): void {
  const api = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`);
  const body = JSON.stringify(api.toStatus());
  socket.end(
    `HTTP/1.1 ${api.code} ${STATUS_CODES[api.code] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-cache, private\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}

export function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  return (Array.isArray(h) ? h.join(',') : (h ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function chooseProtocol(offered: Iterable<string>): ExecProtocol | undefined {
  for (const p of offered) if ((EXEC_PROTOCOLS as readonly string[]).includes(p)) return p as ExecProtocol;
  return undefined;
}

/**
 * The upgrade request for pods/exec, already authenticated and routed: check
 * it, switch to WebSocket, start the process on the Pod's node, and relay.
 */
export async function handleExecUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: { rt: ResourceType; ns: string | undefined; name: string; q: URLSearchParams },
  deps: { svc: ResourceService; nodeExec: NodeExec | undefined; wss: WebSocketServer; log: Logger },
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${target.rt.plural}/exec`);
  const x = await resolveExec(target.rt, target.ns, target.name, target.q, deps.svc);
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade !== 'websocket') {
    throw badRequest(`unable to upgrade connection: ${upgrade ? `${req.headers.upgrade} is` : 'only WebSocket is'} not supported here; this server speaks the remote command protocol over WebSocket (${EXEC_PROTOCOLS.slice(0, 2).join(', ')}): use kubectl 1.30 or newer`);
  }
  const protocol = chooseProtocol(offeredProtocols(req));
  if (!protocol) throw badRequest(`unable to upgrade connection: none of the offered subprotocols [${offeredProtocols(req).join(' ')}] is supported; supported: [${EXEC_PROTOCOLS.join(' ')}]`);
  if (!deps.nodeExec) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node exec sources');
  const nodeExec = deps.nodeExec;

  deps.wss.handleUpgrade(req, socket, head, (ws) => {
    void relay(ws, protocol, x, nodeExec, deps.log).catch((e: Error) => {
      deps.log.error('exec relay failed', { pod: x.pod.metadata.name, container: x.container, error: e.stack ?? e.message });
      ws.terminate();
    });
  });
}

function frame(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/** What goes on the error channel: a Status (v4, v5), or the bare message (older protocols, where success says nothing). */
function outcome(protocol: ExecProtocol, result: { exitCode: number } | Error, command: string[]): string | undefined {
  const structured = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
  if (!(result instanceof Error)) {
    if (result.exitCode === 0) return structured ? JSON.stringify({ metadata: {}, status: 'Success' }) : undefined;
    const message = `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`;
    if (!structured) return message;
    return JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] } });
  }
  let status: Record<string, unknown>;
  if (result instanceof ExecUnavailableError && result.reason === 'container') status = { status: 'Failure', message: result.message, reason: 'NotFound', code: 404 };
  else if (result instanceof ExecUnavailableError && result.reason === 'notRunning') status = { status: 'Failure', message: result.message, reason: 'BadRequest', code: 400 };
  else {
    const why = result instanceof ExecFailedError ? result.reason : result.message;
    status = { status: 'Failure', message: `Internal error occurred: error executing command in container: ${why}`, reason: 'InternalError', details: { causes: [{ message: why }] }, code: 500 };
  }
  return structured ? JSON.stringify({ metadata: {}, ...status }) : String(status.message);
}

async function relay(ws: WebSocket, protocol: ExecProtocol, x: ExecRequest, nodeExec: NodeExec, log: Logger): Promise<void> {
  let proc: ExecProcess | undefined;
  let clientGone = false;
  ws.on('error', () => undefined); // a client that vanished shows as 'close'
  ws.on('close', () => {
    clientGone = true;
    // Nobody is left to read its output or to end it: a shell would wait for input forever.
    proc?.kill();
  });

  // Frames that arrive while the process starts (kubectl sends the terminal size at once) wait for it.
  const early: RawData[] = [];
  let onMessage = (data: RawData): void => {
    early.push(data);
  };
  ws.on('message', (data: RawData) => onMessage(data));

  const finish = (result: { exitCode: number } | Error): void => {
    if (clientGone || ws.readyState !== WebSocket.OPEN) return;
    const text = outcome(protocol, result, x.command);
    if (text !== undefined) ws.send(frame(CH_ERROR, text));
    ws.close(1000);
  };

  try {
    proc = await nodeExec.exec(x.nodeName, x.target, { command: x.command, tty: x.tty, stdin: x.stdin });
  } catch (e) {
    return finish(e as Error);
  }
  const p = proc;
  if (clientGone) p.kill();

  const handle = (data: RawData): void => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!buf.length) return;
    const channel = buf[0];
    const payload = buf.subarray(1);
    if (channel === CH_STDIN) {
      if (p.stdin && !p.stdin.writableEnded && payload.length) p.stdin.write(payload);
    } else if (channel === CH_RESIZE) {
      if (!payload.length) return;
      try {
        const size = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
        if (typeof size.Width === 'number' && typeof size.Height === 'number') p.resize(size.Width, size.Height);
      } catch {
        log.warn('ignoring an unreadable resize message', { pod: x.pod.metadata.name, payload: payload.toString('utf8').slice(0, 100) });
      }
    } else if (channel === CH_CLOSE && protocol === 'v5.channel.k8s.io') {
      if (payload[0] === CH_STDIN) p.stdin?.end();
    }
  };
  onMessage = handle;
  for (const data of early.splice(0)) handle(data);

  // One frame in flight per stream: the process is paused while the client is slow, not buffered without bound.
  const pump = (stream: Readable | undefined, channel: number, wanted: boolean): Promise<void> =>
    new Promise((resolve) => {
      if (!stream) return resolve();
      stream.on('data', (chunk: Buffer) => {
        if (!wanted || clientGone || ws.readyState !== WebSocket.OPEN) return;
        stream.pause();
        ws.send(frame(channel, chunk), () => stream.resume());
      });
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  const drained = Promise.all([pump(p.stdout, CH_STDOUT, x.stdout), pump(p.stderr, CH_STDERR, x.stderr)]);

  let result: { exitCode: number } | Error;
  try {
    result = await p.wait();
  } catch (e) {
    result = e as Error;
  }
  await drained;
  finish(result);
}
