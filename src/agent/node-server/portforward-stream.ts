// Port-forward between the API server and a node server: one WebSocket per
// TCP connection, at /portForward/pod/UID?port=N or /portForward/instance/UID?port=N.
// The node connects first and answers a failure as an HTTP error with
// {reason, message} instead of upgrading (reason 'dial' or 'target', the
// message as the kubelet words it); once upgraded, the bytes travel as
// ws-byte-stream.ts frames them.
import { refuseUpgrade } from './fail.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../../util/log.js';
import { PortForwardError, type NodePortForward, type PortForwardTarget } from '../portforward/node-port-forward.js';
import { webSocketByteStream } from '../portforward/ws-byte-stream.js';

/** Path of a port-forward on the node server. */
export function portForwardPath(target: PortForwardTarget, port: number): string {
  return `/portForward/${target.kind}/${encodeURIComponent(target.uid)}?port=${port}`;
}

/** The target and port of a node server port-forward URL, or undefined when it names none (a bad port is 0). */
export function parsePortForwardPath(url: URL): { target: PortForwardTarget; port: number } | undefined {
  const m = /^\/portForward\/(pod|instance)\/([^/]+)$/.exec(url.pathname);
  if (!m) return undefined;
  const port = Number(url.searchParams.get('port'));
  return { target: { kind: m[1] as 'pod' | 'instance', uid: decodeURIComponent(m[2]!) }, port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 0 };
}


/** Serve one upgrade request: connect to the workload, then relay the connection over the WebSocket. */
export async function servePortForward(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  m: { target: PortForwardTarget; port: number },
  deps: { nodeName: string; portForward: NodePortForward; wss: WebSocketServer; log: Logger },
): Promise<void> {
  if (!m.port) return refuseUpgrade(socket, 400, 'BadRequest', 'port must be an integer between 1 and 65535');
  let conn: Duplex;
  try {
    conn = await deps.portForward.connect(deps.nodeName, m.target, m.port);
  } catch (e) {
    if (e instanceof PortForwardError) return refuseUpgrade(socket, e.reason === 'target' ? 404 : 502, e.reason, e.message);
    return refuseUpgrade(socket, 500, 'InternalError', (e as Error).message);
  }
  if (socket.destroyed) return void conn.destroy();
  deps.wss.handleUpgrade(req, socket, head, (ws) => {
    const tunnel = webSocketByteStream(ws);
    // Errors end both sides; a reset by the workload is the API server's to report, here it is only logged.
    conn.on('error', (e: Error) => {
      deps.log.info('port-forward connection ended with an error', { target: m.target.uid, port: m.port, error: e.message });
      tunnel.destroy(e);
    });
    tunnel.on('error', () => conn.destroy());
    tunnel.pipe(conn);
    conn.pipe(tunnel);
    // A clean end has both directions finished and the socket closing itself; anything else aborts it.
    tunnel.on('close', () => {
      if (!(conn.readableEnded && conn.writableEnded)) conn.destroy();
    });
  });
}
