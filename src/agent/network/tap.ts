// A VM's network device on the host: a persistent tap (lt<8 hex of the
// owner>) that is a port of the node's bridge. QEMU opens it by name
// (ifname=, script=no): Lodge makes and plugs it beforehand, so QEMU needs no
// helper scripts and the tap survives QEMU restarts (its bridge port and
// neighbours' FDB entries stay put).
import { run } from '../images/run.js';
import { checkIfname, deleteLink, ipBatch, IpBatchError, parseBatchJson, showLink, type IpLink } from './iproute.js';
import { macFromOwner, normalizeMac } from './mac.js';
import { serialized } from './serial.js';
import { HAIRPIN, hairpinOn, ownerHex } from './veth.js';

export interface TapSpec {
  /** The Instance uid: names the tap and derives the guest's MAC. */
  owner: string;
  bridge: string;
  /** Lets QEMU use several queues (queues= in qemuNicArgs, which must then be ≥ 2). Cannot be changed on an existing tap. */
  multiQueue?: boolean;
  mtu?: number;
  /** The user QEMU runs as when it is not root: only it may open the tap. */
  user?: number;
  /** The guest's MAC. Default macFromOwner(owner). */
  guestMac?: string;
}

export interface Tap {
  owner: string;
  name: string;
  ifindex: number;
  /** What the guest's NIC uses (virtio-net mac=); the tap itself has a different one. */
  guestMac: string;
  multiQueue: boolean;
  created: boolean;
  changes: string[];
}

export function tapName(owner: string): string {
  return `lt${ownerHex(owner)}`;
}

/** The tap's own (host-side) MAC. Must differ from the guest's, or the bridge would take the guest's frames as its own and never forward them to the tap. */
function tapMac(owner: string): string {
  return macFromOwner(owner, 'tap');
}

function checkOwner(owner: string): string {
  if (!/^[A-Za-z0-9_.:@/-]{1,200}$/.test(owner)) throw new Error(`tap owner ${JSON.stringify(owner)}: must be 1-200 of [A-Za-z0-9_.:@/-]`);
  return owner;
}

/** Make the tap (if missing) and plug it into the bridge, up; on an existing one fix only what differs. */
export function ensureTap(spec: TapSpec): Promise<Tap> {
  checkOwner(spec.owner);
  checkIfname(spec.bridge, 'bridge');
  const name = tapName(spec.owner);
  return serialized(`tap:${name}`, () => ensure(spec, name));
}

async function ensure(spec: TapSpec, name: string): Promise<Tap> {
  const ctx = `tap ${name} (owner ${spec.owner})`;
  const guestMac = spec.guestMac ? normalizeMac(spec.guestMac) : macFromOwner(spec.owner);
  const multiQueue = spec.multiQueue ?? false;
  const alias = `lodge:${spec.owner}`;
  const mac = tapMac(spec.owner);
  const link = await showLink(name, { context: ctx });
  if (!link) {
    const add = `tuntap add dev ${name} mode tap${multiQueue ? ' multi_queue' : ''}${spec.user !== undefined ? ` user ${spec.user}` : ''}`;
    const plug = `link set dev ${name} alias ${alias} address ${mac}${spec.mtu ? ` mtu ${spec.mtu}` : ''} master ${spec.bridge} up`;
    let out: string;
    try {
      // One run: create, plug, and report the ifindex.
      // Hairpin as on a veth's host end (veth.ts HAIRPIN): a VM reaching itself through its Service's VIP.
      out = await ipBatch([add, plug, HAIRPIN(name), `link show dev ${name}`], { context: ctx, json: true });
    } catch (e) {
      // A tap without its alias or bridge would be refused or half-adopted by the next ensure: remove it.
      if (e instanceof IpBatchError && e.line !== undefined && e.line > 1) await deleteLink(name, { context: ctx }).catch(() => undefined);
      throw e;
    }
    const made = parseBatchJson<IpLink>(out)[0]?.[0];
    if (!made) throw new Error(`${ctx}: created but not reported afterwards`);
    return { owner: spec.owner, name, ifindex: made.ifindex, guestMac, multiQueue, created: true, changes: [] };
  }
  if (link.ifalias !== alias) throw new Error(`${ctx}: a device ${name} exists but belongs to ${link.ifalias ?? 'something else (no lodge alias)'}; not touching it`);
  const data = link.linkinfo?.info_data ?? {};
  if (link.linkinfo?.info_kind !== 'tun' || data['type'] !== 'tap') throw new Error(`${ctx}: ${name} exists but is not a tap`);
  if (Boolean(data['multi_queue']) !== multiQueue) {
    throw new Error(`${ctx}: exists with multi_queue ${data['multi_queue'] ? 'on' : 'off'}, wanted ${multiQueue ? 'on' : 'off'}; remove it while the VM is stopped to change that`);
  }
  const fix: string[] = [];
  if (link.master !== spec.bridge) fix.push(`link set dev ${name} master ${spec.bridge}`);
  // Re-plugged above (a new port starts with it off), or made by an older Lodge.
  if (link.master !== spec.bridge || !hairpinOn(link)) fix.push(HAIRPIN(name));
  if (spec.mtu && link.mtu !== spec.mtu) fix.push(`link set dev ${name} mtu ${spec.mtu}`);
  if (link.address !== mac) fix.push(`link set dev ${name} address ${mac}`);
  if (!link.flags.includes('UP')) fix.push(`link set dev ${name} up`);
  if (fix.length) await ipBatch(fix, { context: ctx });
  return { owner: spec.owner, name, ifindex: link.ifindex, guestMac, multiQueue, created: false, changes: fix };
}

/** Delete the owner's tap. False when it was not there. Refuses a device of that name that is not Lodge's. */
export function removeTap(owner: string): Promise<boolean> {
  checkOwner(owner);
  const name = tapName(owner);
  return serialized(`tap:${name}`, async () => {
    const ctx = `tap ${name} (owner ${owner})`;
    const link = await showLink(name, { context: ctx });
    if (!link) return false;
    if (link.ifalias !== `lodge:${owner}`) throw new Error(`${ctx}: ${name} belongs to ${link.ifalias ?? 'something else (no lodge alias)'}; not deleting it`);
    return deleteLink(name, { context: ctx });
  });
}

/** Owners of the Lodge taps plugged into `bridge` (their alias names the owner): what the agent's orphan sweep checks against live instances. Only this bridge's: another Lodge on the host has its own. */
export async function tapOwnersOn(bridge: string): Promise<string[]> {
  checkIfname(bridge, 'bridge');
  let ports: IpLink[];
  try {
    ports = JSON.parse((await run('ip', ['-j', 'link', 'show', 'master', bridge])) || '[]') as IpLink[];
  } catch (e) {
    if (/does not exist|Cannot find device/.test((e as Error).message)) return [];
    throw new Error(`taps on bridge ${bridge}: ${(e as Error).message}`);
  }
  const owners: string[] = [];
  for (const p of ports) {
    const owner = p.ifalias?.startsWith('lodge:') ? p.ifalias.slice('lodge:'.length) : undefined;
    if (owner && p.ifname === tapName(owner)) owners.push(owner);
  }
  return owners;
}

export interface QemuNicOptions {
  /** QEMU's id for the backend (netdev=); unique per VM. Default net0. */
  id?: string;
  /** Virtqueue pairs; > 1 needs a multi_queue tap, and a multi_queue tap needs > 1 (QEMU opens it with IFF_MULTI_QUEUE only then). */
  queues?: number;
  /** vhost-net (in-kernel data path, needs /dev/vhost-net). Default off: works everywhere, TCG included. */
  vhost?: boolean;
  /** virtio-net-device for microvm (virtio-mmio), virtio-net-pci otherwise. */
  model?: 'virtio-net-pci' | 'virtio-net-device';
}

/** The QEMU arguments that give a VM its NIC on `tap`, as data for the VM driver to append (it keeps `-nic none` for the default NIC). */
export function qemuNicArgs(tap: Pick<Tap, 'name' | 'guestMac' | 'multiQueue'>, opts: QemuNicOptions = {}): string[] {
  const id = opts.id ?? 'net0';
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(id)) throw new Error(`tap ${tap.name}: QEMU netdev id ${JSON.stringify(id)} is not a valid id`);
  const queues = opts.queues ?? (tap.multiQueue ? 2 : 1);
  if (tap.multiQueue !== queues > 1) {
    throw new Error(`tap ${tap.name}: ${queues} queue(s) with multi_queue ${tap.multiQueue ? 'on' : 'off'}: QEMU would fail to open it (multi_queue taps need queues ≥ 2, others exactly 1)`);
  }
  const model = opts.model ?? 'virtio-net-pci';
  const netdev = [`tap`, `id=${id}`, `ifname=${tap.name}`, 'script=no', 'downscript=no', `vhost=${opts.vhost ? 'on' : 'off'}`, ...(queues > 1 ? [`queues=${queues}`] : [])];
  // Multiqueue virtio-net-pci needs an MSI-X vector per queue of each direction, plus config and control.
  const mq = queues > 1 ? ['mq=on', ...(model === 'virtio-net-pci' ? [`vectors=${2 * queues + 2}`] : [])] : [];
  return ['-netdev', netdev.join(','), '-device', [model, `netdev=${id}`, `mac=${tap.guestMac}`, ...mq].join(',')];
}
