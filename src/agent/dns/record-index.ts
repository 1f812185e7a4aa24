// The cluster's DNS names, built from Services, EndpointSlices, Pods and
// Instances as the Kubernetes DNS specification (and CoreDNS's kubernetes
// plugin) lays them out:
//   <svc>.<ns>.svc.<domain>           A: the clusterIP; headless: every ready endpoint
//   <host>.<svc>.<ns>.svc.<domain>    A: a headless endpoint (its hostname, else its dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV: each named port
//   <svc>.<ns>.svc.<domain>           CNAME: an ExternalName Service
//   <a-b-c-d>.<ns>.pod.<domain>       A: a Pod of <ns> that has the address
//   <instance>.<ns>.lodge             A: an Instance's status.ip
// plus reverse (PTR) names for those addresses and the namespace of each
// workload address (a query's asker). Names are lower case, without the
// final dot. The index is rebuilt from the informer caches in one pass
// whenever something changed, never per query.
import type { KubeObject } from '../../apis/types.js';

export const INSTANCE_ZONE = 'lodge';

export type IndexedRecord =
  | { type: 'A'; ip: string }
  | { type: 'CNAME'; target: string }
  | { type: 'SRV'; port: number; weight: number; target: string };

/** The objects the names come from (informer caches). */
export interface DnsSources {
  services(): Iterable<KubeObject>;
  endpointSlices(): Iterable<KubeObject>;
  pods(): Iterable<KubeObject>;
  instances(): Iterable<KubeObject>;
}

interface ServicePortSpec {
  name?: string;
  protocol?: string;
  port?: number;
}
interface SliceSpec {
  endpoints?: Array<{ addresses?: string[]; hostname?: string; conditions?: { ready?: boolean } }>;
  ports?: ServicePortSpec[];
}

export class RecordIndex {
  /** name → its records; a name with an empty list exists but has no data (NOERROR, no answer). */
  readonly names = new Map<string, IndexedRecord[]>();
  /** address → the name its PTR gives. */
  readonly reverse = new Map<string, string>();
  /** workload address → its namespace. */
  readonly namespaceOf = new Map<string, string>();

  constructor(readonly clusterDomain: string) {
    for (const apex of [clusterDomain, `svc.${clusterDomain}`, `pod.${clusterDomain}`, INSTANCE_ZONE]) this.touch(apex);
  }

  static build(src: DnsSources, clusterDomain: string): RecordIndex {
    const ix = new RecordIndex(clusterDomain.toLowerCase());
    const slices = new Map<string, SliceSpec[]>();
    for (const s of src.endpointSlices()) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const key = `${s.metadata.namespace}/${svc}`;
      slices.set(key, [...(slices.get(key) ?? []), s as unknown as SliceSpec]);
    }
    for (const svc of src.services()) ix.addService(svc, slices.get(`${svc.metadata.namespace}/${svc.metadata.name}`) ?? []);
    for (const p of src.pods()) ix.addPod(p);
    for (const i of src.instances()) ix.addInstance(i);
    return ix;
  }

  private touch(name: string): IndexedRecord[] {
    const key = name.toLowerCase();
    let list = this.names.get(key);
    if (!list) this.names.set(key, (list = []));
    return list;
  }

  private add(name: string, r: IndexedRecord): void {
    const list = this.touch(name);
    if (!list.some((x) => JSON.stringify(x) === JSON.stringify(r))) list.push(r);
  }

  private addService(svc: KubeObject, slices: SliceSpec[]): void {
    const ns = String(svc.metadata.namespace);
    const spec = (svc.spec ?? {}) as { type?: string; clusterIP?: string; externalName?: string; ports?: ServicePortSpec[]; publishNotReadyAddresses?: boolean };
    const fqdn = `${svc.metadata.name}.${ns}.svc.${this.clusterDomain}`;
    this.touch(`${ns}.svc.${this.clusterDomain}`);
    this.touch(fqdn);
    if (spec.type === 'ExternalName') {
      if (spec.externalName) this.add(fqdn, { type: 'CNAME', target: spec.externalName.replace(/\.$/, '') });
      return;
    }
    if (spec.clusterIP && spec.clusterIP !== 'None') {
      this.add(fqdn, { type: 'A', ip: spec.clusterIP });
      this.reverse.set(spec.clusterIP, fqdn);
      for (const p of spec.ports ?? []) this.addSrv(fqdn, p, { port: p.port ?? 0, weight: 100, target: fqdn });
      return;
    }
    // Headless: the endpoints themselves, each also under a name of its own.
    for (const slice of slices) {
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false && !spec.publishNotReadyAddresses) continue;
        for (const ip of ep.addresses ?? []) {
          const host = `${ep.hostname || ip.replace(/[.:]/g, '-')}.${fqdn}`;
          this.add(fqdn, { type: 'A', ip });
          this.add(host, { type: 'A', ip });
          if (!this.reverse.has(ip) || ep.hostname) this.reverse.set(ip, host);
          for (const p of slice.ports ?? []) this.addSrv(fqdn, p, { port: p.port ?? 0, weight: 0, target: host });
        }
      }
    }
  }

  private addSrv(fqdn: string, p: ServicePortSpec, srv: { port: number; weight: number; target: string }): void {
    if (!p.name) return;
    const proto = `_${(p.protocol ?? 'TCP').toLowerCase()}.${fqdn}`;
    this.touch(proto);
    this.add(`_${p.name}.${proto}`, { type: 'SRV', ...srv });
  }

  private addPod(pod: KubeObject): void {
    const ns = String(pod.metadata.namespace);
    const status = (pod.status ?? {}) as { phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }> };
    // A finished Pod's address has been given back (and may be someone else's by now).
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return;
    const ips = new Set([status.podIP, ...(status.podIPs ?? []).map((x) => x.ip)].filter((x): x is string => !!x));
    this.touch(`${ns}.pod.${this.clusterDomain}`);
    for (const ip of ips) {
      const name = `${ip.replace(/[.:]/g, '-')}.${ns}.pod.${this.clusterDomain}`;
      this.add(name, { type: 'A', ip });
      if (!this.reverse.has(ip)) this.reverse.set(ip, name);
      this.namespaceOf.set(ip, ns);
    }
  }

  private addInstance(i: KubeObject): void {
    const ns = String(i.metadata.namespace);
    const name = `${i.metadata.name}.${ns}.${INSTANCE_ZONE}`;
    this.touch(`${ns}.${INSTANCE_ZONE}`);
    this.touch(name);
    const status = (i.status ?? {}) as { ip?: string; ips?: string[] };
    for (const ip of new Set([status.ip, ...(status.ips ?? [])].filter((x): x is string => !!x))) {
      this.add(name, { type: 'A', ip });
      this.reverse.set(ip, name);
      this.namespaceOf.set(ip, ns);
    }
  }
}
