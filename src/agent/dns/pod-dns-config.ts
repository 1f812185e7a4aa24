// A Pod's resolver settings from its dnsPolicy and dnsConfig, as the
// kubelet's GetPodDNS computes them:
//   ClusterFirst (the default; ClusterFirstWithHostNet is the same here, Pods
//     never share the host's network) — the cluster DNS Service's address,
//     search <ns>.svc.<domain> svc.<domain> <domain> followed by the host's
//     own search domains, options ndots:5. With no cluster DNS address known
//     the kubelet falls back to Default, and so does this.
//   Default — the host's resolv.conf (nameservers, search domains, options).
//   None — nothing but dnsConfig.
// dnsConfig is then appended: nameservers and searches with duplicates
// dropped, options merged by name (dnsConfig's value wins). As the kubelet,
// at most 3 nameservers and 32 search domains (2048 characters) are kept.
import type { KubeObject } from '../../apis/types.js';
import type { DnsConfig } from './resolv-conf.js';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
/** glibc's MAXNS: resolvers ignore more. */
const MAX_NAMESERVERS = 3;
/** The kubelet's MaxDNSSearchPaths and MaxDNSSearchListChars. */
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;
const CLUSTER_OPTIONS = ['ndots:5'];

export interface ClusterDnsSettings {
  /** The cluster DNS Service's clusterIP; undefined when there is none (Default is used then). */
  clusterDnsIP: string | undefined;
  clusterDomain: string;
  /** The node's own resolver settings (its resolv.conf). */
  host: DnsConfig;
}

interface PodDnsSpec {
  dnsPolicy?: string;
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: Array<{ name?: string; value?: string }> };
}

export interface PodDnsResult {
  config: DnsConfig;
  /** Something the kubelet would report as an event: a fallback taken or a limit applied. */
  warnings: string[];
}

/** The search list of a workload in namespace ns that asks the cluster DNS first. */
export function clusterSearches(ns: string, clusterDomain: string): string[] {
  return [`${ns}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain];
}

export function podDnsConfig(pod: KubeObject, s: ClusterDnsSettings): PodDnsResult {
  const spec = (pod.spec ?? {}) as PodDnsSpec;
  const ns = String(pod.metadata.namespace ?? 'default');
  const policy = spec.dnsPolicy ?? 'ClusterFirst';
  const warnings: string[] = [];
  let base: DnsConfig;
  if (policy === 'None') base = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default') base = copy(s.host);
  else if (!s.clusterDnsIP) {
    warnings.push(`pod: ${policy} policy specified but no cluster DNS Service (kube-system/kube-dns) was found; falling back to the node's resolv.conf (Default)`);
    base = copy(s.host);
  } else {
    base = { nameservers: [s.clusterDnsIP], searches: [...clusterSearches(ns, s.clusterDomain), ...s.host.searches], options: [...CLUSTER_OPTIONS] };
  }
  const extra = spec.dnsConfig;
  const merged: DnsConfig = {
    nameservers: unique([...base.nameservers, ...(extra?.nameservers ?? [])]),
    searches: unique([...base.searches, ...(extra?.searches ?? [])]),
    options: mergeOptions(base.options, extra?.options ?? []),
  };
  return { config: fitLimits(merged, warnings), warnings };
}

/** name → value, the later one winning, in the order names first appear. */
function mergeOptions(existing: string[], added: Array<{ name?: string; value?: string }>): string[] {
  const byName = new Map<string, string | undefined>();
  for (const o of existing) {
    const i = o.indexOf(':');
    byName.set(i < 0 ? o : o.slice(0, i), i < 0 ? undefined : o.slice(i + 1));
  }
  for (const o of added) if (o.name) byName.set(o.name, o.value || undefined);
  return [...byName].map(([n, v]) => (v === undefined ? n : `${n}:${v}`));
}

function fitLimits(c: DnsConfig, warnings: string[]): DnsConfig {
  let { nameservers, searches } = c;
  if (nameservers.length > MAX_NAMESERVERS) {
    nameservers = nameservers.slice(0, MAX_NAMESERVERS);
    warnings.push(`Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${nameservers.join(' ')}`);
  }
  const before = searches.length;
  searches = searches.slice(0, MAX_SEARCHES);
  while (searches.join(' ').length > MAX_SEARCH_CHARS) searches = searches.slice(0, -1);
  if (searches.length < before) warnings.push(`Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`);
  return { nameservers, searches, options: c.options };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}

function copy(c: DnsConfig): DnsConfig {
  return { nameservers: [...c.nameservers], searches: [...c.searches], options: [...c.options] };
}
