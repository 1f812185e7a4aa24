// The node's workload network, Kubernetes style: the control plane gives the
// Node a podCIDR (node IPAM controller); the agent puts the gateway (its first
// address) on a bridge, masquerades cluster traffic leaving the node (Lodge's
// nft table), and hands each Pod or system container an address of the
// podCIDR on a veth into its network namespace. Addresses are kept per owner
// (Pod or Instance uid) in <dataDir>/network/ipam.json, so a workload
// re-adopted after an agent crash gets the same address again.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../apis/types.js';
import { isNotFound, type KubeClient } from '../client/index.js';
import { NODES } from '../client/refs.js';
import type { Logger } from '../util/log.js';
import { ensureBridge } from './network/bridge.js';
import { parseCidr } from './network/cidr.js';
import { Ipam } from './network/ipam.js';
import { macFromOwner, normalizeMac } from './network/mac.js';
import { ensureNat } from './network/nat.js';
import { ensureTap, removeTap, tapName, tapOwnersOn, type Tap } from './network/tap.js';
import { attachNetns, detachNetns, vethHostName } from './network/veth.js';

export const DEFAULT_BRIDGE = 'lodge0';
export const DEFAULT_NAT_TABLE = 'lodge';
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';

export interface NodeNetworkConfig {
  /** The node's bridge (default lodge0). */
  bridge: string;
  /** Lodge's nft table (default lodge). */
  natTable: string;
  /** Every workload address in the cluster: traffic from it to elsewhere is masqueraded. */
  clusterCidr: string;
}

export interface NodeNetworkOptions extends NodeNetworkConfig {
  client: KubeClient;
  nodeName: string;
  dataDir: string;
  log: Logger;
  signal: AbortSignal;
}

/** What a workload got: its address on the node's bridge and the veth that carries it. */
export interface WorkloadAddress {
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  /** Inside the namespace. */
  interfaceName: string;
  /** The veth's host end (a port of the bridge). */
  hostInterface: string;
}

/** A VM's address: as a namespace's, carried by a tap on the bridge that QEMU opens. */
export interface TapAddress extends WorkloadAddress {
  tap: Tap;
}

export interface TapRequest {
  /** The guest's MAC (spec.networks[].macAddress); derived from the owner when unset. */
  mac?: string;
  /** A static address the user asked for (spec.networks[].ipAddress): given when free in the podCIDR, else an IpamRequestError. */
  ip?: string;
  /** The interface's name as the Instance calls it (spec.networks[].name); reported, the guest names its NIC itself. */
  interfaceName?: string;
}

/** How long to wait between looks at the Node for its podCIDR (the controller is in-process or near; this bounds a missed update). */
const POLL_MS = 200;

export class NodeNetwork {
  #ready: Promise<Ipam> | undefined;

  constructor(private readonly o: NodeNetworkOptions) {}

  /** The node's podCIDR and everything on it, made once (started on first use or by start()). */
  ready(): Promise<Ipam> {
    if (!this.#ready) {
      this.#ready = this.#setUp();
      // A failure is retried on the next use, not remembered forever.
      this.#ready.catch(() => (this.#ready = undefined));
    }
    return this.#ready;
  }

  /** Begin setting up in the background (errors surface on the first attach). */
  start(): void {
    this.ready().catch((e: Error) => this.o.log.warn('node network not ready yet', { error: e.message }));
  }

  async #setUp(): Promise<Ipam> {
    const podCIDR = await this.#waitForPodCidr();
    const cidr = parseCidr(podCIDR);
    const ipam = new Ipam({ file: join(this.o.dataDir, 'network', 'ipam.json'), subnet: podCIDR });
    await mkdir(join(this.o.dataDir, 'network'), { recursive: true });
    const ctx = `node network (bridge ${this.o.bridge}, podCIDR ${podCIDR})`;
    try {
      await ensureBridge({ name: this.o.bridge, gateway: ipam.gateway, prefixLength: cidr.prefixLength });
      await ensureNat({ table: this.o.natTable, clusterCidr: this.o.clusterCidr, bridge: this.o.bridge, ipForward: {} });
    } catch (e) {
      throw new Error(`${ctx}: ${(e as Error).message}`);
    }
    this.o.log.info('node network ready', { bridge: this.o.bridge, podCIDR, gateway: ipam.gateway, natTable: this.o.natTable });
    return ipam;
  }

  async #waitForPodCidr(): Promise<string> {
    const started = Date.now();
    let warned = false;
    for (;;) {
      if (this.o.signal.aborted) throw new Error(`node ${this.o.nodeName}: agent stopping while waiting for a podCIDR`);
      let node: KubeObject | undefined;
      try {
        node = await this.o.client.get<KubeObject>(NODES, this.o.nodeName);
      } catch (e) {
        if (!isNotFound(e)) this.o.log.warn('cannot read own Node for its podCIDR', { node: this.o.nodeName, error: (e as Error).message });
      }
      const cidr = (node?.spec as { podCIDR?: string } | undefined)?.podCIDR;
      if (cidr) return cidr;
      if (!warned && Date.now() - started > 10_000) {
        warned = true;
        this.o.log.warn('node has no podCIDR yet; is the control plane\'s node IPAM controller running?', { node: this.o.nodeName });
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Address the namespace (idempotent per owner: the same address and veth again). */
  async attach(owner: string, netns: string, req: { ip?: string; mac?: string } = {}): Promise<WorkloadAddress> {
    const ipam = await this.ready();
    const a = await ipam.allocate(owner, req.ip);
    try {
      const att = await attachNetns({ owner, bridge: this.o.bridge, netns, address: a.address, prefixLength: a.prefixLength, gateway: a.gateway, ...(req.mac ? { mac: req.mac } : {}) });
      return { ip: a.address, prefixLength: a.prefixLength, gateway: a.gateway, mac: att.mac, interfaceName: att.ifname, hostInterface: att.hostIfname };
    } catch (e) {
      throw new Error(`${owner}: cannot attach netns ${netns} to bridge ${this.o.bridge} with ${a.address}: ${(e as Error).message}`);
    }
  }

  /**
   * A VM's port on the bridge (idempotent per owner: the same address, tap
   * and MAC again, after an agent restart too). The address is allocated
   * before the tap is made, so a tap never exists without the IPAM entry
   * that tells the orphan sweep about it.
   */
  async attachTap(owner: string, req: TapRequest = {}): Promise<TapAddress> {
    const ipam = await this.ready();
    const a = await ipam.allocate(owner, req.ip);
    const guestMac = req.mac ? normalizeMac(req.mac) : macFromOwner(owner);
    try {
      const tap = await ensureTap({ owner, bridge: this.o.bridge, guestMac });
      if (tap.created || tap.changes.length) this.o.log.info('vm tap ready', { owner, tap: tap.name, bridge: this.o.bridge, ip: a.address, mac: guestMac, created: tap.created, changes: tap.changes });
      return { ip: a.address, prefixLength: a.prefixLength, gateway: a.gateway, mac: guestMac, interfaceName: req.interfaceName ?? 'eth0', hostInterface: tap.name, tap };
    } catch (e) {
      throw new Error(`${owner}: cannot plug tap ${tapName(owner)} into bridge ${this.o.bridge}: ${(e as Error).message}`);
    }
  }

  /** The node's gateway (the bridge's address), once the network is up. */
  async gateway(): Promise<string> {
    return (await this.ready()).gateway;
  }

  /** What the owner has now, without attaching (undefined: no address). `tap`: a VM's NIC (hostInterface is its tap); `mac`: the spec's, else derived. */
  async addressOf(owner: string, o: { tap?: boolean; mac?: string; interfaceName?: string } = {}): Promise<WorkloadAddress | undefined> {
    const ipam = await this.ready();
    const a = await ipam.get(owner);
    if (!a) return undefined;
    const mac = o.mac ? normalizeMac(o.mac) : macFromOwner(owner);
    return { ip: a.address, prefixLength: a.prefixLength, gateway: a.gateway, mac, interfaceName: o.interfaceName ?? 'eth0', hostInterface: o.tap ? tapName(owner) : vethHostName(owner) };
  }

  /** Unplug (veth or tap) and give the address back, in that order, so a crash in between leaves the address for the orphan sweep to find. Idempotent. */
  async release(owner: string): Promise<void> {
    await detachNetns(owner).catch((e: Error) => {
      throw new Error(`${owner}: cannot detach its veth: ${e.message}`);
    });
    const removed = await removeTap(owner).catch((e: Error) => {
      throw new Error(`${owner}: cannot remove its tap: ${e.message}`);
    });
    if (removed) this.o.log.info('vm tap removed', { owner, tap: tapName(owner) });
    const ipam = await this.ready();
    await ipam.release(owner);
  }

  /**
   * Owners holding an address or a tap on the bridge, for the agent to
   * release those whose workload is gone (a tap whose address was freed by
   * hand, too: its alias names the owner).
   */
  async owners(): Promise<string[]> {
    const held = new Set((await (await this.ready()).list()).map((a) => a.owner));
    for (const owner of await tapOwnersOn(this.o.bridge)) held.add(owner);
    return [...held];
  }
}
