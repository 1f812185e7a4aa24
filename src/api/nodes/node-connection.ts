// How the API server reaches a node agent that is not in its own process:
// the address, port and CA the agent published on its Node (status
// addresses and daemonEndpoints, the lodge.dev/node-server-ca annotation),
// all written by the agent through the authenticated API. A node that has
// published no port has no node server (an in-process agent, or none yet).
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../../apis/types.js';

import { NODE_SERVER_CA_ANNOTATION } from '../../agent/node-server/serving-cert.js';

export interface NodeEndpoint {
  host: string;
  port: number;
  caPem: string;
}

/** The node server of a Node object, or a reason why it has none. */
export function nodeEndpoint(node: KubeObject): NodeEndpoint | string {
  const name = String(node.metadata.name);
  const port = Number((node.status?.daemonEndpoints as { kubeletEndpoint?: { Port?: number } } | undefined)?.kubeletEndpoint?.Port ?? 0);
  if (!port) return `node "${name}" publishes no node server endpoint`;
  const addrs = (node.status?.addresses as Array<{ type: string; address: string }> | undefined) ?? [];
  const host = addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs.find((a) => a.type === 'Hostname')?.address;
  if (!host) return `node "${name}" publishes no address`;
  const caPem = node.metadata.annotations?.[NODE_SERVER_CA_ANNOTATION];
  if (!caPem) return `node "${name}" publishes no ${NODE_SERVER_CA_ANNOTATION}`;
  return { host, port, caPem };
}

/** GET a node server path; resolves with the response once its head arrives. */
export function nodeGet(ep: NodeEndpoint, token: string, path: string, signal: AbortSignal): Promise<IncomingMessage> {
  const opts: RequestOptions = {
    host: ep.host,
    port: ep.port,
    path,
    method: 'GET',
    ca: ep.caPem,
    headers: { authorization: `Bearer ${token}` },
    signal,
  };
  return new Promise((resolve, reject) => {
    const req = request(opts, resolve);
    req.once('error', (e) => reject(new Error(`node server ${ep.host}:${ep.port}: ${e.message}`, { cause: e })));
    req.end();
  });
}

/**
 * A node server's refusal: its {reason, message} body (or the text, when it
 * is not JSON). reason is kept only when it is one of `known`, else 'node'.
 */
export async function nodeRefusal<R extends string>(res: IncomingMessage, known: readonly R[]): Promise<{ reason: R | 'node'; message: string | undefined; body: string }> {
  let body = '';
  for await (const c of res) body += String(c);
  let parsed: { reason?: string; message?: string } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    /* not JSON: the text is the message */
  }
  const reason = (known as readonly string[]).includes(parsed.reason ?? '') ? (parsed.reason as R) : 'node';
  return { reason, message: parsed.message, body };
}
