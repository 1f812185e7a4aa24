// This node's DNS server as an endpoint of the kube-dns Service: an
// EndpointSlice kube-dns-<node> in kube-system, managed by the agent (the
// endpointslice controller leaves slices it does not manage, and Services
// without a selector, alone). The Service proxy sends the kube-dns clusterIP
// to these endpoints, as kube-proxy sends it to CoreDNS's Pods. The slice
// names its Node as owner, so the garbage collector removes it with the
// node: a node that is gone leaves no endpoint behind.
import type { KubeObject } from '../../apis/types.js';
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL } from '../../apis/discovery/v1/endpointslice.js';

export const DNS_NAMESPACE = 'kube-system';
export const DNS_SERVICE = 'kube-dns';
export const AGENT_MANAGER = 'lodge-agent';

export function dnsSliceName(nodeName: string): string {
  return `${DNS_SERVICE}-${nodeName}`.slice(0, 253);
}

export function dnsEndpointSlice(node: { name: string; uid: string }, ip: string, port: number, ready: boolean): KubeObject {
  const nodeName = node.name;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: dnsSliceName(nodeName),
      namespace: DNS_NAMESPACE,
      labels: { [SERVICE_NAME_LABEL]: DNS_SERVICE, [MANAGED_BY_LABEL]: AGENT_MANAGER },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.uid }],
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready, serving: ready, terminating: false }, nodeName }],
    ports: [
      { name: 'dns', protocol: 'UDP', port },
      { name: 'dns-tcp', protocol: 'TCP', port },
    ],
  };
}

/**
 * Whether the stored slice already says what we would write. Only the fields
 * we set are compared (defaults the server adds are not a difference), so
 * an update never triggers another one.
 */
export function sliceMatches(stored: KubeObject | undefined, want: KubeObject): boolean {
  if (!stored) return false;
  type Ep = { addresses?: string[]; conditions?: { ready?: boolean }; nodeName?: string };
  type Port = { name?: string; protocol?: string; port?: number };
  const pick = (o: KubeObject): string =>
    JSON.stringify([
      o.metadata.labels?.[SERVICE_NAME_LABEL],
      o.metadata.labels?.[MANAGED_BY_LABEL],
      (o.metadata.ownerReferences ?? []).map((r) => [r.kind, r.name, r.uid]),
      o.addressType,
      ((o.endpoints as Ep[] | undefined) ?? []).map((e) => [e.addresses, e.conditions?.ready, e.nodeName]),
      ((o.ports as Port[] | undefined) ?? []).map((p) => [p.name, p.protocol, p.port]),
    ]);
  return pick(stored) === pick(want);
}
