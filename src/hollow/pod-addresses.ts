// Which address each workload (Pod or Instance) on a hollow node has: one
// pool per node and podCIDR (a node that gets its podCIDR after its first
// Pods gets a fresh pool from it; the earlier Pods keep theirs, as a Pod's
// address never changes), the holder remembered by UID so the address is
// given back when the workload is gone. These addresses are never
// contacted (see fake-addresses.ts).
import { PodAddressPool } from './fake-addresses.js';

export interface NodeAddressSource {
  podCIDR(node: string): string | undefined;
  fakeBlock(node: string): { base: number; size: number };
}

export class PodAddresses {
  private readonly pools = new Map<string, PodAddressPool>();
  private readonly poolOf = new Map<string, PodAddressPool>();

  constructor(private readonly nodes: NodeAddressSource) {}

  private pool(node: string): PodAddressPool {
    const cidr = this.nodes.podCIDR(node);
    const key = `${node} ${cidr ?? ''}`;
    let p = this.pools.get(key);
    if (!p) {
      p = PodAddressPool.forNode(cidr, this.nodes.fakeBlock(node));
      this.pools.set(key, p);
    }
    return p;
  }

  /** The workload's address: `reported` (from its status) when it is one of the node's, else a free one; undefined when the node has none left. */
  assign(node: string, uid: string, reported?: string): string | undefined {
    const known = this.poolOf.get(uid);
    if (known) return known.assign(uid);
    const pool = this.pool(node);
    if (reported && pool.contains(reported)) pool.adopt(uid, reported);
    const ip = pool.assign(uid);
    if (ip) this.poolOf.set(uid, pool);
    return ip;
  }

  release(uid: string): void {
    this.poolOf.get(uid)?.release(uid);
    this.poolOf.delete(uid);
  }
}
