// The kubelet's port-forward over Kubernetes' WebSocket channel protocol
// (v4.channel.k8s.io, channel.k8s.io), as client libraries speak it
// (@kubernetes/client-node): the ports are in the query, each gets a data
// channel (2i) and an error channel (2i+1), every binary message starts
// with its channel byte, and each channel's first message from the server
// is the port, two bytes little endian. One connection per port per
// WebSocket; the WebSocket closes when they have all ended.
import { WebSocket, type RawData } from 'ws';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/log.js';
import type { NodePortForward } from '../../agent/portforward/node-port-forward.js';
import { badRequest } from '../status.js';
import { parsePort, type PortForwardRequest } from './resolve.js';

export const PORTFORWARD_CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io'] as const;

/** The `ports` query (repeated, or comma-separated), checked before the upgrade as the kubelet does. */
export function channelPorts(q: URLSearchParams): number[] {
  const texts = q.getAll('ports').flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  if (!texts.length) throw badRequest('query parameter "ports" is required: the ports to forward to');
  return texts.map((t) => {
    const port = parsePort(t);
    if (!port) throw badRequest(`invalid port ${JSON.stringify(t)} in query parameter "ports": a port number between 1 and 65535 is required`);
    return port;
  });
}

function frame(channel: number, data: Buffer | string): Buffer {
  return Buffer.concat([Buffer.of(channel), typeof data === 'string' ? Buffer.from(data) : data]);
}

export function servePortForwardChannels(ws: WebSocket, ports: number[], x: PortForwardRequest, nodePortForward: NodePortForward, log: Logger): void {
  const fields = { [x.target.kind]: x.obj.metadata.name, namespace: x.obj.metadata.namespace, node: x.nodeName, ports };
  const conns: Array<Duplex | undefined> = ports.map(() => undefined);
  let open = ports.length;
  let blocked = 0;
  const send = (b: Buffer, cb?: () => void): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(b, { binary: true }, () => cb?.());
  };
  const done = (): void => {
    if (--open === 0 && ws.readyState === WebSocket.OPEN) ws.close(1000);
  };
  ws.on('error', () => undefined); // a vanished client shows as 'close'
  ws.on('close', () => {
    for (const c of conns) c?.destroy();
  });
  // What the client sends before the workloads are connected waits in the socket.
  ws.pause();
  ws.on('message', (data: RawData) => {
    const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (b.length < 2 || b[0]! % 2 !== 0) return;
    const c = conns[b[0]! / 2];
    if (!c || c.writableEnded) return;
    if (!c.write(b.subarray(1))) {
      if (blocked++ === 0) ws.pause();
      c.once('drain', () => {
        if (--blocked === 0) ws.resume();
      });
    }
  });
  ports.forEach((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    send(frame(2 * i, portBytes));
    send(frame(2 * i + 1, portBytes));
  });
  const say = (port: number, why: string): string => `error forwarding port ${port} to ${x.what}, uid ${x.target.uid}: ${why}`;
  void Promise.all(
    ports.map(async (port, i) => {
      let c: Duplex;
      try {
        c = await nodePortForward.connect(x.nodeName, x.target, port);
      } catch (e) {
        log.info('port-forward connect failed', { ...fields, port, error: (e as Error).message });
        send(frame(2 * i + 1, say(port, (e as Error).message)));
        return done();
      }
      if (ws.readyState !== WebSocket.OPEN) return void c.destroy();
      conns[i] = c;
      // One message in flight per connection: a slow client pauses the workload, not a growing buffer.
      c.on('data', (chunk: Buffer) => {
        c.pause();
        send(frame(2 * i, chunk), () => c.resume());
      });
      c.on('error', (e: Error) => send(frame(2 * i + 1, say(port, e.message))));
      // No half-close in this protocol: the workload's FIN ends the connection.
      c.on('end', () => c.end());
      c.on('close', done);
    }),
  ).then(() => ws.resume());
  log.info('port-forward session started', { ...fields, protocol: ws.protocol });
}
