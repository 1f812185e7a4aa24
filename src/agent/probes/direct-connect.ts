// TCP connections from the node to a Pod's own address, for tcpSocket and
// httpGet probes of a Pod on the node's bridge (or to a probe's explicit
// `host`), as the kubelet makes them from the host's network: an ordinary
// socket, no helper process. Pods without an address are probed inside
// their namespace instead (netns-connect.ts).
import { connect, isIP, type Socket } from 'node:net';
import type { NetnsStream } from './netns-connect.js';

/** host:port as Go's net.JoinHostPort writes it (kubelet's messages quote it so). */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Connect and at once close: ok when the connect succeeded. */
export function tcpConnectDirect(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const where = `dial tcp ${joinHostPort(host, port)}`;
    const sock = connect({ host, port });
    const settle = (ok: boolean, message: string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, message });
    };
    const timer = setTimeout(() => settle(false, `${where}: i/o timeout`), timeoutMs);
    sock.once('connect', () => settle(true, ''));
    sock.once('error', (e: NodeJS.ErrnoException) => settle(false, `${where}: connect: ${describe(e)}`));
  });
}

/** A connection to host:port in the shape the HTTP probe uses for the in-namespace relay. */
export function openStreamDirect(host: string, port: number): NetnsStream {
  const sock: Socket = connect({ host, port });
  let error = '';
  sock.on('error', (e: NodeJS.ErrnoException) => (error = `dial tcp ${joinHostPort(host, port)}: connect: ${describe(e)}`));
  return { stream: sock, stderr: () => error, close: () => sock.destroy() };
}

function describe(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'EHOSTUNREACH') return 'no route to host';
  if (e.code === 'ENETUNREACH') return 'network is unreachable';
  return e.message;
}
