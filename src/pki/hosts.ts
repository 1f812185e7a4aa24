// Which names the API server certificate must carry. Clients verify the
// server by the exact host in their URL, so the certificate lists every way a
// local client may reach it: the listen address, loopback in both families,
// "localhost" and the machine's hostname.
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

export interface SanSet {
  dns: string[];
  ips: string[];
}

/** "[::1]" → "::1", "Host" → "host"; URLs carry IPv6 in brackets. */
export function normalizeHost(host: string): string {
  const h = host.trim();
  const unbracketed = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  return unbracketed.toLowerCase();
}

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '*';
}

/** Every local interface address, for a server listening on a wildcard. */
function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Link-local IPv6 needs a zone id in URLs; nobody reaches an API that way.
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
      out.push(a.address);
    }
  }
  return out;
}

/** The SANs for a server reachable at `hosts` (listen addresses or names). */
export function serverSans(hosts: string[]): SanSet {
  const wanted = ['127.0.0.1', '::1', 'localhost', hostname()];
  for (const raw of hosts) {
    const h = normalizeHost(raw);
    // A wildcard is not a name a client can use; the addresses behind it are.
    if (isWildcard(h)) wanted.push(...interfaceAddresses());
    else wanted.push(h);
  }
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const w of wanted) {
    const h = normalizeHost(w);
    if (!h) continue;
    if (isIP(h)) ips.add(h);
    else dns.add(h);
  }
  return { dns: [...dns], ips: [...ips] };
}
