// Resolver settings of a system container or VM Instance in a namespace:
// the cluster DNS first, searching its own namespace's Instances
// (<ns>.lodge, then lodge) before the Services Pods see (<ns>.svc.<domain>
// ...), so `ssh web` reaches the Instance web and `curl api` the Service api
// of the namespace. ndots:5 as for Pods: every short name is tried against
// the search list first, which the cluster DNS answers locally. Without a
// cluster DNS Service the node's own settings are used, as for Pods.
import { clusterSearches, type ClusterDnsSettings } from './pod-dns-config.js';
import { INSTANCE_ZONE } from './record-index.js';
import type { DnsConfig } from './resolv-conf.js';

export function clusterDnsConfig(namespace: string, s: ClusterDnsSettings): DnsConfig {
  if (!s.clusterDnsIP) return { nameservers: [...s.host.nameservers], searches: [...s.host.searches], options: [...s.host.options] };
  return {
    nameservers: [s.clusterDnsIP],
    searches: [`${namespace}.${INSTANCE_ZONE}`, INSTANCE_ZONE, ...clusterSearches(namespace, s.clusterDomain)],
    options: ['ndots:5'],
  };
}
