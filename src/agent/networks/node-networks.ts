// The user's bridged Networks on this node (the Pod network, "default", is
// NodeNetwork's): per Network a bridge carrying the gateway, its own IPAM
// file and, with nat, its own nft table masquerading what leaves the subnet.
// Instances join them with further interfaces (eth1, ...), one veth per
// interface; the owner of each address is "<instance uid>/<ifname>".
//
// What was made on the host is recorded in <dataDir>/network/networks.json
// before it is made, so a network deleted while the agent was down (or a
// crash half-way) is still found and removed: nothing is left on the host.
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultBridgeName, parseIpv4Cidr, type Network } from '../../apis/lodge/v1alpha1/network.js';
import type { Logger } from '../../util/log.js';
import { ensureBridge, removeBridge } from '../network/bridge.js';
import { run } from '../images/run.js';
import { Ipam } from '../network/ipam.js';
import { ensureNat, removeNat } from '../network/nat.js';
import { serialized } from '../network/serial.js';
import { macFromOwner, normalizeMac } from '../network/mac.js';
import { ensureTap, removeTap, tapName } from '../network/tap.js';
import { attachNetns, detachNetns, vethHostName } from '../network/veth.js';
import type { TapAddress, WorkloadAddress } from '../node-network.js';

export interface NetworkOnNode {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  prefixLength: number;
  /** nft table of its NAT, when spec.nat. */
  table?: string;
  mtu?: number;
}

interface Record_ {
  bridge: string;
  table?: string;
  subnet: string;
}

export interface NodeNetworksOptions {
  dataDir: string;
  /** Prefix of the per-network nft tables: "<natTable>-net-<name>". */
  natTable: string;
  log: Logger;
}

const OWNER_SEP = '/';

/** A user Network's nft table: named after the node's Pod network table, so cleanup finds it by prefix. */
export function networkTable(natTable: string, network: string): string {
  return `${natTable}-net-${network}`;
}

/** The address owner of an instance's interface on a user network. */
export function interfaceOwner(uid: string, ifname: string): string {
  return `${uid}${OWNER_SEP}${ifname}`;
}

async function readRecords(dir: string): Promise<Record<string, Record_>> {
  const file = join(dir, 'networks.json');
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { networks: Record<string, Record_> }).networks;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** The nft tables of user Networks beside the Pod network's table `natTable` ("<natTable>-net-<name>"). */
export async function networkTablesOf(natTable: string): Promise<string[]> {
  const out = await run('nft', ['-j', 'list', 'tables', 'inet']);
  const tables = (JSON.parse(out) as { nftables: Array<{ table?: { name: string } }> }).nftables.flatMap((o) => (o.table ? [o.table.name] : []));
  return tables.filter((t) => t.startsWith(`${natTable}-net-`));
}

/** What the agent with this data dir made for Networks (for `lodge network cleanup` after it stopped). */
export function readMadeNetworks(dataDir: string): Promise<Record<string, { bridge: string; table?: string }>> {
  return readRecords(join(dataDir, 'network'));
}

export class NodeNetworks {
  readonly #dir: string;
  readonly #ready = new Map<string, NetworkOnNode>();

  constructor(private readonly o: NodeNetworksOptions) {
    this.#dir = join(o.dataDir, 'network');
  }

  /** What a Network is on this node (names, gateway), without touching the host. */
  plan(n: Network): NetworkOnNode {
    const name = String(n.metadata.name);
    const subnet = n.spec?.subnet ?? '';
    const c = parseIpv4Cidr(subnet);
    if (!c) throw new Error(`network ${name}: spec.subnet ${JSON.stringify(subnet)} is not an IPv4 CIDR`);
    const g = c.net + 1;
    const gateway = [24, 16, 8, 0].map((s) => (g >>> s) & 255).join('.');
    return {
      name,
      bridge: n.spec?.bridge ?? defaultBridgeName(name),
      subnet,
      gateway,
      prefixLength: c.len,
      table: n.spec?.nat === false ? undefined : networkTable(this.o.natTable, name),
      mtu: n.spec?.mtu,
    };
  }

  /** Make the network on this node: bridge, NAT (reconciled in place, never re-made). */
  ensure(n: Network): Promise<NetworkOnNode> {
    const p = this.plan(n);
    return serialized(`networks:${p.name}`, async () => {
      const records = await this.#records();
      const had = records[p.name];
      if (had && (had.bridge !== p.bridge || had.subnet !== p.subnet)) {
        // A network of the same name made before with another bridge or subnet (deleted and re-created while we were away): the old one goes first.
        await this.#removeMade(p.name, had);
      }
      records[p.name] = { bridge: p.bridge, subnet: p.subnet, ...(p.table ? { table: p.table } : {}) };
      await this.#writeRecords(records);
      await ensureBridge({ name: p.bridge, gateway: p.gateway, prefixLength: p.prefixLength, mtu: p.mtu });
      if (p.table) await ensureNat({ table: p.table, clusterCidr: p.subnet, bridge: p.bridge, ipForward: {} });
      else if (had?.table) await removeNat(had.table, { ipForward: {} });
      this.#ready.set(p.name, p);
      return p;
    });
  }

  /** Remove what this node made for networks not in `keep` (deleted Networks). */
  async removeExcept(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const [name, rec] of Object.entries(await this.#records())) {
      if (keep.has(name)) continue;
      await serialized(`networks:${name}`, async () => {
        await this.#removeMade(name, rec);
        const records = await this.#records();
        delete records[name];
        await this.#writeRecords(records);
      });
      removed.push(name);
    }
    return removed;
  }

  async #removeMade(name: string, rec: Record_): Promise<void> {
    this.#ready.delete(name);
    if (rec.table) await removeNat(rec.table, { ipForward: {} });
    await removeBridge(rec.bridge);
    await unlink(this.#ipamFile(name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    this.o.log.info('network removed from node', { network: name, bridge: rec.bridge });
  }

  /** The network's address book on this node. */
  ipam(p: NetworkOnNode): Ipam {
    return new Ipam({ file: this.#ipamFile(p.name), subnet: p.subnet, gateway: p.gateway });
  }

  /** Give the namespace an interface on the network (idempotent per uid and ifname). */
  async attach(n: Network, uid: string, ifname: string, netns: string, o: { defaultRoute: boolean; mac?: string; ip?: string }): Promise<WorkloadAddress & { network: string }> {
    const p = this.#ready.get(String(n.metadata.name)) ?? (await this.ensure(n));
    const owner = interfaceOwner(uid, ifname);
    const a = await this.ipam(p).allocate(owner, o.ip);
    try {
      const att = await attachNetns({ owner, bridge: p.bridge, netns, address: a.address, prefixLength: a.prefixLength, gateway: a.gateway, ifname, defaultRoute: o.defaultRoute, mtu: p.mtu, mac: o.mac });
      return { network: p.name, ip: a.address, prefixLength: a.prefixLength, gateway: a.gateway, mac: att.mac, interfaceName: ifname, hostInterface: att.hostIfname };
    } catch (e) {
      throw new Error(`${owner}: cannot attach netns ${netns} to network ${p.name} (bridge ${p.bridge}) with ${a.address}: ${(e as Error).message}`);
    }
  }

  /** A VM's NIC on the network: a tap on its bridge (idempotent per uid and ifname). */
  async attachTap(n: Network, uid: string, ifname: string, o: { mac?: string; ip?: string }): Promise<TapAddress & { network: string }> {
    const p = this.#ready.get(String(n.metadata.name)) ?? (await this.ensure(n));
    const owner = interfaceOwner(uid, ifname);
    const a = await this.ipam(p).allocate(owner, o.ip);
    const guestMac = o.mac ? normalizeMac(o.mac) : macFromOwner(owner);
    try {
      const tap = await ensureTap({ owner, bridge: p.bridge, guestMac, mtu: p.mtu });
      return { network: p.name, ip: a.address, prefixLength: a.prefixLength, gateway: a.gateway, mac: guestMac, interfaceName: ifname, hostInterface: tap.name, tap };
    } catch (e) {
      throw new Error(`${owner}: cannot plug tap ${tapName(owner)} into network ${p.name} (bridge ${p.bridge}): ${(e as Error).message}`);
    }
  }

  /** The interface's address on a network, without attaching (undefined: none yet). */
  async addressOf(network: string, uid: string, ifname: string, o: { tap?: boolean; mac?: string } = {}): Promise<(WorkloadAddress & { network: string }) | undefined> {
    const rec = (await this.#records())[network];
    if (!rec) return undefined;
    const owner = interfaceOwner(uid, ifname);
    const a = await new Ipam({ file: this.#ipamFile(network), subnet: rec.subnet }).get(owner);
    if (!a) return undefined;
    const mac = o.mac ? normalizeMac(o.mac) : macFromOwner(owner);
    return { network, ip: a.address, prefixLength: a.prefixLength, gateway: a.gateway, mac, interfaceName: ifname, hostInterface: o.tap ? tapName(owner) : vethHostName(owner) };
  }

  /** Every interface the instance holds on user networks: veths and taps unplugged, addresses given back (in that order: a crash between leaves the address for the sweep). */
  async release(uid: string): Promise<void> {
    for (const [name, rec] of Object.entries(await this.#records())) {
      const ipam = new Ipam({ file: this.#ipamFile(name), subnet: rec.subnet });
      for (const a of await ipam.list()) {
        if (!a.owner.startsWith(`${uid}${OWNER_SEP}`)) continue;
        await detachNetns(a.owner);
        await removeTap(a.owner);
        await ipam.release(a.owner);
      }
    }
  }

  /** Instance uids holding addresses on user networks (for the orphan sweep). */
  async holders(): Promise<string[]> {
    const uids = new Set<string>();
    for (const [name, rec] of Object.entries(await this.#records())) {
      for (const a of await new Ipam({ file: this.#ipamFile(name), subnet: rec.subnet }).list()) uids.add(a.owner.split(OWNER_SEP)[0]!);
    }
    return [...uids];
  }

  #ipamFile(name: string): string {
    return join(this.#dir, `ipam-${name}.json`);
  }

  #records(): Promise<Record<string, Record_>> {
    return readRecords(this.#dir);
  }

  async #writeRecords(networks: Record<string, Record_>): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, 'networks.json');
    await writeFile(`${file}.tmp`, JSON.stringify({ networks }, null, 2));
    await rename(`${file}.tmp`, file);
  }
}
