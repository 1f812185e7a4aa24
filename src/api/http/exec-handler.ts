// The pods/exec subresource, checked and upgraded here, served by
// src/api/remotecommand: over a WebSocket (kubectl ≥ 1.30, client libraries;
// websocket-exec.ts) or over SPDY/3.1 (kubectl before 1.30, and newer ones
// whose WebSocket upgrade failed; spdy-exec.ts). Both run the one ExecSession.
//
// What the request gets wrong (no such pod or container, no command) is
// answered before the upgrade, as a Status with its HTTP code, whichever the
// transport. Anything the node finds once asked (the container stopped a
// moment ago, no such executable) comes after the upgrade on the error
// channel or stream, which every client prints.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { ResourceType } from '../../apis/types.js';
import type { NodeExec } from '../../agent/exec/node-exec.js';
import type { Logger } from '../../util/log.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, methodNotAllowed } from '../status.js';
import type { ApiRequest } from './body.js';
import type { ExecRequest } from '../remotecommand/exec-session.js';
import { chooseSpdyExecProtocol, serveExecSpdy, SPDY_EXEC_PROTOCOLS } from '../remotecommand/spdy-exec.js';
import { serveExecWebSocket, WEBSOCKET_EXEC_PROTOCOLS, type WebSocketExecProtocol } from '../remotecommand/websocket-exec.js';

export type { ExecRequest } from '../remotecommand/exec-session.js';

/** Server preference is irrelevant: as the apiserver does, the first of the client's offers we speak wins. */
export const EXEC_PROTOCOLS = WEBSOCKET_EXEC_PROTOCOLS;

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

/** Whether a kind has the attach subresource: Pods (an Instance's console is instances/console). */
export function hasAttach(rt: ResourceType): boolean {
  return rt.kind === 'Pod' && rt.group === '';
}

/**
 * pods/attach, checked as the apiserver and kubelet check it: the container
 * (the only one when unnamed), the node, the phase; input only into a
 * container that keeps a stdin (stdin: true), as nothing would read it
 * otherwise. The terminal is the container's (tty cannot change after it
 * started); the request's tty only says which streams the client opens.
 */
export async function resolveAttach(rt: ResourceType, ns: string | undefined, name: string, q: URLSearchParams, svc: ResourceService): Promise<ExecRequest> {
  const pod = (await svc.get(rt, ns, name)).obj;
  const containers = (pod.spec?.containers as Array<{ name: string; stdin?: boolean; tty?: boolean }> | undefined) ?? [];
  let container = q.get('container') ?? '';
  if (!container) {
    if (containers.length === 0) throw badRequest(`pod ${name} does not have a container`);
    if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
    container = containers[0]!.name;
  }
  const spec = containers.find((c) => c.name === container);
  if (!spec) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const opts = { stdin: flag(q, 'stdin'), stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr'), tty: flag(q, 'tty') };
  if (!opts.stdin && !opts.stdout && !opts.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  const nodeName = pod.spec?.nodeName as string | undefined;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const phase = pod.status?.phase as string | undefined;
  if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot attach a container in a completed pod; current phase is ${phase}`);
  if (opts.stdin && !spec.stdin) throw badRequest(`unable to upgrade connection: container ${container} in pod ${name} was not created with stdin: true, so it has no stdin to attach to; attach without -i/--stdin, or create the container with stdin: true`);
  const st = (pod.status?.containerStatuses as ContainerStatus[] | undefined)?.find((s) => s.name === container);
  if (!st?.state?.running) throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
  return { pod, target: { kind: 'pod', uid: String(pod.metadata.uid), container }, nodeName, container, command: [], attach: true, ...opts };
}

/** pods/attach without an upgrade: the request's own errors first, then the upgrade it needs. */
export async function handleAttachWithoutUpgrade(req: ApiRequest, rt: ResourceType, ns: string | undefined, name: string, q: URLSearchParams, svc: ResourceService): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${rt.plural}/attach`);
  await resolveAttach(rt, ns, name, q, svc);
  throw badRequest('Upgrade request required');
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

export function chooseProtocol(offered: Iterable<string>): WebSocketExecProtocol | undefined {
  for (const p of offered) if ((EXEC_PROTOCOLS as readonly string[]).includes(p)) return p as WebSocketExecProtocol;
  return undefined;
}

/** Values of a header that may be repeated or comma-joined (Node joins repeats of unknown headers with ', '). */
export function headerList(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v : [v ?? ''])
    .flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter(Boolean);
}

/**
 * The upgrade request for pods/exec, already authenticated and routed: check
 * it, switch protocols, and serve the exec on the Pod's node.
 */
export async function handleExecUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: { rt: ResourceType; ns: string | undefined; name: string; q: URLSearchParams; subresource?: 'exec' | 'attach' },
  deps: { svc: ResourceService; nodeExec: NodeExec | undefined; wss: WebSocketServer; log: Logger },
): Promise<void> {
  const sub = target.subresource ?? 'exec';
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${target.rt.plural}/${sub}`);
  const x = sub === 'attach' ? await resolveAttach(target.rt, target.ns, target.name, target.q, deps.svc) : await resolveExec(target.rt, target.ns, target.name, target.q, deps.svc);
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const log = deps.log.child({ subresource: `${target.rt.plural}/${sub}` });

  if (upgrade === 'spdy/3.1') {
    const offered = headerList(req.headers['x-stream-protocol-version']);
    const protocol = chooseSpdyExecProtocol(offered);
    // The kubelet's answer when no version is shared (httpstream.Handshake).
    if (!protocol) throw new ApiError(403, 'Forbidden', `unable to upgrade connection: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${SPDY_EXEC_PROTOCOLS.join(' ')}]`);
    const nodeExec = available(deps.nodeExec);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    // Bytes the client sent right after its request belong to the SPDY session.
    if (head.length) socket.unshift(head);
    serveExecSpdy(socket, protocol, x, nodeExec, log.child({ transport: 'spdy' }));
    return;
  }
  if (upgrade !== 'websocket') {
    throw badRequest(`unable to upgrade connection: ${upgrade ? `${req.headers.upgrade} is not supported` : 'Upgrade request required'}; ${sub} speaks WebSocket (${WEBSOCKET_EXEC_PROTOCOLS.join(', ')}) or SPDY/3.1 (${SPDY_EXEC_PROTOCOLS.join(', ')})`);
  }
  const protocol = chooseProtocol(offeredProtocols(req));
  if (!protocol) throw badRequest(`unable to upgrade connection: none of the offered subprotocols [${offeredProtocols(req).join(' ')}] is supported; supported: [${EXEC_PROTOCOLS.join(' ')}]`);
  const nodeExec = available(deps.nodeExec);

  deps.wss.handleUpgrade(req, socket, head, (ws) => {
    void serveExecWebSocket(ws, protocol, x, nodeExec, log.child({ transport: 'websocket' })).catch((e: Error) => {
      log.error(`${sub} relay failed`, { pod: x.pod.metadata.name, container: x.container, error: e.stack ?? e.message });
      ws.terminate();
    });
  });
}

function available(nodeExec: NodeExec | undefined): NodeExec {
  if (!nodeExec) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node exec sources');
  return nodeExec;
}
