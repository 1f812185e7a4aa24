// How the node server refuses a request: a status code and {reason, message},
// which the API server's node connection maps back to a Kubernetes Status.
import type { ServerResponse } from 'node:http';

export function fail(res: ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ reason, message }));
}
