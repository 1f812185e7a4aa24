// A cluster CIDR (a 10.x.0.0/16) that nothing on this host routes or has an
// address in: for throwaway Lodges beside others on one machine (tests,
// benches), each on its own bridge and nft table, whose pod ranges must not
// clash with each other or with the host's own networks.
import { spawnSync } from 'node:child_process';

const toNum = (ip: string): number => ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
const maskOf = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** IPv4 ranges the host routes or has addresses in (other Lodges' bridges included). */
export function hostSubnets(): Array<{ net: number; len: number }> {
  const out: Array<{ net: number; len: number }> = [];
  const add = (ip: string, len: number): void => void out.push({ net: (toNum(ip) & maskOf(len)) >>> 0, len });
  const routes = spawnSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (const r of JSON.parse(routes.stdout || '[]') as Array<{ dst: string }>) {
    if (r.dst === 'default' || !/^\d+\.\d+\.\d+\.\d+/.test(r.dst)) continue;
    const [ip, len] = r.dst.split('/');
    add(ip!, len === undefined ? 32 : Number(len));
  }
  const addrs = spawnSync('ip', ['-j', '-4', 'addr'], { encoding: 'utf8' });
  for (const l of JSON.parse(addrs.stdout || '[]') as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>) for (const a of l.addr_info ?? []) add(a.local, a.prefixlen);
  return out;
}

/**
 * A free 10.X.0.0/16 with X in [from, from + count): clear of the Service
 * range (10.96.0.0/12) and the default 10.244/16 with the defaults. `seed`
 * spreads concurrent callers (a pid); `taken` are ones already handed out here.
 */
export function freeClusterCidr(seed: number, taken: ReadonlySet<string> = new Set(), from = 112, count = 88): string {
  const used = hostSubnets();
  for (let i = 0; i < count; i++) {
    const x = from + ((seed + i) % count);
    const net = ((10 << 24) | (x << 16)) >>> 0;
    const cidr = `10.${x}.0.0/16`;
    const overlaps = used.some((u) => {
      const m = maskOf(Math.min(u.len, 16));
      return ((u.net & m) >>> 0) === ((net & m) >>> 0);
    });
    if (!overlaps && !taken.has(cidr)) return cidr;
  }
  throw new Error(`no free /16 in 10.${from}-${from + count - 1}.0.0 on this host (check ip route)`);
}
