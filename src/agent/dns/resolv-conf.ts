// resolv.conf as data: the host's file read into {nameservers, searches,
// options} (for dnsPolicy Default, the search domains ClusterFirst appends
// and the upstreams the cluster DNS server forwards to), and written back
// for a Pod or system container. Only the three keys the kubelet carries
// over are kept; "domain" is an older spelling of a one-entry search list.
import { readFile } from 'node:fs/promises';

export interface DnsConfig {
  nameservers: string[];
  searches: string[];
  /** "name" or "name:value", as on an options line. */
  options: string[];
}

export const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's list of the real upstreams, next to the stub (127.0.0.53) it puts in /etc/resolv.conf. */
const RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf';

export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0]) out.nameservers.push(values[0]);
    // The last search or domain line wins, as in glibc.
    else if (key === 'search') out.searches = values.map(stripDot);
    else if (key === 'domain' && values[0]) out.searches = [stripDot(values[0])];
    else if (key === 'options') out.options.push(...values);
  }
  return out;
}

export function formatResolvConf(c: DnsConfig, header?: string): string {
  const lines: string[] = [];
  if (header) lines.push(`# ${header}`);
  if (c.searches.length) lines.push(`search ${c.searches.join(' ')}`);
  for (const ns of c.nameservers) lines.push(`nameserver ${ns}`);
  if (c.options.length) lines.push(`options ${c.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/**
 * The host's DNS settings. A host behind systemd-resolved lists only its
 * loopback stub, which is unreachable from a workload's own network
 * namespace: then resolved's own list of upstreams is used, as kubeadm
 * points the kubelet's --resolv-conf at it. A missing file is no servers.
 */
export async function readHostDnsConfig(path = HOST_RESOLV_CONF): Promise<DnsConfig> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw new Error(`cannot read ${path}: ${e.message}`);
  });
  const c = parseResolvConf(text);
  if (path === HOST_RESOLV_CONF && c.nameservers.length > 0 && c.nameservers.every((n) => n.startsWith('127.'))) {
    const real = await readFile(RESOLVED_UPSTREAMS, 'utf8').catch(() => '');
    const upstreams = parseResolvConf(real).nameservers;
    if (upstreams.length) return { ...c, nameservers: upstreams };
  }
  return c;
}

function stripDot(name: string): string {
  return name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name;
}
