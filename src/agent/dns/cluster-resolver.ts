// Answers one question from the record index, or says it is not ours
// (undefined: the server forwards it upstream). Ours are the cluster domain,
// the `lodge` zone of Instances, and reverse names of addresses the index
// knows. In our zones a name that does not exist is NXDOMAIN and a name that
// exists without records of the asked type is NOERROR with no answer (AAAA
// on an IPv4-only cluster), both with the zone's SOA so resolvers cache the
// negative answer for its minimum (the record TTL). `<instance>.lodge` is
// looked up in the asker's own namespace (known by its source address),
// `default` for anyone else.
import { isIPv4, isIPv6 } from 'node:net';
import type { Answer, Question, SoaAnswer } from 'dns-packet';
import { INSTANCE_ZONE, type IndexedRecord, type RecordIndex } from './record-index.js';

/** Short: a Pod's address is reused soon after its Pod goes. CoreDNS's kubernetes plugin uses 5 s too. */
export const DNS_TTL_SECONDS = 5;

export interface ResolvedAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export function resolveQuestion(ix: RecordIndex, q: Question, askerIp: string | undefined): ResolvedAnswer | undefined {
  const asked = q.name.replace(/\.$/, '');
  const name = asked.toLowerCase();
  if (q.type === 'PTR' && name.endsWith('.in-addr.arpa')) return reverse(ix, q, name);
  const zone = [ix.clusterDomain, INSTANCE_ZONE].find((z) => name === z || name.endsWith(`.${z}`));
  if (!zone) return undefined;
  let key = name;
  if (zone === INSTANCE_ZONE) {
    const labels = name.split('.');
    // <instance>.lodge: the asker's namespace. <instance>.<ns>.lodge as it stands.
    if (labels.length === 2) key = `${labels[0]}.${(askerIp && ix.namespaceOf.get(askerIp)) || 'default'}.${INSTANCE_ZONE}`;
    if (labels.length > 3) return negative(zone, 'NXDOMAIN');
  }
  const records = ix.names.get(key);
  if (!records) return negative(zone, 'NXDOMAIN');
  if (q.type === 'SOA' && name === zone) return { rcode: 'NOERROR', answers: [soa(zone)], authorities: [], additionals: [] };
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const cname = records.find((r): r is Extract<IndexedRecord, { type: 'CNAME' }> => r.type === 'CNAME');
  if (cname) {
    // An ExternalName: the alias answers every type; the asker's resolver follows it.
    answers.push({ type: 'CNAME', name: asked, ttl: DNS_TTL_SECONDS, data: cname.target });
  } else {
    // A string: dns-packet's type names leave out ANY (255), which it still decodes to 'ANY'.
    const t: string = q.type;
    for (const r of records) {
      if (r.type === 'A' && (t === 'A' || t === 'ANY') && isIPv4(r.ip)) answers.push({ type: 'A', name: asked, ttl: DNS_TTL_SECONDS, data: r.ip });
      if (r.type === 'A' && (t === 'AAAA' || t === 'ANY') && isIPv6(r.ip)) answers.push({ type: 'AAAA', name: asked, ttl: DNS_TTL_SECONDS, data: r.ip });
      if (r.type === 'SRV' && (t === 'SRV' || t === 'ANY')) {
        answers.push({ type: 'SRV', name: asked, ttl: DNS_TTL_SECONDS, data: { priority: 0, weight: r.weight, port: r.port, target: r.target } });
        // The target's address along, as CoreDNS does: one round trip for the client instead of two.
        for (const t of ix.names.get(r.target) ?? []) if (t.type === 'A' && isIPv4(t.ip)) additionals.push({ type: 'A', name: r.target, ttl: DNS_TTL_SECONDS, data: t.ip });
      }
    }
  }
  if (!answers.length) return negative(zone, 'NOERROR');
  return { rcode: 'NOERROR', answers, authorities: [], additionals: dedupe(additionals) };
}

/** PTR of an address the index knows; other reverse names are the upstream's (the host's own network). */
function reverse(ix: RecordIndex, q: Question, name: string): ResolvedAnswer | undefined {
  const octets = name.slice(0, -'.in-addr.arpa'.length).split('.');
  if (octets.length !== 4) return undefined;
  const ip = octets.reverse().join('.');
  const target = ix.reverse.get(ip);
  if (!target) return undefined;
  return { rcode: 'NOERROR', answers: [{ type: 'PTR', name: q.name.replace(/\.$/, ''), ttl: DNS_TTL_SECONDS, data: target }], authorities: [], additionals: [] };
}

function negative(zone: string, rcode: 'NOERROR' | 'NXDOMAIN'): ResolvedAnswer {
  return { rcode, answers: [], authorities: [soa(zone)], additionals: [] };
}

function soa(zone: string): SoaAnswer {
  return {
    type: 'SOA',
    name: zone,
    ttl: DNS_TTL_SECONDS,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: SERIAL, refresh: 7200, retry: 1800, expire: 86400, minimum: DNS_TTL_SECONDS },
  };
}

/** Nobody transfers these zones; a serial fixed per agent run is enough. */
const SERIAL = Math.floor(Date.now() / 1000) >>> 0;

function dedupe(xs: Answer[]): Answer[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
