// How the node server refuses a request: a status code and {reason, message},
// which the API server's node connection maps back to a Kubernetes Status.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export function fail(res: ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ reason, message }));
}

/** The same for an upgrade request, answered on its raw socket (no ServerResponse exists for those). */
export function refuseUpgrade(socket: Duplex, code: number, reason: string, message: string): void {
  const body = JSON.stringify({ reason, message });
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
