// An IPv4 range given as a CIDR, addressed by offset, as the service IP
// allocator hands out addresses from it.
import { isIPv4 } from 'node:net';

export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]) >>> 0;
}

export function numberToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class Ipv4Range {
  /** Network address as a number. */
  readonly base: number;
  /** Addresses in the range, network and broadcast included. */
  readonly size: number;

  constructor(readonly cidr: string) {
    const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
    if (!m || !isIPv4(m[1])) throw new Error(`service CIDR ${JSON.stringify(cidr)} is not an IPv4 CIDR like 10.96.0.0/12 (only IPv4 single-stack services are supported)`);
    const prefix = Number(m[2]);
    // Kubernetes refuses IPv4 service ranges wider than /12 (its bitmap limit); at least a /28 leaves room for the reserved addresses.
    if (prefix < 8 || prefix > 28) throw new Error(`service CIDR ${cidr}: prefix length must be between 8 and 28, not ${prefix}`);
    this.size = 2 ** (32 - prefix);
    // Host bits set in the address (10.96.0.1/12) are cleared, as net.ParseCIDR does.
    this.base = (ipv4ToNumber(m[1]) & ~(this.size - 1)) >>> 0;
    this.cidr = `${numberToIpv4(this.base)}/${prefix}`;
  }

  /** Offset of ip in the range, or undefined when outside it. */
  offsetOf(ip: string): number | undefined {
    if (!isIPv4(ip)) return undefined;
    const off = ipv4ToNumber(ip) - this.base;
    return off >= 0 && off < this.size ? off : undefined;
  }

  at(offset: number): string {
    return numberToIpv4(this.base + offset);
  }

  /** Offsets a Service may hold: all but the network and broadcast addresses, as Kubernetes' allocator. */
  usable(offset: number): boolean {
    return offset >= 1 && offset <= this.size - 2;
  }
}
