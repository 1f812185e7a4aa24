// Names of the nft objects the Service proxy owns in Lodge's table. Chain and
// set names are derived from what they stand for (service port, endpoint,
// forward) with a short hash in front, so they are the same after a restart:
// a restarted agent recognises the chains it made and leaves them in place.
// nft identifiers may contain letters, digits and / - _ . — Kubernetes names
// (DNS labels) and IPv4 addresses fit as they are.
import { createHash } from 'node:crypto';

/** Lodge's masquerade bit on the packet mark: not kube-proxy's 0x4000, so both can share a host. */
export const MASQ_MARK = '0x02000000';

/** Verdict maps: every packet pays one lookup, whatever the number of Services. */
export const MAP_IPS = 'svc-ips';
export const MAP_LOCAL_PORTS = 'svc-local-ports';
/** Service ports with no ready endpoint: rejected in the filter hooks. */
export const SET_NOEP_IPS = 'noep-ips';
export const SET_NOEP_LOCAL_PORTS = 'noep-local-ports';

export const CHAIN_SERVICES = 'svc-services';
export const CHAIN_MARK_MASQ = 'svc-mark-masq';
export const CHAIN_NOEP = 'svc-no-endpoints';
export const CHAIN_REJECT = 'svc-reject';

/** Which objects of the table are the proxy's (the rest belongs to nat.ts or to nobody we know). */
export const OWNED_CHAIN = /^(svc|ep|fwd)-/;
export const OWNED_SET = /^(svc|noep|aff)-/;

export type L4 = 'tcp' | 'udp' | 'sctp';

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url').replace(/[-_]/g, 'x').slice(0, 8).toUpperCase();
}

/** "ns/name/tcp/http": one port of one Service. */
export function servicePortId(ns: string, name: string, proto: L4, port: string | number): string {
  return `${ns}/${name}/${proto}/${port}`;
}

export function serviceChain(portId: string): string {
  return `svc-${hash(portId)}-${portId}`;
}

export function endpointChain(portId: string, ip: string, port: number): string {
  return `ep-${hash(`${portId}__${ip}/${port}`)}-${portId}__${ip}/${port}`;
}

/** The endpoint's ClientIP affinity set; its timeout is part of the name, so a new timeout is a new set. */
export function affinitySet(portId: string, ip: string, port: number, timeoutSeconds: number): string {
  return `aff-${hash(`${portId}__${ip}/${port}#${timeoutSeconds}`)}`;
}

/** "ns/name/tcp/8080" (hostPort) or with the host address: one forward of one Instance. */
export function forwardChain(ns: string, name: string, proto: L4, hostIP: string | undefined, hostPort: number): string {
  const id = `${ns}/${name}/${proto}/${hostIP ? `${hostIP}/` : ''}${hostPort}`;
  return `fwd-${hash(id)}-${id}`;
}

/** A rule's identity: its chain and text. Carried as the rule's comment, so a read-back table says what each rule is. */
export function ruleHash(chain: string, text: string): string {
  return createHash('sha256').update(`${chain}\0${text}`).digest('hex').slice(0, 12);
}
