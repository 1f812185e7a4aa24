// The Service data path, end to end on a real `lodge up` (its node agent,
// bridge and nft table): a client Pod talks to a server Pod directly (its
// Pod IP) and through a ClusterIP Service (the VIP, DNATed by Lodge's nft
// rules), alternating sample by sample so drift hits both alike:
//   - connect: TCP connect + one 1-byte round trip + close (per connection);
//   - rtt: 1-byte round trips on one established connection (per packet);
//   - bulk: one connection's throughput for a few seconds.
// The probe (bench/lib/tcp-probe.ts) runs with node inside each Pod's network
// namespace (`ip netns exec`): busybox has no load tool, and the same
// program on both paths is what makes the ratio fair. Target: VIP/direct ≤ 1.1.
//
//   node dist/bench/service-path.js [--rounds 5] [--connects 200] [--rtts 2000] [--bulk-seconds 2] [--no-write]
//
// Root only. Everything started is stopped by PID; the lodge's network is
// removed with it (bench/lib/lodge.ts). Nothing here asserts a timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { netnsName } from '../src/agent/pod-sandbox.js';
import { commandLine, RESULTS_MD } from './api.js';
import { intArg } from './lib/args.js';
import { runCmd } from './lib/host.js';
import { call, closeAll, connect, type Conn } from './lib/http.js';
import { startLodge, type RunningLodge } from './lib/lodge.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { writeSection } from './lib/results-md.js';
import { sleep, summarize, type Summary } from './lib/stats.js';

export const SECTION = 'Step 5 — Service data path (Pod → ClusterIP vs Pod → Pod)';
const NODE = 'bench';
const NS = 'service-path';
const PORT = 9000;
const PROBE = resolve(dirname(fileURLToPath(import.meta.url)), 'lib', 'tcp-probe.js');

interface Options {
  rounds: number;
  connects: number;
  rtts: number;
  bulkSeconds: number;
  log: (line: string) => void;
}

interface PathSamples {
  connectMs: number[];
  rttUs: number[];
  bulkBps: number[];
}

export interface ServicePathResult {
  direct: PathSamples;
  vip: PathSamples;
  serverIP: string;
  clusterIP: string;
  lodgeCommand: string;
}

/** Run the probe in a Pod's namespace; its JSON line. */
async function probe(uid: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await runCmd('ip', ['netns', 'exec', netnsName(uid), process.execPath, PROBE, ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`tcp-probe ${args.join(' ')} in pod ${uid}: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function pod(name: string, labels: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] } };
}

async function waitRunning(api: Conn, l: RunningLodge, name: string): Promise<{ uid: string; ip: string }> {
  const by = Date.now() + 120_000;
  for (;;) {
    const p = JSON.parse((await call(api, l, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`)).text) as { metadata: { uid: string }; status?: { phase?: string; podIP?: string } };
    if (p.status?.phase === 'Running' && p.status.podIP) return { uid: p.metadata.uid, ip: p.status.podIP };
    if (Date.now() > by) throw new Error(`pod ${name} not Running with an IP after 120 s:\n${l.logTail()}`);
    await sleep(100);
  }
}

export async function runServicePath(o: Options): Promise<ServicePathResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'lodge-bench-svc-'));
  let lodge: RunningLodge | undefined;
  let api: Conn | undefined;
  let server: ChildProcess | undefined;
  try {
    lodge = await startLodge({ agent: true, parent: tmp, upArgs: ['--node-name', NODE, '--compact-interval', '3600'], env: { LODGE_LOG_LEVEL: 'warn' } });
    o.log(`lodge up: pid ${lodge.pid} at ${lodge.url}`);
    api = connect(lodge, 'h1');
    await call(api, lodge, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });
    await call(api, lodge, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: JSON.stringify(pod('server', { app: 'server' })) });
    await call(api, lodge, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: JSON.stringify(pod('client', { app: 'client' })) });
    const svc = JSON.parse(
      (await call(api, lodge, 'POST', `/api/v1/namespaces/${NS}/services`, { body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'server', namespace: NS }, spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: PORT }] } }) })).text,
    ) as { spec: { clusterIP: string } };
    const srv = await waitRunning(api, lodge, 'server');
    const cli = await waitRunning(api, lodge, 'client');
    // The server probe lives in the server Pod's namespace: the Service's endpoint is that Pod's IP and port.
    server = spawn('ip', ['netns', 'exec', netnsName(srv.uid), process.execPath, PROBE, 'server', String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      server!.stdout!.once('data', () => res());
      server!.once('exit', (c) => rej(new Error(`probe server exited ${c}`)));
    });
    // The VIP answers once the endpoint is programmed.
    const by = Date.now() + 60_000;
    for (;;) {
      try {
        await probe(cli.uid, ['connect', svc.spec.clusterIP, '80', '1']);
        break;
      } catch (e) {
        if (Date.now() > by) throw new Error(`ClusterIP ${svc.spec.clusterIP}:80 never answered: ${(e as Error).message}\n${lodge.logTail()}`);
        await sleep(200);
      }
    }
    o.log(`server ${srv.ip}:${PORT}, ClusterIP ${svc.spec.clusterIP}:80`);
    const direct: PathSamples = { connectMs: [], rttUs: [], bulkBps: [] };
    const vip: PathSamples = { connectMs: [], rttUs: [], bulkBps: [] };
    const paths: Array<[PathSamples, string, string]> = [
      [direct, srv.ip, String(PORT)],
      [vip, svc.spec.clusterIP, '80'],
    ];
    for (let r = 0; r < o.rounds; r++) {
      // Alternate which goes first, round by round.
      for (const [s, host, port] of r % 2 ? [...paths].reverse() : paths) {
        s.connectMs.push(...((await probe(cli.uid, ['connect', host, port, String(o.connects)])).ms as number[]));
        s.rttUs.push(...((await probe(cli.uid, ['rtt', host, port, String(o.rtts)])).us as number[]));
        s.bulkBps.push((await probe(cli.uid, ['bulk', host, port, String(o.bulkSeconds)])).bytesPerSecond as number);
      }
      o.log(`round ${r + 1}/${o.rounds} done`);
    }
    return { direct, vip, serverIP: srv.ip, clusterIP: svc.spec.clusterIP, lodgeCommand: lodge.command };
  } finally {
    if (server?.pid && server.exitCode === null) server.kill('SIGTERM');
    if (api) await closeAll([api]);
    if (lodge) {
      // Pods first (their containers and netns), then lodge and its network.
      const l = lodge;
      const c = connect(l, 'h1');
      await Promise.all(['server', 'client'].map((n) => call(c, l, 'DELETE', `/api/v1/namespaces/${NS}/pods/${n}`, { ok: [200, 202, 404] }).catch(() => undefined)));
      const by = Date.now() + 60_000;
      while (Date.now() < by) {
        const list = JSON.parse((await call(c, l, 'GET', `/api/v1/namespaces/${NS}/pods`)).text) as { items: unknown[] };
        if (!list.items.length) break;
        await sleep(200);
      }
      await closeAll([c]);
      await l.stop();
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 1): string => n.toFixed(d);

function table(r: ServicePathResult): string[] {
  const rows: Array<[string, Summary, Summary, string]> = [
    ['connect + 1 round trip + close (ms)', summarize(r.direct.connectMs), summarize(r.vip.connectMs), 'ms'],
    ['1-byte round trip on a connection (µs)', summarize(r.direct.rttUs), summarize(r.vip.rttUs), 'µs'],
  ];
  const lines = ['| figure | Pod → Pod (median, p99) | Pod → ClusterIP (median, p99) | ratio of medians (VIP / direct) |', '|---|---|---|---|'];
  for (const [name, d, v] of rows) lines.push(`| ${name} | ${fmt(d.p50, 3)}, ${fmt(d.p99, 3)} | ${fmt(v.p50, 3)}, ${fmt(v.p99, 3)} | ${fmt(v.p50 / d.p50, 3)} |`);
  const bd = summarize(r.direct.bulkBps);
  const bv = summarize(r.vip.bulkBps);
  lines.push(`| bulk throughput, one connection (MB/s) | ${fmt(bd.p50 / 1e6)} | ${fmt(bv.p50 / 1e6)} | ${fmt(bd.p50 / bv.p50, 3)} (direct / VIP: a cost above 1) |`);
  return lines;
}

export async function servicePathMain(argv: string[], command: string): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string' }, connects: { type: 'string' }, rtts: { type: 'string' }, 'bulk-seconds': { type: 'string' }, 'no-write': { type: 'boolean' } },
    strict: false,
  });
  const o: Options = {
    rounds: intArg(values.rounds, 5, '--rounds'),
    connects: intArg(values.connects, 200, '--connects'),
    rtts: intArg(values.rtts, 2000, '--rtts'),
    bulkSeconds: intArg(values['bulk-seconds'], 2, '--bulk-seconds'),
    log: (l) => process.stderr.write(`bench: ${l}\n`),
  };
  const r = await runServicePath(o);
  const lines = table(r);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values['no-write']) return;
  const body = [
    `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)})`,
    '',
    describeMachine(machineInfo()),
    '',
    `A client Pod and a server Pod on one node's bridge; the same TCP probe (node, in each Pod's netns) to the server's Pod IP and to a ClusterIP Service in front of it (${o.rounds} alternating rounds of ${o.connects} connections, ${o.rtts} round trips and ${o.bulkSeconds} s of bulk each). Target: VIP / direct ≤ 1.1.`,
    '',
    ...lines,
    '',
    `lodge: \`${r.lodgeCommand}\``,
  ].join('\n');
  writeSection(RESULTS_MD, SECTION, body);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  servicePathMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
