// --cluster-domain and --dns-upstream, shared by `lodge up` and `lodge agent`.
import { DEFAULT_CLUSTER_DOMAIN } from './pod-dns-config.js';
import { parseUpstream, type Upstream } from './upstream.js';

const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export interface DnsFlags {
  clusterDomain: string;
  /** Undefined: the host's resolv.conf. */
  upstreams?: Upstream[];
}

export function parseDnsFlags(clusterDomain: string | undefined, dnsUpstream: string | undefined): DnsFlags {
  const domain = (clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw new Error(`--cluster-domain must be a DNS domain such as cluster.local, not ${JSON.stringify(clusterDomain)}`);
  if (domain === 'lodge' || domain.endsWith('.lodge')) throw new Error(`--cluster-domain ${domain}: the zone "lodge" holds Instance names`);
  const upstreams = dnsUpstream?.split(',').filter((x) => x.trim() !== '').map((x) => {
    try {
      return parseUpstream(x);
    } catch (e) {
      throw new Error(`--dns-upstream: ${(e as Error).message}`);
    }
  });
  return { clusterDomain: domain, ...(upstreams?.length ? { upstreams } : {}) };
}
