// IP addresses and subnets as numbers, for the allocator and for checks
// against what the kernel reports. Addresses are bigints for both families so
// IPv6 (a /64 has 2^64 hosts) needs no second code path; only IPv4 is used
// by the node's network today.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface Cidr {
  family: IpFamily;
  /** The network address (host bits zero). */
  network: bigint;
  prefixLength: number;
}

export function bitsOf(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

export function parseIp(text: string): { family: IpFamily; value: bigint } {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { family: 4, value };
  }
  if (isIPv6(text)) {
    if (text.includes('.')) throw new Error(`IPv6 address ${text}: embedded IPv4 notation is not supported`);
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    return { family: 6, value };
  }
  throw new Error(`not an IP address: ${JSON.stringify(text)}`);
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952), so output matches what `ip` prints.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** "10.244.3.0/24"; host bits must be zero, so a typo (10.244.3.1/24) is caught rather than silently widened. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) throw new Error(`not a CIDR: ${JSON.stringify(text)}`);
  const { family, value } = parseIp(m[1]!);
  const prefixLength = Number(m[2]);
  const bits = bitsOf(family);
  if (prefixLength > bits) throw new Error(`CIDR ${text}: prefix longer than ${bits} bits`);
  const network = value & netmask(family, prefixLength);
  if (network !== value) throw new Error(`CIDR ${text}: host bits set (did you mean ${formatIp(family, network)}/${prefixLength}?)`);
  return { family, network, prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefixLength}`;
}

export function netmask(family: IpFamily, prefixLength: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLength))) & all;
}

/** Number of addresses in the subnet, network and broadcast included. */
export function sizeOf(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefixLength);
}

export function contains(c: Cidr, family: IpFamily, value: bigint): boolean {
  return family === c.family && (value & netmask(family, c.prefixLength)) === c.network;
}

/** Whether two subnets share any address (one contains the other's network). */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefixLength, b.prefixLength);
  const m = netmask(a.family, p);
  return (a.network & m) === (b.network & m);
}
