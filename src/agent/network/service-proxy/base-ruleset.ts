// The fixed part of the proxy's ruleset: hooks, the two verdict maps, the
// no-endpoint sets and the masquerade. Per-Service chains hang off the maps,
// so a packet does one map lookup whatever the number of Services (as in
// kube-proxy's nftables mode).
import type { ChainSpec } from './ruleset.js';
import {
  CHAIN_MARK_MASQ,
  CHAIN_NOEP,
  CHAIN_REJECT,
  CHAIN_SERVICES,
  MAP_IPS,
  MAP_LOCAL_PORTS,
  MASQ_MARK,
  SET_NOEP_IPS,
  SET_NOEP_LOCAL_PORTS,
} from './names.js';

/** Map and set declarations (IPv4: the node network is IPv4 today). */
export const DECLARATIONS: ReadonlyMap<string, { kind: 'map' | 'set'; body: string }> = new Map([
  [MAP_IPS, { kind: 'map', body: 'type ipv4_addr . inet_proto . inet_service : verdict;' }],
  [MAP_LOCAL_PORTS, { kind: 'map', body: 'type inet_proto . inet_service : verdict;' }],
  [SET_NOEP_IPS, { kind: 'set', body: 'type ipv4_addr . inet_proto . inet_service;' }],
  [SET_NOEP_LOCAL_PORTS, { kind: 'set', body: 'type inet_proto . inet_service;' }],
]);

// Numeric priorities: nft reports them as numbers, so the read-back header compares equal.
const DSTNAT = -100;
const SRCNAT = 100;
const FILTER = 0;

export function baseChains(): Map<string, ChainSpec> {
  const base = (type: string, hook: string, prio: number): string => `type ${type} hook ${hook} priority ${prio}; policy accept;`;
  return new Map<string, ChainSpec>([
    // Arriving traffic (workloads on the bridge, other hosts) and the host's own (a ClusterIP or 127.0.0.1:nodePort from a shell).
    ['svc-dstnat-prerouting', { header: base('nat', 'prerouting', DSTNAT), rules: [`jump ${CHAIN_SERVICES}`] }],
    ['svc-dstnat-output', { header: base('nat', 'output', DSTNAT), rules: [`jump ${CHAIN_SERVICES}`] }],
    [
      'svc-srcnat',
      {
        header: base('nat', 'postrouting', SRCNAT),
        // Clear our bit before masquerading, so another table on the hook (another Lodge's) does not act on it too.
        rules: [`meta mark & ${MASQ_MARK} == 0 return`, `meta mark set meta mark ^ ${MASQ_MARK}`, 'masquerade'],
      },
    ],
    // Service ports with no ready endpoint are refused at once, as kube-proxy does, instead of timing out.
    ['svc-filter-forward', { header: base('filter', 'forward', FILTER), rules: [`ct state new jump ${CHAIN_NOEP}`] }],
    ['svc-filter-input', { header: base('filter', 'input', FILTER), rules: [`ct state new jump ${CHAIN_NOEP}`] }],
    ['svc-filter-output', { header: base('filter', 'output', FILTER), rules: [`ct state new jump ${CHAIN_NOEP}`] }],
    [
      CHAIN_SERVICES,
      {
        rules: [
          `ip daddr . meta l4proto . th dport vmap @${MAP_IPS}`,
          // NodePorts and Instance forwards without a host address: any of the node's own addresses, 127.0.0.1 included.
          `fib daddr type local meta l4proto . th dport vmap @${MAP_LOCAL_PORTS}`,
        ],
      },
    ],
    [
      CHAIN_NOEP,
      {
        rules: [
          `ip daddr . meta l4proto . th dport @${SET_NOEP_IPS} goto ${CHAIN_REJECT}`,
          `fib daddr type local meta l4proto . th dport @${SET_NOEP_LOCAL_PORTS} goto ${CHAIN_REJECT}`,
        ],
      },
    ],
    [CHAIN_REJECT, { rules: ['meta l4proto tcp reject with tcp reset', 'reject with icmpx port-unreachable'] }],
    [CHAIN_MARK_MASQ, { rules: [`meta mark set meta mark | ${MASQ_MARK}`] }],
  ]);
}
