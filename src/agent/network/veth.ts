// Plugging a network namespace (a Pod's, a system container's) into the
// node's bridge: a veth pair whose host end (lv<8 hex of the owner>) is a
// bridge port and whose other end is created directly inside the namespace
// under its final name (eth0), with the owner's MAC, its address and a
// default route via the gateway.
//
// Two `ip -batch` runs for a first attach, the minimum: one in the host namespace (create the
// pair, enslave and raise the host end) and one inside the workload's
// namespace (raise, address, route) — iproute2 cannot switch namespaces
// between lines of one batch, and the kernel refuses to raise the peer as
// part of the create.
//
// Attach again is a no-op when everything is right (the pair is not re-made,
// so a running workload keeps its connections); only differences are fixed.
// That path looks first (two runs in parallel), so it costs a few ms more.
import { createHash } from 'node:crypto';
import { formatIp, parseIp } from './cidr.js';
import { checkIfname, deleteLink, ipBatch, IpBatchError, netnsPath, parseBatchJson, showLink, type IpLink, type IpRoute, type NetnsRef } from './iproute.js';
import { macFromOwner, normalizeMac } from './mac.js';
import { serialized } from './serial.js';

export interface AttachSpec {
  /** Who the attachment is for (a Pod or Instance uid): names the host end and derives the MAC. */
  owner: string;
  bridge: string;
  /** A name under /run/netns or a path to a netns file. */
  netns: NetnsRef;
  /** The workload's address, e.g. from Ipam.allocate. */
  address: string;
  prefixLength: number;
  gateway: string;
  /** Inside the namespace. Default eth0. */
  ifname?: string;
  /** Route the namespace's default through this interface's gateway (default true; false for a second network). */
  defaultRoute?: boolean;
  /** Default: macFromOwner(owner). */
  mac?: string;
  /** Both ends; default the kernel's (1500). Set it to the bridge's when that is smaller (an overlay underneath). */
  mtu?: number;
}

export interface Attachment {
  owner: string;
  hostIfname: string;
  hostIfindex: number;
  ifname: string;
  /** Inside the namespace. */
  ifindex: number;
  mac: string;
  created: boolean;
  /** What this call fixed on an existing pair; empty when nothing. */
  changes: string[];
}

const OWNER = /^[A-Za-z0-9_.:@/-]{1,200}$/;

function checkOwner(owner: string): string {
  // The owner goes into a batch line (as the link's alias): no spaces or quotes.
  if (!OWNER.test(owner)) throw new Error(`veth owner ${JSON.stringify(owner)}: must be 1-200 of [A-Za-z0-9_.:@/-]`);
  return owner;
}

/** 8 hex digits of sha256(owner): fits IFNAMSIZ with a 2-letter prefix, and the same owner always gets the same name. */
export function ownerHex(owner: string): string {
  return createHash('sha256').update(owner).digest('hex').slice(0, 8);
}

/** The host end's name: "lv" + 8 hex (10 chars, under the kernel's 15). */
export function vethHostName(owner: string): string {
  return `lv${ownerHex(owner)}`;
}

/**
 * Hairpin mode on the host end's bridge port: a Pod reaching itself through
 * its Service's VIP. Where br_netfilter is loaded (Docker loads it) the DNATed
 * frame is bridged back towards the port it came in on, which a bridge refuses
 * unless that port is in hairpin mode (kubelet sets the same on its veths).
 * Set where the port is made, in the same batch, so it holds before the
 * workload's first packet; it goes away with the veth.
 */
export const HAIRPIN = (port: string): string => `link set dev ${port} type bridge_slave hairpin on`;

/** Whether `ip -j -d link show` reports the bridge port in hairpin mode. */
export function hairpinOn(link: IpLink): boolean {
  const slave = (link.linkinfo as { info_slave_data?: { hairpin?: boolean | number } } | undefined)?.info_slave_data;
  return slave?.hairpin === true || slave?.hairpin === 1;
}

/** The host end's alias records its owner, so a name collision between two owners is detected instead of one unplugging the other. */
function aliasOf(owner: string): string {
  return `lodge:${owner}`;
}

export function attachNetns(spec: AttachSpec): Promise<Attachment> {
  checkOwner(spec.owner);
  const host = vethHostName(spec.owner);
  return serialized(`veth:${host}`, () => attach(spec, host));
}

interface Resolved {
  host: string;
  ifname: string;
  mac: string;
  family: 4 | 6;
  address: string;
  gateway: string;
  ctx: string;
}

async function attach(spec: AttachSpec, host: string): Promise<Attachment> {
  const ifname = checkIfname(spec.ifname ?? 'eth0');
  checkIfname(spec.bridge, 'bridge');
  const mac = spec.mac ? normalizeMac(spec.mac) : macFromOwner(spec.owner);
  const { family, value } = parseIp(spec.address);
  const r: Resolved = {
    host,
    ifname,
    mac,
    family,
    address: `${formatIp(family, value)}/${spec.prefixLength}`,
    gateway: formatIp(family, parseIp(spec.gateway).value),
    ctx: `veth ${host} (owner ${spec.owner}, netns ${spec.netns})`,
  };
  // Optimistic: a first attach (the common case, a workload starting) is just the two batches.
  // "File exists" on the create line means something is there already: look, then fix or refuse.
  try {
    return await create(spec, r);
  } catch (e) {
    if (!(e instanceof IpBatchError && e.line === 1 && /File exists/.test(e.message))) throw e;
  }
  return reconcile(spec, r);
}

async function create(spec: AttachSpec, r: Resolved): Promise<Attachment> {
  const { host, ifname, ctx } = r;
  const mtu = spec.mtu ? ` mtu ${spec.mtu}` : '';
  try {
    await ipBatch(
      [
        `link add ${host}${mtu} master ${spec.bridge} up type veth peer name ${ifname} address ${r.mac}${mtu} netns ${netnsPath(spec.netns)}`,
        `link set dev ${host} alias ${aliasOf(spec.owner)}`,
        HAIRPIN(host),
      ],
      { context: ctx },
    );
  } catch (e) {
    // The pair exists when only a later line failed: remove it (a pair without its alias would be refused by the next attach).
    if (e instanceof IpBatchError && e.line !== undefined && e.line > 1) await deleteLink(host, { context: ctx }).catch(() => undefined);
    throw e;
  }
  let out: string;
  try {
    // The trailing show returns both ifindexes (the peer's link_index is the host end's) without another run.
    const route = spec.defaultRoute === false ? [] : [`route add default via ${r.gateway} dev ${ifname}`];
    out = await ipBatch([`link set dev ${ifname} up`, `addr add ${r.address} dev ${ifname}`, ...route, `link show dev ${ifname}`], {
      netns: spec.netns,
      context: ctx,
      json: true,
    });
  } catch (e) {
    // Undo the pair: a half-configured interface would be adopted as is by the next attach's checks.
    await deleteLink(host, { context: ctx }).catch(() => undefined);
    throw e;
  }
  const peer = parseBatchJson<IpLink>(out)[0]?.[0];
  if (!peer?.link_index) throw new Error(`${ctx}: created but ${ifname} not reported afterwards`);
  return { owner: spec.owner, hostIfname: host, hostIfindex: peer.link_index, ifname, ifindex: peer.ifindex, mac: r.mac, created: true, changes: [] };
}

async function reconcile(spec: AttachSpec, r: Resolved): Promise<Attachment> {
  const { host, ifname, ctx, mac, address, gateway } = r;
  const [hostLink, inside] = await Promise.all([showLink(host, { context: ctx }), readNetns(spec.netns, ctx)]);
  const peer = inside.links.find((l) => l.ifname === ifname);
  if (hostLink && hostLink.ifalias !== aliasOf(spec.owner)) {
    throw new Error(`${ctx}: host device ${host} exists but belongs to ${hostLink.ifalias ?? 'something else (no lodge alias)'}; not touching it`);
  }
  if (!hostLink && peer) throw new Error(`${ctx}: the namespace already has an interface ${ifname} that is not Lodge's veth; choose another ifname or remove it`);
  if (!hostLink || !peer || hostLink.link_index !== peer.ifindex || peer.link_index !== hostLink.ifindex) {
    if (peer) throw new Error(`${ctx}: the namespace's ${ifname} is not the peer of ${host}; not touching it`);
    // Our host end, but its peer is elsewhere (the namespace was replaced while the old one lives on): re-make the pair.
    if (hostLink) await deleteLink(host, { context: ctx });
    return create(spec, r);
  }

  const hostFix: string[] = [];
  if (hostLink.master !== spec.bridge) hostFix.push(`link set dev ${host} master ${spec.bridge}`);
  // A port re-plugged above starts with hairpin off again; one made by an older Lodge never had it.
  if (hostLink.master !== spec.bridge || !hairpinOn(hostLink)) hostFix.push(HAIRPIN(host));
  if (spec.mtu && hostLink.mtu !== spec.mtu) hostFix.push(`link set dev ${host} mtu ${spec.mtu}`);
  if (!hostLink.flags.includes('UP')) hostFix.push(`link set dev ${host} up`);
  const nsFix: string[] = [];
  if (spec.mtu && peer.mtu !== spec.mtu) nsFix.push(`link set dev ${ifname} mtu ${spec.mtu}`);
  if (peer.address !== mac) nsFix.push(`link set dev ${ifname} address ${mac}`);
  if (!peer.flags.includes('UP')) nsFix.push(`link set dev ${ifname} up`);
  const fam = r.family === 4 ? 'inet' : 'inet6';
  const have = (peer.addr_info ?? []).filter((a) => a.family === fam && a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
  for (const a of have) if (a !== address) nsFix.push(`addr del ${a} dev ${ifname}`);
  if (!have.includes(address)) nsFix.push(`addr add ${address} dev ${ifname}`);
  const route = inside.defaults.find((d) => d.dst === 'default');
  if (spec.defaultRoute !== false && (!route || route.gateway !== gateway || route.dev !== ifname)) nsFix.push(`route replace default via ${gateway} dev ${ifname}`);
  await Promise.all([
    hostFix.length ? ipBatch(hostFix, { context: ctx }) : undefined,
    nsFix.length ? ipBatch(nsFix, { netns: spec.netns, context: ctx }) : undefined,
  ]);
  return {
    owner: spec.owner,
    hostIfname: host,
    hostIfindex: hostLink.ifindex,
    ifname,
    ifindex: peer.ifindex,
    mac,
    created: false,
    changes: [...hostFix, ...nsFix.map((l) => `netns: ${l}`)],
  };
}

/** The namespace's interfaces (with addresses) and default routes, in one ip run; a missing device cannot fail it. */
async function readNetns(netns: NetnsRef, ctx: string): Promise<{ links: IpLink[]; defaults: IpRoute[] }> {
  const out = await ipBatch(['addr show', `route show default`], { netns, context: ctx, json: true, details: true });
  const [links, defaults] = parseBatchJson<IpLink & IpRoute>(out);
  return { links: links ?? [], defaults: defaults ?? [] };
}

/**
 * Unplug the owner's namespace: deleting the host end deletes the pair (the
 * namespace side goes with it). False when there was nothing to delete.
 * Works after the namespace is gone too (then the kernel already removed both ends).
 */
export function detachNetns(owner: string): Promise<boolean> {
  checkOwner(owner);
  const host = vethHostName(owner);
  return serialized(`veth:${host}`, async () => {
    const ctx = `veth ${host} (owner ${owner})`;
    const link = await showLink(host, { context: ctx });
    if (!link) return false;
    if (link.ifalias !== aliasOf(owner)) throw new Error(`${ctx}: ${host} belongs to ${link.ifalias ?? 'something else (no lodge alias)'}; not deleting it`);
    return deleteLink(host, { context: ctx });
  });
}
