// A TCP probe run inside a network namespace (`ip netns exec NS node
// tcp-probe.js ...`), for the network benches: a server that echoes one-byte
// pings and counts bulk bytes, and a client measuring connection setup,
// round trips on one connection, and bulk throughput. Prints one JSON line.
//
//   node tcp-probe.js server PORT
//   node tcp-probe.js connect HOST PORT COUNT      sequential connect+ping+close, ms each
//   node tcp-probe.js rtt HOST PORT COUNT          round trips of 1 byte on one connection, µs each
//   node tcp-probe.js bulk HOST PORT SECONDS       bytes/s written one way, as the server counted them
import { connect, createServer, type Socket } from 'node:net';

const [mode, a1, a2, a3] = process.argv.slice(2);

function out(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect({ host, port, noDelay: true }, () => res(s));
    s.once('error', rej);
  });
}

function once(s: Socket): Promise<Buffer> {
  return new Promise((res, rej) => {
    s.once('data', res);
    s.once('error', rej);
  });
}

async function main(): Promise<void> {
  if (mode === 'server') {
    // First byte decides: 'p' ping-pong (echo everything), 'b' bulk (count, answer the count on end).
    const server = createServer({ noDelay: true }, (s) => {
      let kind: string | undefined;
      let bytes = 0;
      s.on('data', (d) => {
        kind ??= String.fromCharCode(d[0]!);
        if (kind === 'p') s.write(d);
        else bytes += d.length;
      });
      s.on('end', () => (kind === 'b' ? s.end(String(bytes - 1)) : s.end()));
      s.on('error', () => undefined);
    });
    server.listen(Number(a1), '0.0.0.0', () => out({ listening: Number(a1) }));
    return;
  }
  const host = a1!;
  const port = Number(a2);
  if (mode === 'connect') {
    const ms: number[] = [];
    for (let i = 0; i < Number(a3); i++) {
      const t = process.hrtime.bigint();
      const s = await open(host, port);
      s.write('p');
      await once(s);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      s.destroy();
    }
    out({ ms });
  } else if (mode === 'rtt') {
    const s = await open(host, port);
    s.write('p');
    await once(s);
    const us: number[] = [];
    for (let i = 0; i < Number(a3); i++) {
      const t = process.hrtime.bigint();
      s.write('x');
      await once(s);
      us.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    s.destroy();
    out({ us });
  } else if (mode === 'bulk') {
    const s = await open(host, port);
    const chunk = Buffer.alloc(256 * 1024, 1);
    s.write('b');
    const t0 = process.hrtime.bigint();
    const until = Date.now() + Number(a3) * 1000;
    while (Date.now() < until) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
    const counted = new Promise<string>((res) => {
      let text = '';
      s.on('data', (d) => (text += d.toString()));
      s.on('end', () => res(text));
    });
    s.end();
    const bytes = Number(await counted);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    out({ bytes, seconds: secs, bytesPerSecond: bytes / secs });
  } else {
    throw new Error(`tcp-probe: unknown mode ${String(mode)}`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`tcp-probe: ${e.message}\n`);
  process.exit(1);
});
