// The node's bridge: one L2 segment joining every Pod, system container and
// VM on this node, with the gateway address of the node's podCIDR on it.
// Ensure reconciles in place: a bridge carrying traffic is never deleted and
// re-made (that would unplug every port), only its differences are fixed.
import { formatIp, parseIp } from './cidr.js';
import { checkIfname, deleteLink, ipBatch, IpBatchError, ipv4Addresses, parseBatchJson, showAddr, type IpLink } from './iproute.js';
import { macFromOwner, normalizeMac } from './mac.js';
import { serialized } from './serial.js';

export interface BridgeSpec {
  name: string;
  /** The gateway address the workloads route through, e.g. "10.244.3.1". */
  gateway: string;
  /** Of the node's subnet, e.g. 24. */
  prefixLength: number;
  mtu?: number;
  /**
   * The bridge's own MAC. Default: derived from the name. Set explicitly because
   * a Linux bridge otherwise takes the lowest MAC among its ports, so the
   * gateway's MAC would change as workloads come and go (stale ARP in every guest).
   */
  mac?: string;
}

export interface BridgeState {
  name: string;
  ifindex: number;
  mac: string;
  /** True when this call created the bridge. */
  created: boolean;
  /** What this call changed on an existing bridge ("address add …", "up", …); empty when it was already right. */
  changes: string[];
}

/** Make the bridge match `spec`: create it if missing, else fix only what differs (addresses, MTU, up). */
export function ensureBridge(spec: BridgeSpec): Promise<BridgeState> {
  checkIfname(spec.name, 'bridge');
  return serialized(`bridge:${spec.name}`, () => reconcile(spec, true));
}

async function reconcile(spec: BridgeSpec, mayCreate: boolean): Promise<BridgeState> {
  const ctx = `bridge ${spec.name}`;
  const { family } = parseIp(spec.gateway);
  // Canonical text, as `ip` prints it, so comparing with what the kernel reports is a string compare.
  const want = `${formatIp(family, parseIp(spec.gateway).value)}/${spec.prefixLength}`;
  const mac = spec.mac ? normalizeMac(spec.mac) : macFromOwner(spec.name, 'bridge');
  const link = await showAddr(spec.name, { context: ctx });
  if (!link) {
    const add = [
      `link add name ${spec.name} address ${mac}${spec.mtu ? ` mtu ${spec.mtu}` : ''} type bridge`,
      `addr add ${want} dev ${spec.name}`,
      `link set dev ${spec.name} up`,
      // Reports the ifindex from the same run.
      `link show dev ${spec.name}`,
    ];
    let out: string;
    try {
      out = await ipBatch(add, { context: ctx, json: true });
    } catch (e) {
      const createFailed = e instanceof IpBatchError && e.line === 1;
      // Made meanwhile by another process: reconcile what is there instead (never delete it).
      if (createFailed && mayCreate && /File exists/.test(e.message)) return reconcile(spec, false);
      // Made here but a later line failed: do not leave a half-made bridge for the next ensure to adopt.
      if (!createFailed) await deleteLink(spec.name, { context: ctx }).catch(() => undefined);
      throw e;
    }
    const made = parseBatchJson<IpLink>(out)[0]?.[0];
    if (!made) throw new Error(`${ctx}: created but not reported afterwards`);
    return { name: spec.name, ifindex: made.ifindex, mac, created: true, changes: [] };
  }
  if (link.linkinfo?.info_kind !== 'bridge') {
    // Never take over (or delete) someone else's device that happens to have the name.
    throw new Error(`${ctx}: a device of that name exists and is a ${link.linkinfo?.info_kind ?? 'plain'} device, not a bridge`);
  }
  const fix: string[] = [];
  const have = family === 4 ? ipv4Addresses(link) : (link.addr_info ?? []).filter((a) => a.family === 'inet6' && a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
  // Stale addresses (a previous podCIDR) go, so the bridge does not answer for a subnet the node no longer owns.
  for (const a of have) if (a !== want) fix.push(`addr del ${a} dev ${spec.name}`);
  if (!have.includes(want)) fix.push(`addr add ${want} dev ${spec.name}`);
  if (spec.mtu && link.mtu !== spec.mtu) fix.push(`link set dev ${spec.name} mtu ${spec.mtu}`);
  // Only an explicitly given MAC is enforced on an existing bridge: changing a live gateway's MAC strands neighbours' ARP entries.
  if (spec.mac && link.address !== mac) fix.push(`link set dev ${spec.name} address ${mac}`);
  if (!link.flags.includes('UP')) fix.push(`link set dev ${spec.name} up`);
  if (fix.length) await ipBatch(fix, { context: ctx });
  return { name: spec.name, ifindex: link.ifindex, mac: link.address ?? mac, created: false, changes: fix };
}

/** Delete the bridge (its ports are released, not deleted). False when it was not there. Refuses a device that is not a bridge. */
export function removeBridge(name: string): Promise<boolean> {
  checkIfname(name, 'bridge');
  return serialized(`bridge:${name}`, async () => {
    const ctx = `bridge ${name}`;
    const link = await showAddr(name, { context: ctx });
    if (!link) return false;
    if (link.linkinfo?.info_kind !== 'bridge') throw new Error(`${ctx}: refusing to delete: it is a ${link.linkinfo?.info_kind ?? 'plain'} device, not a bridge`);
    return deleteLink(name, { context: ctx });
  });
}
