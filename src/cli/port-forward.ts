// `lodge port-forward TARGET [--address A] LOCAL:REMOTE...`: listen on local
// ports and forward each connection to a Pod's or an Instance's port through
// the portforward subresource, as kubectl does: one SPDY/3.1 connection
// (portforward.k8s.io), an error and a data stream per forwarded connection. A failed connection is reported and closed; the others and the
// tunnel stay up until SIGINT or SIGTERM.
import type { Command } from 'commander';
import { createServer, type Server, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ClientConfig } from '../client/config.js';
import { ApiError } from '../client/errors.js';
import { INSTANCES, PODS } from '../client/refs.js';
import { SpdyConnection } from '../api/spdy/connection.js';
import { PORTFORWARD_PROTOCOL } from '../api/portforward/spdy-server.js';
import { withContext, type CliContext } from './context.js';

interface PortForwardOptions {
  address: string;
}

export interface PortPair {
  /** 0: pick a free one. */
  local: number;
  remote: number;
}

type TargetKind = 'pod' | 'instance';

export function registerPortForward(program: Command): void {
  program
    .command('port-forward')
    .description('Forward local ports to a Pod or an Instance (a system container, or a VM with an address)')
    .argument('<target>', 'pod/NAME, instance/NAME, or NAME (an Instance of that name, else a Pod)')
    .argument('<ports...>', 'LOCAL:REMOTE, :REMOTE (a free local port) or PORT (the same on both sides)')
    .option('--address <addresses>', 'local addresses to listen on, comma-separated', '127.0.0.1')
    .action(async (target: string, ports: string[], opts: PortForwardOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        process.exitCode = await runPortForward(ctx, target, ports, opts);
      });
    });
}

function port(text: string, what: string, allowZero: boolean): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) throw new Error(`invalid ${what} port ${JSON.stringify(text)}: a number between ${allowZero ? 0 : 1} and 65535 is required`);
  return n;
}

/** kubectl's port syntax: LOCAL:REMOTE, :REMOTE, PORT. */
export function parsePortPairs(specs: string[]): PortPair[] {
  if (!specs.length) throw new Error('at least 1 PORT is required for port-forward');
  return specs.map((spec) => {
    const parts = spec.split(':');
    if (parts.length > 2) throw new Error(`invalid port format ${JSON.stringify(spec)}: use LOCAL:REMOTE, :REMOTE or PORT`);
    if (parts.length === 1) return { local: port(parts[0]!, 'local', false), remote: port(parts[0]!, 'remote', false) };
    return { local: parts[0] === '' ? 0 : port(parts[0]!, 'local', true), remote: port(parts[1]!, 'remote', false) };
  });
}

/** Which object the target names; a bare NAME is an Instance when one exists, else a Pod. */
async function resolveTarget(ctx: CliContext, arg: string): Promise<{ kind: TargetKind; name: string }> {
  const m = /^(pods?|po|instances?|inst)\/(.+)$/.exec(arg);
  const get = (kind: TargetKind, name: string): Promise<unknown> => ctx.client.get(kind === 'pod' ? PODS : INSTANCES, name, { namespace: ctx.namespace });
  if (m) {
    const kind: TargetKind = m[1]!.startsWith('inst') ? 'instance' : 'pod';
    await get(kind, m[2]!);
    return { kind, name: m[2]! };
  }
  if (arg.includes('/')) throw new Error(`cannot port-forward to ${JSON.stringify(arg)}: use pod/NAME or instance/NAME (kubectl resolves services and deployments to a Pod)`);
  try {
    await get('instance', arg);
    return { kind: 'instance', name: arg };
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 404) throw e;
    await get('pod', arg);
    return { kind: 'pod', name: arg };
  }
}

function tunnelUrl(config: ClientConfig, namespace: string, t: { kind: TargetKind; name: string }): URL {
  const base = t.kind === 'pod' ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : `/apis/lodge.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/instances`;
  return new URL(`${base}/${encodeURIComponent(t.name)}/portforward`, config.server);
}

/**
 * The SPDY connection: POST with Upgrade: SPDY/3.1, as kubectl does when it
 * does not tunnel in WebSocket (the ws library refuses the tunnel's
 * subprotocol name, which is no RFC 6455 token). Rejects with the server's
 * Status when it refuses.
 */
function openTunnel(config: ClientConfig, url: URL): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': PORTFORWARD_PROTOCOL };
    if (config.token) headers.authorization = `Bearer ${config.token}`;
    const options: RequestOptions = {
      method: 'POST',
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      path: url.pathname,
      headers,
      ca: config.caPem,
      cert: config.clientCertPem,
      key: config.clientKeyPem,
      rejectUnauthorized: !config.insecureSkipTlsVerify,
      servername: config.tlsServerName,
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
    req.once('upgrade', (res, socket, head) => {
      const version = String(res.headers['x-stream-protocol-version'] ?? '');
      if (version !== PORTFORWARD_PROTOCOL) {
        socket.destroy();
        return reject(new Error(`unable to negotiate protocol: client supports ${PORTFORWARD_PROTOCOL}, server returned ${JSON.stringify(version)}`));
      }
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => reject(ApiError.fromResponse(res.statusCode ?? 500, Buffer.concat(parts).toString('utf8'), 'POST', url.pathname)));
      res.on('error', (e) => reject(new Error(`port-forward: the server refused the upgrade (${res.statusCode}): ${e.message}`)));
    });
    req.once('error', (e) => reject(new Error(`cannot open the port-forward connection to ${config.server}: ${e.message}`)));
    req.end();
  });
}

function listen(address: string, localPort: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a client that is done sending still gets the whole answer.
    const server = createServer({ allowHalfOpen: true });
    server.once('error', (e) => reject(new Error(`unable to listen on ${address}:${localPort}: ${e.message}`)));
    server.listen(localPort, address, () => resolve(server));
  });
}

export async function runPortForward(ctx: CliContext, targetArg: string, specs: string[], opts: PortForwardOptions): Promise<number> {
  const pairs = parsePortPairs(specs);
  const addresses = opts.address.split(',').map((a) => a.trim()).filter(Boolean);
  const target = await resolveTarget(ctx, targetArg);
  const transport = await openTunnel(ctx.client.config, tunnelUrl(ctx.client.config, ctx.namespace, target));
  const conn = new SpdyConnection(transport, { role: 'client' });
  let requestId = 0;

  const forward = (sock: Socket, pair: PortPair, localPort: number): void => {
    process.stdout.write(`Handling connection for ${localPort}\n`);
    const headers = { port: String(pair.remote), requestid: String(requestId++) };
    let error: ReturnType<SpdyConnection['openStream']>;
    let data: ReturnType<SpdyConnection['openStream']>;
    try {
      // The error stream first, as kubectl opens them; this end writes nothing on it.
      error = conn.openStream({ streamtype: 'error', ...headers }, { fin: true });
      data = conn.openStream({ streamtype: 'data', ...headers });
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      return void sock.destroy();
    }
    let message = '';
    error.setEncoding('utf8').on('data', (t: string) => (message += t));
    error.on('end', () => {
      if (!message) return;
      process.stderr.write(`error: an error occurred forwarding ${localPort} -> ${pair.remote}: ${message}\n`);
      sock.destroy();
    });
    error.on('error', () => undefined);
    sock.pipe(data);
    data.pipe(sock);
    sock.on('error', () => data.reset());
    data.on('error', () => sock.destroy());
    // Gone without a FIN of its own (reset, or destroyed after an error): the stream goes too.
    sock.on('close', () => {
      if (!data.destroyed && !data.writableEnded) data.reset();
    });
  };

  const servers: Server[] = [];
  try {
    for (const pair of pairs) {
      for (const address of addresses) {
        const server = await listen(address, pair.local);
        servers.push(server);
        const localPort = (server.address() as { port: number }).port;
        // A second address for a picked port uses the same number.
        pair.local = localPort;
        const shown = address.includes(':') ? `[${address}]` : address;
        process.stdout.write(`Forwarding from ${shown}:${localPort} -> ${pair.remote}\n`);
        server.on('connection', (sock) => forward(sock, pair, localPort));
      }
    }
  } catch (e) {
    for (const s of servers) s.close();
    conn.destroy();
    throw e;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      stopping = true;
      for (const s of servers) s.close();
      conn.destroy();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void conn.closed.then((e) => {
      if (stopping) return;
      for (const s of servers) s.close();
      process.stderr.write(`error: lost connection to ${target.kind}${e ? `: ${e.message}` : ''}\n`);
      resolve(1);
    });
  });
}
