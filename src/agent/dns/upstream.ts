// Forwarding what is not the cluster's to the host's resolvers (or those
// given with --dns-upstream): the query's bytes as they came, over the
// transport they came on (UDP, or TCP after a truncated answer), to each
// upstream in turn until one answers within the timeout. A fresh socket per
// query keeps answers from mixing without tracking ids across queries.
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

const DNS_PORT = 53;
/** Per upstream; glibc's resolver waits 5 s for the whole query, so two upstreams still fit. */
const DEFAULT_TIMEOUT_MS = 2000;
/** Largest answer kept over UDP (EDNS buffers rarely exceed 4096). */
const MAX_UDP = 65535;

/** "ADDR", "ADDR:PORT" or "[IPv6]:PORT". */
export function parseUpstream(text: string): Upstream {
  const t = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(t);
  const m = bracketed ?? (isIP(t) === 6 ? [t, t, undefined] : plain);
  const host = m?.[1];
  const port = m?.[2] === undefined ? DNS_PORT : Number(m[2]);
  if (!host || isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`DNS upstream must be ADDR or ADDR:PORT with an IP address (e.g. 10.0.0.2 or 127.0.0.1:5353 or [::1]:53), not ${JSON.stringify(text)}`);
  }
  return { host, port };
}

export function formatUpstream(u: Upstream): string {
  return isIP(u.host) === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

export class UpstreamForwarder {
  constructor(
    private readonly upstreams: () => Upstream[],
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  /** The first upstream answer, or the reasons none came (each upstream's error). */
  async forward(query: Buffer, transport: 'udp' | 'tcp'): Promise<{ answer?: Buffer; errors: string[] }> {
    const errors: string[] = [];
    for (const u of this.upstreams()) {
      try {
        return { answer: transport === 'udp' ? await this.udp(u, query) : await this.tcp(u, query), errors };
      } catch (e) {
        errors.push(`${formatUpstream(u)}: ${(e as Error).message}`);
      }
    }
    if (!this.upstreams().length) errors.push('no upstream resolvers configured');
    return { errors };
  }

  private udp(u: Upstream, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sock = createSocket(isIP(u.host) === 6 ? 'udp6' : 'udp4');
      const id = query.readUInt16BE(0);
      const done = (err: Error | undefined, answer?: Buffer): void => {
        clearTimeout(timer);
        sock.close();
        if (err) reject(err);
        else resolve(answer!);
      };
      const timer = setTimeout(() => done(new Error(`no answer over UDP in ${this.timeoutMs} ms`)), this.timeoutMs);
      sock.on('error', (e) => done(e));
      sock.on('message', (msg, from) => {
        // Only the upstream's answer to this query: anything else on the port is ignored.
        if (from.port !== u.port || msg.length < 12 || msg.readUInt16BE(0) !== id || msg.length > MAX_UDP) return;
        done(undefined, msg);
      });
      sock.connect(u.port, u.host, () => sock.send(query));
    });
  }

  private tcp(u: Upstream, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: u.host, port: u.port });
      let buf = Buffer.alloc(0);
      const done = (err: Error | undefined, answer?: Buffer): void => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(answer!);
      };
      const timer = setTimeout(() => done(new Error(`no answer over TCP in ${this.timeoutMs} ms`)), this.timeoutMs);
      sock.on('error', (e) => done(e));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      sock.on('end', () => done(new Error('connection closed before a whole answer')));
    });
  }
}
