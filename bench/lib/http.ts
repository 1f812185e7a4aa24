// HTTPS clients for the benches: one undici Client per connection, HTTP/1.1
// or HTTP/2, trusting Lodge's CA, with the admin bearer token.
import { buildConnector, Client } from 'undici';
import type { RunningLodge } from './lodge.js';

export type Protocol = 'h1' | 'h2';

export interface Conn {
  client: Client;
  /** ALPN protocol the connection negotiated ('h2', 'http/1.1'), once connected. */
  alpn(): string | undefined;
}

export function connect(l: RunningLodge, proto: Protocol): Conn {
  const allowH2 = proto === 'h2';
  const base = buildConnector({ ca: l.ca, allowH2 } as buildConnector.BuildOptions);
  let alpn: string | undefined;
  const client = new Client(l.url, {
    allowH2,
    pipelining: 1,
    keepAliveTimeout: 600_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: (opts, cb) =>
      base(opts, (err, sock) => {
        if (sock) alpn = (sock as { alpnProtocol?: string | false }).alpnProtocol || 'http/1.1';
        (cb as (e: Error | null, s: unknown) => void)(err, sock);
      }),
  });
  return { client, alpn: () => alpn };
}

export function authHeaders(l: RunningLodge, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${l.token}`, 'user-agent': 'lodge-bench/1', ...extra };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

/** One request; resolves with the whole body as text. Throws on a status outside `ok`. */
export async function call(
  c: Conn,
  l: RunningLodge,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  o: { body?: string; headers?: Record<string, string>; ok?: number[] } = {},
): Promise<{ status: number; text: string }> {
  const headers = authHeaders(l, o.headers);
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const r = await c.client.request({ method, path, headers, body: o.body });
  const text = await r.body.text();
  if (!(o.ok ?? [200, 201]).includes(r.statusCode)) throw new HttpError(r.statusCode, text, `${method} ${path}`);
  return { status: r.statusCode, text };
}

export async function closeAll(conns: Conn[]): Promise<void> {
  await Promise.allSettled(conns.map((c) => c.client.destroy()));
}

/**
 * A GET whose body is only counted, not decoded: the time to the response
 * headers (the server built the answer) and to its last byte (it arrived).
 */
export async function timedGet(c: Conn, l: RunningLodge, path: string, headers: Record<string, string> = {}): Promise<{ ttfbMs: number; totalMs: number; bytes: number }> {
  const t0 = performance.now();
  const r = await c.client.request({ method: 'GET', path, headers: authHeaders(l, headers) });
  const t1 = performance.now();
  let bytes = 0;
  for await (const chunk of r.body) bytes += (chunk as Buffer).length;
  const t2 = performance.now();
  if (r.statusCode !== 200) throw new HttpError(r.statusCode, '', `GET ${path}`);
  return { ttfbMs: t1 - t0, totalMs: t2 - t0, bytes };
}
