// Cluster DNS: the agent's DNS server for the cluster's names, and the
// resolver settings (resolv.conf, /etc/hosts) of Pods, system containers and VMs.
export { ClusterDns, DNS_PORT, type ClusterDnsOptions, type ClusterDnsSource } from './cluster-dns.js';
export { clusterDnsConfig } from './instance-dns-config.js';
export { podDnsConfig, clusterSearches, DEFAULT_CLUSTER_DOMAIN, type ClusterDnsSettings, type PodDnsResult } from './pod-dns-config.js';
export { podHostsFile, podHostname } from './hosts-file.js';
export { formatResolvConf, parseResolvConf, readHostDnsConfig, type DnsConfig } from './resolv-conf.js';
export { parseUpstream, formatUpstream, type Upstream } from './upstream.js';
export { startDnsServer, type DnsServer } from './dns-server.js';
export { RecordIndex, INSTANCE_ZONE, type DnsSources } from './record-index.js';
export { resolveQuestion, DNS_TTL_SECONDS } from './cluster-resolver.js';
