// The /etc/hosts the kubelet writes for a Pod: localhost entries, the Pod's
// own address with its hostname (and FQDN when it has a subdomain), then
// spec.hostAliases. Containers get it bind-mounted, so `hostname -i` and
// software that resolves its own name work without DNS.
import type { KubeObject } from '../../apis/types.js';

interface HostsSpec {
  hostname?: string;
  subdomain?: string;
  hostAliases?: Array<{ ip?: string; hostnames?: string[] }>;
}

const HEADER = `# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
`;

/** The hostname a Pod's containers get: spec.hostname, else its name (at most 63 characters, a DNS label). */
export function podHostname(pod: KubeObject): string {
  const spec = (pod.spec ?? {}) as HostsSpec;
  return (spec.hostname || String(pod.metadata.name)).slice(0, 63);
}

export function podHostsFile(pod: KubeObject, podIP: string | undefined, clusterDomain: string): string {
  const spec = (pod.spec ?? {}) as HostsSpec;
  let text = HEADER;
  if (podIP) {
    const host = podHostname(pod);
    text += spec.subdomain ? `${podIP}\t${host}.${spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}\t${host}\n` : `${podIP}\t${host}\n`;
  }
  const aliases = (spec.hostAliases ?? []).filter((a) => a.ip && a.hostnames?.length);
  if (aliases.length) {
    text += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) text += `${a.ip}\t${a.hostnames!.join('\t')}\n`;
  }
  return text;
}
