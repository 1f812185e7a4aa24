// The Service proxy at scale, on real nftables with network namespaces (the
// test lab of test/agent/service-lab.ts: its own bridge, table and /24s):
//   - time to program 1,000 Services × 10 endpoints (one transaction from
//     an empty table) and for one endpoint change to take effect;
//   - per-connection cost through a VIP with 10 Services and with 1,000
//     programmed (the verdict map: it should not grow with the count), and
//     against connecting to the backend directly (target VIP/direct ≤ 1.1);
//   - the same for kube-proxy's iptables mode (services-iptables.ts), with
//     iptables-nft and iptables-legacy when installed, side by side.
// Connections are timed by one node program inside the client namespace.
//
//   node dist/bench/services.js [--services 1000] [--endpoints 10] [--connects 300] [--no-iptables] [--no-write]
//
// Root only. Everything made is removed (lab.destroy(), the iptables
// namespace). Nothing here asserts a timing.
import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/apis/types.js';
import { desiredRuleset } from '../src/agent/network/service-proxy/desired-state.js';
import { TableProgrammer } from '../src/agent/network/service-proxy/table-programmer.js';
import { ServiceLab } from '../test/agent/service-lab.js';
import { run } from '../src/agent/images/run.js';
import { benchIptables, type IptablesResult } from './services-iptables.js';
import { commandLine, RESULTS_MD } from './api.js';
import { intArg } from './lib/args.js';
import { writeSection } from './lib/results-md.js';
import { summarize, type Summary } from './lib/stats.js';

const SECTION = 'Step 5 — Service proxy at scale (nftables)';

function objects(lab: ServiceLab, services: number, endpoints: number): { services: KubeObject[]; endpointSlices: KubeObject[]; instances: KubeObject[] } {
  const svcs: KubeObject[] = [];
  const slices: KubeObject[] = [];
  const real = lab.backends.map((b) => b.ip);
  for (let i = 0; i < services; i++) {
    const name = `s${i}`;
    // 250 addresses × ports: 1,000 distinct VIP:port keys from one /24.
    svcs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'bench' }, spec: { clusterIP: lab.vip(1 + (i % 250)), ports: [{ name: 'http', port: 80 + Math.floor(i / 250), protocol: 'TCP' }] } });
    // Service 0 leads to the real backends; the others to addresses nobody has (they are only rules).
    const ips = i === 0 ? real : Array.from({ length: endpoints }, (_, k) => lab.subnet.replace(/0\/24$/, String(100 + k)));
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    } as unknown as KubeObject);
  }
  return { services: svcs, endpointSlices: slices, instances: [] };
}

/** Per-connection milliseconds (connect, GET, read to the end), timed inside the namespace. */
function connectTimes(ns: string, ip: string, port: number, n: number): Promise<number[]> {
  const script = `const net=require('node:net');(async()=>{const out=[];for(let i=0;i<${n};i++){const t=performance.now();await new Promise((res,rej)=>{const s=net.connect(${port},'${ip}',()=>s.end('GET / HTTP/1.0\\r\\n\\r\\n'));s.on('data',()=>{});s.on('end',res);s.on('error',rej);});out.push(performance.now()-t);}process.stdout.write(JSON.stringify(out));})().catch(e=>{console.error(e.message);process.exit(1)})`;
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`connect probe in ${ns} to ${ip}:${port}: ${err}`))));
  });
}

const f = (x: number): string => x.toFixed(2);
const row = (what: string, s: Summary): string => `| ${what} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.p99)} |`;

export async function servicesMain(argv: string[], command: string): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { services: { type: 'string' }, endpoints: { type: 'string' }, connects: { type: 'string' }, 'no-iptables': { type: 'boolean' }, 'no-write': { type: 'boolean' } }, strict: false });
  const nServices = intArg(values.services, 1000, '--services');
  const nEndpoints = intArg(values.endpoints, 10, '--endpoints');
  const connects = intArg(values.connects, 300, '--connects');
  const lab = await ServiceLab.create({ tag: `sb${process.pid % 1e6}`, backends: 2, clients: 1 });
  let labUp = true;
  try {
    await lab.serversUp();
    const programmer = new TableProgrammer(lab.table);
    const client = lab.clients[0]!.ns;
    const sync = (o: ReturnType<typeof objects>) => programmer.sync(desiredRuleset({ ...o, bridge: lab.bridge }).ruleset);
    /** In effect and its removals done: the table as a connection test expects it. */
    const settle = async (o: ReturnType<typeof objects>) => {
      const r = await sync(o);
      await r.retired;
      return r;
    };

    const small = objects(lab, 10, nEndpoints);
    await settle(small);
    const direct10 = summarize(await connectTimes(client, lab.backends[0]!.ip, 8080, connects));
    const vip10 = summarize(await connectTimes(client, lab.vip(1), 80, connects));

    await settle({ services: [], endpointSlices: [], instances: [] });
    const big = objects(lab, nServices, nEndpoints);
    let t0 = performance.now();
    const programmed = await settle(big);
    const programMs = performance.now() - t0;
    const vipBig = summarize(await connectTimes(client, lab.vip(1), 80, connects));
    const directBig = summarize(await connectTimes(client, lab.backends[0]!.ip, 8080, connects));

    // One endpoint of one Service changes (as from one EndpointSlice event): the diff, applied. Timed until the new
    // rules are in effect (sync resolves); the removal of the old ones that follows is timed apart, and waited for
    // before the next change, so each change is timed alone.
    const changes: number[] = [];
    const removals: number[] = [];
    for (let k = 0; k < 20; k++) {
      // A new object, as the informer delivers an update (the proxy remembers each Service's part by identity).
      const slice = big.endpointSlices[1 + k] as unknown as { endpoints: Array<{ addresses: string[] }> };
      const endpoints = [{ ...slice.endpoints[0]!, addresses: [lab.subnet.replace(/0\/24$/, String(200 + (k % 50)))] }, ...slice.endpoints.slice(1)];
      big.endpointSlices[1 + k] = { ...slice, endpoints } as unknown as KubeObject;
      t0 = performance.now();
      const r = await sync(big);
      changes.push(performance.now() - t0);
      t0 = performance.now();
      await r.retired;
      removals.push(performance.now() - t0);
    }
    const change = summarize(changes);
    const removal = summarize(removals);
    // The lab is not needed for the iptables rows (their namespace is their own): removed first, so the two never share the host's attention.
    await lab.destroy();
    labUp = false;

    const ipt: IptablesResult[] = [];
    if (!values['no-iptables']) {
      for (const tool of ['iptables-nft-restore', 'iptables-legacy-restore']) {
        if (!(await run(tool, ['--version']).then(() => true, () => false))) continue;
        ipt.push(await benchIptables(tool, { tag: `${process.pid % 1e6}`, services: nServices, endpoints: nEndpoints, connects, changes: changes.length }, connectTimes));
      }
    }
    const cmp = (label: string, lodge: number, other: IptablesResult[], pick: (r: IptablesResult) => number): string =>
      `| ${label} | ${f(lodge)} | ${other.map((r) => `${f(pick(r))} (×${f(pick(r) / lodge)})`).join(' | ')} |`;

    const body = [
      `Command: \`${command}\`. ${nServices} Services × ${nEndpoints} endpoints programmed into one nft table through the proxy's TableProgrammer; connections from a client netns over the lab bridge to busybox httpd backends (node net.connect + GET + read to the end), ${connects} per row.`,
      '',
      `- program ${nServices} × ${nEndpoints} from empty: **${f(programMs)} ms** (${programmed.lines} nft lines, one transaction)`,
      `- one endpoint change, until in effect (desired state built from ${nServices} Services, diff, one \`nft -f\` inserting the Service's new rules ahead of the old): p50 **${f(change.p50)} ms**, p90 ${f(change.p90)} ms (target < 50 ms); then removing the shadowed rules, a second \`nft -f\` off that path: p50 ${f(removal.p50)} ms`,
      '',
      '| path (ms per connection) | p50 | p90 | p99 |',
      '|---|---|---|---|',
      row('direct to backend (10 Services programmed)', direct10),
      row('through VIP, 10 Services', vip10),
      row(`direct to backend (${nServices} Services programmed)`, directBig),
      row(`through VIP, ${nServices} Services`, vipBig),
      '',
      `Ratios (p50): VIP/direct with 10 Services **${f(vip10.p50 / direct10.p50)}**, with ${nServices} **${f(vipBig.p50 / directBig.p50)}** (target ≤ 1.1); VIP ${nServices}/10 Services **${f(vipBig.p50 / vip10.p50)}** (≈1: the lookup does not grow with the count).`,
      '',
      ...(ipt.length
        ? [
            `kube-proxy iptables mode, same scale (${ipt.map((r) => `${r.tool}: ${r.rules} rules in ${r.chains} chains`).join('; ')}), in a namespace of its own: loaded with one \`iptables-restore\`, an endpoint change as kube-proxy's minimized \`iptables-restore --noflush\` (the Service's chain rewritten, one endpoint chain added, one deleted), connections from inside that namespace to an httpd in it (client and backend share a namespace there, not a bridge: compare the iptables rows with each other, the first/last ratio is what grows). Lodge column: the numbers above; (×n) = iptables / Lodge.`,
            '',
            `| ms | Lodge (nft, verdict map) | ${ipt.map((r) => r.tool.replace(/-restore$/, '')).join(' | ')} |`,
            `|---|---|${ipt.map(() => '---|').join('')}`,
            cmp(`program ${nServices} × ${nEndpoints} from empty`, programMs, ipt, (r) => r.loadMs),
            cmp('one endpoint change, p50', change.p50, ipt, (r) => r.change.p50),
            cmp('one endpoint change, p90', change.p90, ipt, (r) => r.change.p90),
            `| connection via first Service's VIP, p50 | ${f(vip10.p50)} (10 Services) | ${ipt.map((r) => f(r.first.p50)).join(' | ')} |`,
            `| connection via last Service's VIP, p50 | ${f(vipBig.p50)} (${nServices} Services) | ${ipt.map((r) => f(r.last.p50)).join(' | ')} |`,
            `| last/first (per-packet cost of the count) | ${f(vipBig.p50 / vip10.p50)} | ${ipt.map((r) => f(r.last.p50 / r.first.p50)).join(' | ')} |`,
          ]
        : ['iptables comparison not run (--no-iptables, or no iptables-restore installed).']),
    ].join('\n');
    process.stdout.write(body + '\n');
    if (!values['no-write']) {
      writeSection(RESULTS_MD, SECTION, body);
      process.stdout.write(`\nwrote ${relative(process.cwd(), RESULTS_MD) || RESULTS_MD}\n`);
    }
  } finally {
    if (labUp) await lab.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  servicesMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench services: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
