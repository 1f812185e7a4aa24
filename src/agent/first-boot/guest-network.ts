// A VM's address as Lodge gives it (the node's IPAM, the bridge's gateway,
// the cluster's DNS), written for the guest two ways on the seed disk:
// - network-config: cloud-init's version 2 format, matched by MAC, for
//   images with real cloud-init (which apply it on their own);
// - lodge-network.sh: a POSIX sh applier Lodge's own images (busybox-vm,
//   debian-vm) run at EVERY boot, not once per instance like the first-boot
//   applier: the address is Lodge's, not state the guest owns, so whatever
//   the seed says now is what the guest uses after its next boot.
// Static rather than DHCP: no server to run on every bridge, and a guest that
// boots while the agent is down still gets its address.
import { stringify } from 'yaml';
import { isIP } from 'node:net';

export interface GuestNetwork {
  /** The NIC's MAC: how both appliers find the interface, whatever the guest calls it. */
  mac: string;
  /** The name the Instance gives it (spec.networks[].name); cloud-init renames the NIC to it, Lodge's applier leaves the kernel's name. */
  interfaceName: string;
  address: string;
  prefixLength: number;
  gateway: string;
  nameservers: string[];
  searches: string[];
  /** resolv.conf options, e.g. ndots:5. */
  options: string[];
}

/** The seed file name of the every-boot applier. */
export const LODGE_NETWORK_FILE = 'lodge-network.sh';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?$/;
const OPTION = /^[A-Za-z0-9_:.-]{1,64}$/;

/**
 * The resolver entries a guest can be given: the host's own resolv.conf may
 * hold what is valid there but not here (an IPv6 scope id, an exotic option);
 * those are left out rather than failing the VM's start.
 */
export function usableDns(d: Pick<GuestNetwork, 'nameservers' | 'searches' | 'options'>): Pick<GuestNetwork, 'nameservers' | 'searches' | 'options'> {
  return { nameservers: d.nameservers.filter((s) => isIP(s) !== 0), searches: d.searches.filter((s) => DOMAIN.test(s)), options: d.options.filter((s) => OPTION.test(s)) };
}

/** Everything here goes into a root shell script: checked, never trusted to be quoted right. */
function check(n: GuestNetwork): GuestNetwork {
  const bad = (what: string, v: unknown): never => {
    throw new Error(`guest network: ${what} ${JSON.stringify(v)} is not usable`);
  };
  if (!MAC.test(n.mac)) bad('MAC', n.mac);
  if (!IFNAME.test(n.interfaceName)) bad('interface name', n.interfaceName);
  if (isIP(n.address) !== 4) bad('address', n.address);
  if (isIP(n.gateway) !== 4) bad('gateway', n.gateway);
  if (!Number.isInteger(n.prefixLength) || n.prefixLength < 1 || n.prefixLength > 32) bad('prefix length', n.prefixLength);
  for (const s of n.nameservers) if (!isIP(s)) bad('nameserver', s);
  for (const s of n.searches) if (!DOMAIN.test(s)) bad('search domain', s);
  for (const s of n.options) if (!OPTION.test(s)) bad('resolver option', s);
  return n;
}

/** The NICs in order; the first is the primary one: the default route and the resolver go through it. */
function nicsOf(net: GuestNetwork | GuestNetwork[]): GuestNetwork[] {
  const list = (Array.isArray(net) ? net : [net]).map(check);
  if (!list.length) throw new Error('guest network: no interface');
  return list;
}

/** cloud-init network-config, version 2 (netplan's schema, which cloud-init renders for every distro). */
export function cloudInitNetworkConfig(net: GuestNetwork | GuestNetwork[]): string {
  const ethernets: Record<string, unknown> = {};
  nicsOf(net).forEach((n, k) => {
    const dns = k === 0 && (n.nameservers.length || n.searches.length) ? { nameservers: { ...(n.nameservers.length ? { addresses: n.nameservers } : {}), ...(n.searches.length ? { search: n.searches } : {}) } } : {};
    ethernets[n.interfaceName] = {
      match: { macaddress: n.mac },
      'set-name': n.interfaceName,
      addresses: [`${n.address}/${n.prefixLength}`],
      // 0.0.0.0/0 rather than "default": older cloud-init releases know only the former.
      ...(k === 0 ? { routes: [{ to: '0.0.0.0/0', via: n.gateway }] } : {}),
      ...dns,
    };
  });
  return stringify({ version: 2, ethernets });
}

/**
 * The every-boot applier. Under systemd with networkd (debian-vm) it writes
 * a runtime .network file per NIC (sorted before the image's DHCP fallback,
 * so it wins) and leaves addressing and DNS to networkd and resolved;
 * elsewhere (busybox-vm) it sets the addresses and default route with `ip`
 * and writes /etc/resolv.conf when Lodge has a nameserver. Idempotent
 * (replace, not add): running it twice changes nothing. Only the first NIC
 * carries the default route and the resolver.
 */
export function lodgeNetworkScript(net: GuestNetwork | GuestNetwork[]): string {
  const nics = nicsOf(net);
  const primary = nics[0]!;
  const resolv = [...(primary.searches.length ? [`search ${primary.searches.join(' ')}`] : []), ...primary.nameservers.map((s) => `nameserver ${s}`), ...(primary.options.length ? [`options ${primary.options.join(' ')}`] : [])];
  const networkd = (n: GuestNetwork, k: number): string[] => [
    '[Match]',
    `MACAddress=${n.mac}`,
    '',
    '[Network]',
    `Address=${n.address}/${n.prefixLength}`,
    ...(k === 0 ? [`Gateway=${n.gateway}`, ...n.nameservers.map((s) => `DNS=${s}`), ...(n.searches.length ? [`Domains=${n.searches.join(' ')}`] : [])] : []),
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
  ];
  const lines = [
    '#!/bin/sh',
    `# Lodge's addresses for the guest's NICs (${nics.map((n) => `${n.mac} ${n.address}/${n.prefixLength}`).join(', ')}), default route via ${primary.gateway}. Run at every boot.`,
    'export PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    // The NIC appears when virtio_net has probed it: normally long before this runs; bounded all the same.
    'find_dev() {',
    '  dev=; n=0',
    '  while [ -z "$dev" ] && [ $n -lt 50 ]; do',
    '    for f in /sys/class/net/*/address; do [ "$(cat "$f" 2>/dev/null)" = "$1" ] && dev=$(basename "$(dirname "$f")"); done',
    '    [ -n "$dev" ] || { n=$((n + 1)); sleep 0.1 2>/dev/null || sleep 1; }',
    '  done',
    '  if [ -z "$dev" ]; then echo "lodge: no network interface with MAC $1" >&2; exit 1; fi',
    '}',
    'if [ -d /run/systemd/system ] && [ -x /lib/systemd/systemd-networkd ]; then',
    '  mkdir -p /run/systemd/network',
  ];
  nics.forEach((n, k) => lines.push(`  cat >/run/systemd/network/10-lodge-${n.interfaceName}.network <<'EOF'`, ...networkd(n, k), 'EOF'));
  lines.push('  exit 0', 'fi');
  nics.forEach((n, k) => {
    const cidr = `${n.address}/${n.prefixLength}`;
    lines.push(
      `find_dev ${n.mac}`,
      'ip link set dev "$dev" up',
      // Flush then add: busybox's ip has no "addr replace"; the NIC carries only Lodge's address.
      'ip addr flush dev "$dev"',
      `ip addr add ${cidr} dev "$dev"`,
      ...(k === 0 ? [`ip route replace default via ${n.gateway} dev "$dev"`] : []),
      `echo "lodge: $dev is ${cidr}"`,
    );
  });
  if (resolv.length) lines.push("cat >/etc/resolv.conf <<'EOF'", ...resolv, 'EOF');
  lines.push('');
  return lines.join('\n');
}
