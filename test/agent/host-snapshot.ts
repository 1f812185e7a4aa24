// The host's network state that Lodge's network code must leave as it found
// it once everything it made is removed: links, addresses, routes (all
// tables, both families), the whole nftables ruleset and ip_forward.
// Captured before and after a test and compared.
import { readFile } from 'node:fs/promises';
import { run } from '../../src/agent/images/run.js';

export interface HostNetworkSnapshot {
  links: Record<string, unknown>[];
  addrs: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  ruleset: Record<string, unknown>[];
  ipForward: string;
}

export interface SnapshotFilter {
  /** Links (and their addresses and routes) to leave out: another test file's devices, created and removed concurrently. */
  ignoreLink?: (ifname: string) => boolean;
  /** nft tables to leave out, likewise. */
  ignoreTable?: (name: string) => boolean;
}

// Fields that change on their own: address lifetimes count down, route expiries too, handles are per-boot counters.
const VOLATILE = new Set(['valid_life_time', 'preferred_life_time', 'expires']);

function stripVolatile(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripVolatile);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!VOLATILE.has(k)) out[k] = stripVolatile(x);
    return out;
  }
  return v;
}

async function ipJson(args: string[]): Promise<Record<string, unknown>[]> {
  return (stripVolatile(JSON.parse((await run('ip', ['-j', ...args])) || '[]')) as Record<string, unknown>[]) ?? [];
}

export async function captureHostNetwork(filter: SnapshotFilter = {}): Promise<HostNetworkSnapshot> {
  const ignoreLink = filter.ignoreLink ?? (() => false);
  const ignoreTable = filter.ignoreTable ?? (() => false);
  const [links, addrs, routes4, routes6, ruleset, ipForward] = await Promise.all([
    ipJson(['link']),
    ipJson(['addr']),
    ipJson(['-4', 'route', 'show', 'table', 'all']),
    ipJson(['-6', 'route', 'show', 'table', 'all']),
    run('nft', ['-j', 'list', 'ruleset']).then((o) => (JSON.parse(o) as { nftables: Record<string, unknown>[] }).nftables),
    readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').then((s) => s.trim()),
  ]);
  const keepDev = (o: Record<string, unknown>): boolean => !(typeof o['ifname'] === 'string' && ignoreLink(o['ifname'])) && !(typeof o['dev'] === 'string' && ignoreLink(o['dev']));
  const tableOf = (o: Record<string, unknown>): string | undefined => {
    const inner = Object.values(o)[0] as Record<string, unknown> | undefined;
    if (!inner || typeof inner !== 'object') return undefined;
    const t = 'table' in o ? inner['name'] : inner['table'];
    return typeof t === 'string' ? t : undefined;
  };
  return {
    links: links.filter(keepDev),
    addrs: addrs.filter(keepDev),
    routes: [...routes4, ...routes6].filter(keepDev),
    ruleset: ruleset.filter((o) => !('metainfo' in o)).filter((o) => {
      const t = tableOf(o);
      return t === undefined || !ignoreTable(t);
    }),
    ipForward,
  };
}

/** Human-readable differences (empty when equal). */
export function diffHostNetwork(before: HostNetworkSnapshot, after: HostNetworkSnapshot): string[] {
  const out: string[] = [];
  for (const key of ['links', 'addrs', 'routes', 'ruleset'] as const) {
    const a = new Set(before[key].map((x) => JSON.stringify(x)));
    const b = new Set(after[key].map((x) => JSON.stringify(x)));
    for (const x of a) if (!b.has(x)) out.push(`${key}: gone: ${x}`);
    for (const x of b) if (!a.has(x)) out.push(`${key}: new: ${x}`);
  }
  if (before.ipForward !== after.ipForward) out.push(`ip_forward: ${before.ipForward} -> ${after.ipForward}`);
  return out;
}
