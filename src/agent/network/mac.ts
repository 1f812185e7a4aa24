// Deterministic MAC addresses: the same owner (a Pod or Instance uid) gets the
// same MAC on every attach, so a restarted workload keeps its neighbours' ARP
// entries valid and a VM guest keeps its interface name/config across boots
// (udev and cloud-init match on the MAC).
//
// Scheme: 0e:xx:xx:xx:xx:xx, the 40 low bits from sha256(owner).
// - 0x0e has the locally administered bit (0x02) set and the multicast bit
//   (0x01) clear: a unicast address no vendor owns, as IEEE 802 reserves for this.
// - Not QEMU's 52:54:00 for VMs: that prefix leaves 24 random bits (about a
//   0.2% chance of some collision among 254 endpoints on one bridge, against
//   ~3e-8 with 40 bits), and QEMU (default 52:54:00:12:34:56) and libvirt
//   draw from it too, so a libvirt guest on the same host could collide.
//   Guests do not care about the prefix: virtio-net takes any unicast MAC.
// - A fixed first octet makes Lodge's endpoints easy to spot in `ip neigh`
//   and `bridge fdb`, and stays apart from Docker (02:42) and OVN-Kubernetes (0a:58).
import { createHash } from 'node:crypto';

export const LODGE_MAC_PREFIX = 0x0e;

/** The MAC for `owner`; `purpose` separates several MACs of one owner (a bridge's own, a VM's second NIC). */
export function macFromOwner(owner: string, purpose = ''): string {
  if (!owner) throw new Error('macFromOwner: empty owner');
  const h = createHash('sha256').update(purpose ? `${purpose}\0${owner}` : owner).digest();
  return [LODGE_MAC_PREFIX, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A caller-given MAC, lower-case, checked to be usable for an interface (unicast, not all zero). */
export function normalizeMac(mac: string): string {
  const m = mac.trim().toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  const first = parseInt(m.slice(0, 2), 16);
  // The kernel refuses these for an interface (EADDRNOTAVAIL); say why here instead.
  if (first & 0x01) throw new Error(`MAC ${mac} is a multicast address; an interface needs a unicast one`);
  if (m === '00:00:00:00:00:00') throw new Error(`MAC ${mac} is all zero`);
  return m;
}
