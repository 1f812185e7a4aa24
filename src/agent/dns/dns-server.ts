// The cluster DNS server: UDP and TCP on one address and port (53 on the
// node's bridge gateway in the agent; any port on loopback in tests). Each
// question is answered from the record index when it is in the cluster's
// zones and forwarded upstream otherwise. Answers over UDP that do not fit
// the asker's buffer (512 bytes, or its EDNS size) are sent truncated, so it
// asks again over TCP, as RFC 1035 says.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, isIP, type Server } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type Question } from 'dns-packet';
import type { Logger } from '../../util/log.js';
import type { ResolvedAnswer } from './cluster-resolver.js';
import type { UpstreamForwarder } from './upstream.js';

export interface DnsServerOptions {
  host: string;
  /** 0: a free port (the same number for UDP and TCP). */
  port: number;
  /** Our answer, or undefined to forward. The asker's address picks its namespace. */
  resolve(q: Question, askerIp: string): ResolvedAnswer | undefined;
  forwarder: UpstreamForwarder;
  log: Logger;
}

export interface DnsServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const CLASSIC_UDP_LIMIT = 512;
/** What we advertise and accept as an EDNS buffer: the DNS flag day 2020 size, safe from fragmentation. */
const EDNS_UDP_SIZE = 1232;
/** A TCP client gets this long between queries before its connection is closed. */
const TCP_IDLE_MS = 10_000;

export async function startDnsServer(o: DnsServerOptions): Promise<DnsServer> {
  const udp = createSocket({ type: isIP(o.host) === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(o.port, o.host, () => (udp.off('error', reject), resolve()));
  });
  const port = udp.address().port;
  const tcp = createServer((conn) => serveTcp(conn, o));
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, o.host, () => (tcp.off('error', reject), resolve()));
    });
  } catch (e) {
    udp.close();
    throw new Error(`DNS server: cannot listen on TCP ${o.host}:${port}: ${(e as Error).message}`);
  }
  udp.on('error', (e) => o.log.warn('DNS UDP socket error', { host: o.host, port, error: e.message }));
  udp.on('message', (msg, from) => {
    void answer(msg, from.address, 'udp', o).then((out) => out && udp.send(out, from.port, from.address));
  });
  return { host: o.host, port, close: () => closeBoth(udp, tcp) };
}

function serveTcp(conn: import('node:net').Socket, o: DnsServerOptions): void {
  let buf = Buffer.alloc(0);
  conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
  conn.on('error', () => undefined);
  conn.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    // Several queries may come on one connection, each with its 2-byte length.
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      void answer(msg, conn.remoteAddress ?? '', 'tcp', o).then((out) => {
        if (!out || conn.destroyed) return;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length);
        conn.write(Buffer.concat([len, out]));
      });
    }
  });
}

/** The bytes to send back, or undefined to stay silent (not a query at all). */
async function answer(msg: Buffer, asker: string, transport: 'udp' | 'tcp', o: DnsServerOptions): Promise<Buffer | undefined> {
  const askerIp = asker.replace(/^::ffff:/, '');
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return msg.length >= 12 ? errorReply(msg.readUInt16BE(0), RCODE.FORMERR) : undefined;
  }
  if (query.type !== 'query') return undefined;
  const opcode = (query as DecodedPacket & { opcode?: string }).opcode;
  if (opcode !== 'QUERY') return errorReply(query.id ?? 0, RCODE.NOTIMP, query.questions);
  const q = query.questions?.[0];
  if (!q || query.questions!.length !== 1) return errorReply(query.id ?? 0, RCODE.FORMERR, query.questions);
  let ours: ResolvedAnswer | undefined;
  try {
    ours = o.resolve(q, askerIp);
  } catch (e) {
    o.log.warn('DNS lookup failed', { name: q.name, type: q.type, error: (e as Error).message });
    return errorReply(query.id ?? 0, RCODE.SERVFAIL, query.questions);
  }
  if (!ours) {
    const fwd = await o.forwarder.forward(msg, transport);
    if (fwd.answer) return fwd.answer;
    o.log.warn('DNS forward failed', { name: q.name, type: q.type, asker: askerIp, errors: fwd.errors });
    return errorReply(query.id ?? 0, RCODE.SERVFAIL, query.questions);
  }
  const opt = query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
  const rd = query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
  const reply: Packet = {
    type: 'response',
    id: query.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | rd | RCODE[ours.rcode],
    questions: [q],
    answers: ours.answers,
    authorities: ours.authorities,
    additionals: [...ours.additionals, ...(opt ? [ednsRecord()] : [])],
  };
  const out = dnsPacket.encode(reply);
  const limit = opt ? Math.max(CLASSIC_UDP_LIMIT, Math.min(opt.udpPayloadSize, EDNS_UDP_SIZE)) : CLASSIC_UDP_LIMIT;
  if (transport === 'tcp' || out.length <= limit) return out;
  return dnsPacket.encode({ ...reply, flags: reply.flags! | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: opt ? [ednsRecord()] : [] });
}

function ednsRecord(): Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

function errorReply(id: number, rcode: number, questions: Question[] = []): Buffer {
  return dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_AVAILABLE | rcode, questions });
}

function closeBoth(udp: Socket, tcp: Server): Promise<void> {
  return new Promise((resolve) => {
    udp.close(() => tcp.close(() => resolve()));
    // Open TCP connections would hold close() until they idle out.
    (tcp as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
