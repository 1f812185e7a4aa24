// Addresses of hollow nodes and their Pods. Nothing ever sends a packet to
// them: a hollow node publishes no node-server port (so the API server never
// dials it) and its Pods have no network namespace. They only have to look
// like a cluster's addresses and be unique enough for Endpoints and kubectl.
//
// A node without a spec.podCIDR (the node IPAM controller hands out /24s of
// the cluster CIDR, 256 of them with the default /16) gets a block of the
// shared address space 100.64.0.0/10 (RFC 6598, never routed on the
// internet): a /24, or larger when the node takes more than 253 Pods. Its
// first address + 1 is the node's InternalIP, the rest but the last its
// Pods'. The block is picked from the node-name prefix and the node's
// index, so two hollow processes with different prefixes start at
// different places.

const FAKE_BASE = (100 << 24) | (64 << 16); // 100.64.0.0
const FAKE_SIZE = 1 << 22; // addresses in a /10

/** The size of each node's fake block: a power of two ≥ 256 holding `pods` addresses besides network, node and broadcast. */
export function fakeBlockSize(pods: number): number {
  let size = 256;
  while (size - 3 < pods && size < FAKE_SIZE) size *= 2;
  return size;
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** FNV-1a of a string, for a stable starting block per prefix. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The fake block of the index-th node of a prefix, as its first address (network address). */
export function fakeNodeBlock(prefix: string, index: number, blockSize = 256): number {
  const blocks = FAKE_SIZE / blockSize;
  return (FAKE_BASE + ((hash(prefix) + index) % blocks) * blockSize) >>> 0;
}

/** The made-up InternalIP of a hollow node (the first host address of its fake block). */
export function fakeNodeIP(prefix: string, index: number, blockSize = 256): string {
  return intToIpv4(fakeNodeBlock(prefix, index, blockSize) + 1);
}

/** An IPv4 CIDR as its first address and size; an error naming the CIDR when it is not one. */
export function parseIpv4Cidr(cidr: string): { base: number; size: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const bits = m ? Number(m[2]) : NaN;
  if (!m || bits > 30) throw new Error(`not an IPv4 CIDR with room for Pods: ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - bits);
  return { base: ipv4ToInt(m[1]!) - (ipv4ToInt(m[1]!) % size), size };
}

/**
 * The Pod addresses of one node: from its podCIDR when it has one, else from
 * its fake block. The first two addresses (network, gateway/node) and the
 * last (broadcast) are never handed out. Taken addresses are remembered by
 * Pod UID so a Pod keeps its address and gives it back when it is gone.
 */
export class PodAddressPool {
  private readonly byUid = new Map<string, number>();
  private readonly taken = new Set<number>();
  private next = 2;

  constructor(
    private readonly base: number,
    private readonly size: number,
  ) {}

  static forNode(podCIDR: string | undefined, fakeBlock: { base: number; size: number }): PodAddressPool {
    const { base, size } = podCIDR ? parseIpv4Cidr(podCIDR) : fakeBlock;
    return new PodAddressPool(base, Math.min(size, 1 << 16));
  }

  /** Whether `ip` is one of this pool's addresses (a Pod's old address is kept only when it still fits). */
  contains(ip: string): boolean {
    try {
      const n = ipv4ToInt(ip);
      return n >= this.base + 2 && n < this.base + this.size - 1;
    } catch {
      return false;
    }
  }

  /** Record an address a Pod already has (from its status, after a restart of the hollow agent). */
  adopt(uid: string, ip: string): void {
    if (this.byUid.has(uid) || !this.contains(ip)) return;
    const n = ipv4ToInt(ip);
    if (this.taken.has(n)) return; // another workload holds it: this one gets a new address
    this.byUid.set(uid, n);
    this.taken.add(n);
  }

  /** The Pod's address: the one it has, else the next free one; undefined when the pool is full. */
  assign(uid: string): string | undefined {
    const have = this.byUid.get(uid);
    if (have !== undefined) return intToIpv4(have);
    const usable = this.size - 3;
    if (this.taken.size >= usable) return undefined;
    for (;;) {
      const n = this.base + this.next;
      this.next = this.next + 1 >= this.size - 1 ? 2 : this.next + 1;
      if (!this.taken.has(n)) {
        this.taken.add(n);
        this.byUid.set(uid, n);
        return intToIpv4(n);
      }
    }
  }

  release(uid: string): void {
    const n = this.byUid.get(uid);
    if (n === undefined) return;
    this.byUid.delete(uid);
    this.taken.delete(n);
  }
}
