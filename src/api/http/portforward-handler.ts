// The pods/portforward and instances/portforward subresources: GET or POST
// with an upgrade, authenticated and routed like exec. Three ways in, one
// forwarder behind them:
//  - WebSocket with subprotocol SPDY/3.1+portforward.k8s.io: kubectl ≥ 1.30
//    tunnelling SPDY inside WebSocket binary messages (KEP-4006);
//  - Upgrade: SPDY/3.1 with X-Stream-Protocol-Version: portforward.k8s.io:
//    older kubectl, and newer ones when the WebSocket upgrade fails;
//  - WebSocket with v4.channel.k8s.io / channel.k8s.io: client libraries.
// What the request gets wrong (no such Pod, not running, bad ports) is a
// Status before the upgrade; what happens to a forwarded connection comes on
// its error stream, as the kubelet reports it.
import { headerList } from './exec-handler.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { ResourceType } from '../../apis/types.js';
import type { NodePortForward } from '../../agent/portforward/node-port-forward.js';
import type { Logger } from '../../util/log.js';
import { channelPorts, PORTFORWARD_CHANNEL_PROTOCOLS, servePortForwardChannels } from '../portforward/channel-server.js';
import { resolvePortForward } from '../portforward/resolve.js';
import { PORTFORWARD_PROTOCOL, servePortForwardSpdy } from '../portforward/spdy-server.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, methodNotAllowed } from '../status.js';
import { offeredProtocols } from './exec-handler.js';

/** client-go's prefix for a protocol tunnelled in WebSocket (k8s.io/apimachinery/pkg/util/portforward). */
export const SPDY_TUNNEL_PROTOCOL = `SPDY/3.1+${PORTFORWARD_PROTOCOL}`;
const WEBSOCKET_PROTOCOLS: readonly string[] = [SPDY_TUNNEL_PROTOCOL, ...PORTFORWARD_CHANNEL_PROTOCOLS];

/** The first of the client's offers this server speaks, as the apiserver picks. */
function choose(offered: Iterable<string>): string | undefined {
  for (const p of offered) if (WEBSOCKET_PROTOCOLS.includes(p)) return p;
  return undefined;
}

// The subprotocol is chosen here, from the raw header: ws refuses a header holding
// SPDY/3.1+portforward.k8s.io ('/' is no token character, RFC 6455 4.1), which
// kubectl sends nevertheless. The request carries a token in its place while
// ws handles it, and the server answers with the choice as the client spelled it.
const CHOSEN_PLACEHOLDER = 'lodge.chosen-protocol';
const chosen = new WeakMap<IncomingMessage, string>();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024, handleProtocols: (_offered, req) => chosen.get(req) ?? false });

function checkMethod(method: string | undefined, rt: ResourceType): void {
  if (method !== 'GET' && method !== 'POST') throw methodNotAllowed(`the server does not allow ${method} on ${rt.plural}/portforward`);
}

/** portforward without an upgrade (a plain GET or POST, HTTP/2): the request's own errors first, as the apiserver does. */
export async function handlePortForwardWithoutUpgrade(method: string | undefined, rt: ResourceType, ns: string | undefined, name: string, svc: ResourceService): Promise<void> {
  checkMethod(method, rt);
  await resolvePortForward(rt, ns, name, svc);
  throw badRequest('Upgrade request required');
}

export async function handlePortForwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: { rt: ResourceType; ns: string | undefined; name: string; q: URLSearchParams },
  deps: { svc: ResourceService; nodePortForward: NodePortForward | undefined; log: Logger },
): Promise<void> {
  checkMethod(req.method, target.rt);
  const x = await resolvePortForward(target.rt, target.ns, target.name, deps.svc);
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const log = deps.log.child({ subresource: `${target.rt.plural}/portforward` });

  if (upgrade === 'websocket') {
    const protocol = choose(offeredProtocols(req));
    if (!protocol) throw badRequest(`unable to upgrade connection: none of the offered subprotocols [${offeredProtocols(req).join(' ')}] is supported; supported: [${WEBSOCKET_PROTOCOLS.join(' ')}]`);
    const ports = protocol === SPDY_TUNNEL_PROTOCOL ? [] : channelPorts(target.q);
    const npf = available(deps.nodePortForward);
    chosen.set(req, protocol);
    req.headers['sec-websocket-protocol'] = CHOSEN_PLACEHOLDER;
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (protocol === SPDY_TUNNEL_PROTOCOL) servePortForwardSpdy(createWebSocketStream(ws), x, npf, log.child({ transport: 'websocket' }));
      else servePortForwardChannels(ws, ports, x, npf, log.child({ transport: 'websocket-channels' }));
    });
    return;
  }
  if (upgrade === 'spdy/3.1') {
    const versions = headerList(req.headers['x-stream-protocol-version']);
    if (!versions.includes(PORTFORWARD_PROTOCOL)) throw badRequest(`unable to upgrade connection: unable to negotiate protocol: client supports [${versions.join(' ')}], server supports [${PORTFORWARD_PROTOCOL}]`);
    const npf = available(deps.nodePortForward);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORTFORWARD_PROTOCOL}\r\n\r\n`);
    // Bytes the client sent right after its request belong to the SPDY session.
    if (head.length) socket.unshift(head);
    servePortForwardSpdy(socket, x, npf, log.child({ transport: 'spdy' }));
    return;
  }
  throw badRequest(`unable to upgrade connection: ${upgrade ? `${req.headers.upgrade} is not supported` : 'Upgrade request required'}; port-forward speaks SPDY/3.1 (${PORTFORWARD_PROTOCOL}) or WebSocket (${WEBSOCKET_PROTOCOLS.join(', ')})`);
}

function available(npf: NodePortForward | undefined): NodePortForward {
  if (!npf) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node port-forward sources');
  return npf;
}
