// A tiny DNS upstream for tests, on 127.0.0.1 (UDP and TCP on one port): it
// answers every question with A 192.0.2.7 (a documentation address nothing
// is ever sent to) and remembers what it was asked, so a test can see what
// the cluster DNS forwarded. Tests never forward to anything else.
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';

export const UPSTREAM_ANSWER = '192.0.2.7';

export class LoopbackDnsUpstream {
  readonly asked: string[] = [];
  port = 0;
  private udp: Socket | undefined;
  private tcp: Server | undefined;

  async start(): Promise<void> {
    const udp = createSocket('udp4');
    this.udp = udp;
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    this.port = udp.address().port;
    udp.on('message', (msg, from) => udp.send(this.answer(msg), from.port, from.address));
    const tcp = createServer((c) => {
      c.on('error', () => undefined);
      c.on('data', (b: Buffer) => {
        const reply = this.answer(b.subarray(2, 2 + b.readUInt16BE(0)));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        c.end(Buffer.concat([len, reply]));
      });
    });
    this.tcp = tcp;
    await new Promise<void>((r) => tcp.listen(this.port, '127.0.0.1', r));
  }

  private answer(msg: Buffer): Buffer {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    this.asked.push(`${question.type} ${question.name}`);
    const answers = question.type === 'A' ? [{ type: 'A' as const, name: question.name, ttl: 60, data: UPSTREAM_ANSWER }] : [];
    return dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers });
  }

  close(): Promise<void> {
    return new Promise((r) => {
      if (!this.udp) return r();
      this.udp.close(() => (this.tcp ? this.tcp.close(() => r()) : r()));
    });
  }
}

/**
 * The same upstream in a child process, for tests whose own event loop is
 * blocked while a workload asks (kubectl exec through spawnSync): it prints
 * its port, then one line per question. Stopped by its PID.
 */
export interface UpstreamProcess {
  port: number;
  /** Questions asked so far, as "TYPE name". */
  asked(): string[];
  stop(): Promise<void>;
}

export async function startUpstreamProcess(): Promise<UpstreamProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('DNS upstream process did not start'))), 10_000);
    const look = (): void => {
      const m = /^port (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', look);
    void exited.then(() => (clearTimeout(timer), reject(new Error('DNS upstream process exited'))));
  });
  return {
    port,
    asked: () => out.split('\n').filter((l) => l.startsWith('asked ')).map((l) => l.slice('asked '.length)),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const upstream = new LoopbackDnsUpstream();
  await upstream.start();
  process.stdout.write(`port ${upstream.port}\n`);
  let reported = 0;
  setInterval(() => {
    for (; reported < upstream.asked.length; reported++) process.stdout.write(`asked ${upstream.asked[reported]}\n`);
  }, 20);
  process.on('SIGTERM', () => void upstream.close().then(() => process.exit(0)));
}
