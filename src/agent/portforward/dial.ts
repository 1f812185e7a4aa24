// Opening the TCP connection a port-forward relays, and saying why it failed
// in the words the kubelet's runtime uses (Go's net errors), since kubectl
// prints them as they come: "dial tcp 10.244.0.5:8080: connect: connection refused".
import { connect, type Socket } from 'node:net';
import { PortForwardError } from './node-port-forward.js';

/** A connect that has not completed by then fails (a black-holed address would otherwise hang for minutes). */
export const CONNECT_TIMEOUT_MS = 10_000;

const GO_ERRNO: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
  ETIMEDOUT: 'i/o timeout',
  ECONNRESET: 'read: connection reset by peer',
};

export function describeDialError(host: string, port: number, e: NodeJS.ErrnoException): string {
  const where = `dial tcp ${host.includes(':') ? `[${host}]` : host}:${port}`;
  return `${where}: ${(e.code && GO_ERRNO[e.code]) ?? e.message}`;
}

/** Connect to host:port; resolves once connected, rejects with a PortForwardError('dial'). */
export function dialTcp(host: string, port: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the client's FIN half-closes toward the workload, whose answer still comes back.
    const socket = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PortForwardError('dial', describeDialError(host, port, Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new PortForwardError('dial', describeDialError(host, port, e)));
    });
  });
}
