// The comparison for bench/services.ts: kube-proxy's iptables mode at the
// same scale, built the way kube-proxy builds it (KUBE-SERVICES with one
// match rule per Service port → KUBE-SVC-* with `-m statistic --mode random`
// rules → KUBE-SEP-* doing the DNAT), loaded with iptables-restore inside a
// network namespace made for it, so the host's tables are never touched.
// Measured once per backend (iptables-nft, and iptables-legacy if present):
//   - loading the whole nat table from empty;
//   - one endpoint change as kube-proxy writes it (minimized restore,
//     --noflush: the Service's chain rewritten, one endpoint chain added and
//     one deleted);
//   - connection latency through the VIP at the start of KUBE-SERVICES and
//     through the one at its end (the linear list every new connection walks).
// The backend is a busybox httpd on a veth inside the namespace; VIPs are
// routed onto that veth. Removed at the end: httpd by its pid, the
// namespace (and with it every table and address) by its name.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/agent/images/run.js';
import { summarize, type Summary } from './lib/stats.js';

export interface IptablesResult {
  tool: string;
  rules: number;
  chains: number;
  loadMs: number;
  change: Summary;
  first: Summary;
  last: Summary;
}

/** kube-proxy's chain names: a prefix and 16 base32 characters of a hash of what the chain stands for. */
function chainName(prefix: string, id: string): string {
  const b32 = createHash('sha256').update(id).digest().toString('base64').replace(/[^A-Za-z0-9]/g, '').toUpperCase();
  return `${prefix}-${b32.slice(0, 16)}`;
}

interface Svc {
  id: string;
  vip: string;
  port: number;
  endpoints: string[];
}

/** The KUBE-SVC chain's rules for one Service port: as kube-proxy writes them (probability 1/(n-i) for the i-th). */
function svcRules(s: Svc): { lines: string[]; seps: Map<string, string[]> } {
  const svc = chainName('KUBE-SVC', s.id);
  const lines = [`-A ${svc} ! -s 10.244.0.0/16 -d ${s.vip}/32 -p tcp -m comment --comment "${s.id} cluster IP" -m tcp --dport ${s.port} -j KUBE-MARK-MASQ`];
  const seps = new Map<string, string[]>();
  s.endpoints.forEach((ep, i) => {
    const sep = chainName('KUBE-SEP', `${s.id}/${ep}`);
    const n = s.endpoints.length - i;
    const stat = n > 1 ? ` -m statistic --mode random --probability ${(1 / n).toFixed(11)}` : '';
    lines.push(`-A ${svc} -m comment --comment "${s.id} -> ${ep}"${stat} -j ${sep}`);
    seps.set(sep, [
      `-A ${sep} -s ${ep.split(':')[0]}/32 -m comment --comment ${s.id} -j KUBE-MARK-MASQ`,
      `-A ${sep} -p tcp -m comment --comment ${s.id} -m tcp -j DNAT --to-destination ${ep}`,
    ]);
  });
  return { lines, seps };
}

function fullRestore(svcs: Svc[]): { text: string; rules: number; chains: number } {
  const decl = [':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]'];
  const rules = [
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
  ];
  const body: string[] = [];
  for (const s of svcs) {
    const svc = chainName('KUBE-SVC', s.id);
    decl.push(`:${svc} - [0:0]`);
    rules.push(`-A KUBE-SERVICES -d ${s.vip}/32 -p tcp -m comment --comment "${s.id} cluster IP" -m tcp --dport ${s.port} -j ${svc}`);
    const r = svcRules(s);
    body.push(...r.lines);
    for (const [sep, lines] of r.seps) (decl.push(`:${sep} - [0:0]`), body.push(...lines));
  }
  const all = [...rules, ...body];
  return { text: ['*nat', ...decl, ...all, 'COMMIT', ''].join('\n'), rules: all.length, chains: decl.length };
}

/** kube-proxy's minimized restore for one Service whose endpoint `from` became `to`: its chain redeclared (flushed) and refilled, the new endpoint chain added, the old one deleted. */
function changeRestore(s: Svc, from: string): string {
  const r = svcRules(s);
  const old = chainName('KUBE-SEP', `${s.id}/${from}`);
  const fresh = [...r.seps.keys()].filter((c) => c !== old);
  const decl = [`:${chainName('KUBE-SVC', s.id)} - [0:0]`, ...fresh.map((c) => `:${c} - [0:0]`), `:${old} - [0:0]`];
  return ['*nat', ...decl, ...r.lines, ...[...r.seps.values()].flat(), `-X ${old}`, 'COMMIT', ''].join('\n');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Build, time and remove kube-proxy's ruleset with `restore` (iptables-nft-restore, iptables-legacy-restore).
 * `connectTimes` is the bench's own probe (same program as the nft rows), run in the namespace made here.
 */
export async function benchIptables(
  restore: string,
  o: { tag: string; services: number; endpoints: number; connects: number; changes: number },
  connectTimes: (ns: string, ip: string, port: number, n: number) => Promise<number[]>,
): Promise<IptablesResult> {
  const ns = `lodge-ipt-${o.tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'lodge-ipt-'));
  let httpd: ReturnType<typeof spawn> | undefined;
  // Addresses exist only inside the namespace (no route leads out of it): the real endpoints on the veth, the VIPs routed to it.
  const real = Array.from({ length: o.endpoints }, (_, k) => `10.200.0.${10 + k}`);
  const vip = (i: number): string => `10.201.${Math.floor(i / 250)}.${1 + (i % 250)}`;
  const svcs: Svc[] = Array.from({ length: o.services }, (_, i) => ({
    id: `bench/s${i}:http`,
    vip: vip(i),
    port: 80,
    // The first and the last Service in KUBE-SERVICES lead to the real httpd; the others to addresses nobody has.
    endpoints: (i === 0 || i === o.services - 1 ? real : Array.from({ length: o.endpoints }, (_, k) => `10.200.${1 + (i % 200)}.${10 + k}`)).map((a) => `${a}:8080`),
  }));
  try {
    await run('ip', ['netns', 'add', ns]);
    const inNs = (args: string[]): Promise<string> => run('ip', ['netns', 'exec', ns, ...args]);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);
    // A veth pair with both ends inside (this kernel may lack the dummy driver): the addresses on one end.
    await inNs(['ip', 'link', 'add', 'bench0', 'type', 'veth', 'peer', 'name', 'bench1']);
    await inNs(['ip', 'link', 'set', 'bench0', 'up']);
    await inNs(['ip', 'link', 'set', 'bench1', 'up']);
    for (const a of real) await inNs(['ip', 'addr', 'add', `${a}/24`, 'dev', 'bench0']);
    await inNs(['ip', 'route', 'add', '10.201.0.0/16', 'dev', 'bench0']);
    httpd = spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', '8080', '-h', dir], { stdio: 'ignore' });
    writeFileSync(join(dir, 'index.html'), 'ipt\n');

    const full = fullRestore(svcs);
    const file = join(dir, 'full.rules');
    writeFileSync(file, full.text);
    const loadMs = await timed(() => inNs([restore, '-w', '5', file]));

    // Wait for httpd (started in the background) through the first VIP: the rules are in by now.
    for (let i = 0; ; i++) {
      try {
        await connectTimes(ns, vip(0), 80, 1);
        break;
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Warmed up, then first and last in alternating rounds: a drift in the host's load lands on both alike.
    await connectTimes(ns, vip(o.services - 1), 80, 20);
    const firstMs: number[] = [];
    const lastMs: number[] = [];
    const rounds = 4;
    for (let k = 0; k < rounds; k++) {
      firstMs.push(...(await connectTimes(ns, vip(0), 80, Math.ceil(o.connects / rounds))));
      lastMs.push(...(await connectTimes(ns, vip(o.services - 1), 80, Math.ceil(o.connects / rounds))));
    }
    const first = summarize(firstMs);
    const last = summarize(lastMs);

    const changes: number[] = [];
    for (let k = 0; k < o.changes; k++) {
      const s = svcs[1 + k]!;
      const from = s.endpoints[0]!;
      s.endpoints[0] = `10.200.250.${10 + k}:8080`;
      const f = join(dir, `change-${k}.rules`);
      writeFileSync(f, changeRestore(s, from));
      changes.push(await timed(() => inNs([restore, '-w', '5', '--noflush', f])));
    }
    return { tool: restore, rules: full.rules, chains: full.chains, loadMs, change: summarize(changes), first, last };
  } finally {
    if (httpd?.pid && httpd.exitCode === null && httpd.signalCode === null) httpd.kill('SIGKILL');
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
