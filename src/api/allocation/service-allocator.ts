// Cluster IPs and node ports of Services, allocated at admission.
//
// Scheme: one store key per allocated address or port
// (/registry/ranges/serviceips/<ip>, /registry/ranges/servicenodeports/<port>/<protocol>),
// taken with the store's create-if-absent. Whoever creates the key owns the
// address; a second creator gets KeyExistsError and moves on. This is the
// shape of Kubernetes' newer allocator (one IPAddress object per IP) rather
// than its older single RangeAllocation bitmap updated with CAS: with one
// key per address, concurrent creates of different Services never contend
// (a bitmap makes every create of the cluster retry on one hot key), and a
// release is a plain delete of one key.
//
// The store has no transactions across keys, so a Service write and its
// allocation keys can diverge if the process dies between them (a key
// without its Service, or a released Service whose key remains). As in
// Kubernetes, a repair pass reconciles the keys with the stored Services at
// start and periodically: missing keys are recreated from the Services
// (also for Services stored before allocation existed), keys no Service
// holds are freed once older than a grace period (younger ones may belong
// to a create still in flight).
import { isIPv4 } from 'node:net';
import type { KubeObject, FieldError } from '../../apis/types.js';
import type { Service, ServicePort, ServiceSpec } from '../../apis/core/v1/types.js';
import { KeyExistsError, NotFoundError, RevisionConflictError, type Store } from '../../store/store.js';
import type { Logger } from '../../util/log.js';
import { ApiError, internalError, invalid } from '../status.js';
import type { Allocator, Reservation } from '../resources/resource-service.js';
import { Ipv4Range } from './ip-range.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

const IP_PREFIX = '/registry/ranges/serviceips/';
const PORT_PREFIX = '/registry/ranges/servicenodeports/';
/** Offsets never handed out dynamically: .1 for the `kubernetes` Service, .10 for cluster DNS (both requested explicitly by their creators). */
const RESERVED_OFFSETS = [1, 10];
/** How many random probes before listing what is taken and scanning. */
const RANDOM_PROBES = 16;
/** Keys no Service holds are freed by repair only when older than this: a create may be between allocation and write. */
const REPAIR_GRACE_MS = 60_000;

interface Owner {
  namespace: string;
  name: string;
  uid: string;
}
interface Record extends Owner {
  allocatedAt: string;
}

const SERVICE_KIND = { kind: 'Service', group: '' };

export function parsePortRange(range: string): { min: number; max: number } {
  const m = /^(\d+)-(\d+)$/.exec(range.trim());
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) throw new Error(`node port range ${JSON.stringify(range)} must be MIN-MAX within 1-65535, like 30000-32767`);
  return { min, max };
}

const usesNodePorts = (spec: ServiceSpec | undefined): boolean =>
  spec?.type === 'NodePort' || (spec?.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);

/** The cluster IP a stored Service holds, if any. */
function heldIP(spec: ServiceSpec | undefined): string | undefined {
  if (!spec || spec.type === 'ExternalName') return undefined;
  const ip = spec.clusterIP;
  return ip && ip !== 'None' ? ip : undefined;
}

const portKey = (port: number, protocol: string | undefined): string => `${port}/${protocol ?? 'TCP'}`;

/** The node ports (port/protocol) a stored Service holds. */
function heldPorts(spec: ServiceSpec | undefined): Set<string> {
  const held = new Set<string>();
  if (!spec || (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')) return held;
  for (const p of spec.ports ?? []) if (p.nodePort) held.add(portKey(p.nodePort, p.protocol));
  return held;
}

function ownerOf(o: KubeObject): Owner {
  return { namespace: String(o.metadata.namespace ?? ''), name: String(o.metadata.name ?? ''), uid: String(o.metadata.uid ?? '') };
}

export interface ServiceAllocatorOptions {
  serviceCIDR?: string;
  nodePortRange?: string;
  log: Logger;
}

export class ServiceAllocator implements Allocator {
  readonly range: Ipv4Range;
  readonly ports: { min: number; max: number };
  private readonly log: Logger;

  constructor(
    private readonly store: Store,
    o: ServiceAllocatorOptions,
  ) {
    this.range = new Ipv4Range(o.serviceCIDR ?? DEFAULT_SERVICE_CIDR);
    this.ports = parsePortRange(o.nodePortRange ?? DEFAULT_NODE_PORT_RANGE);
    this.log = o.log.child({ component: 'service-allocator' });
  }

  // ---- admission -----------------------------------------------------------

  async reserve(obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Reservation> {
    const svc = obj as Service;
    const prev = (old as Service | undefined)?.spec;
    const spec = svc.spec ?? {};
    const owner = ownerOf(obj);
    const taken: string[] = [];
    const rollback = async (): Promise<void> => {
      for (const key of taken) await this.free(key, owner.uid);
    };
    try {
      this.defaultFamilies(svc, owner.name);
      await this.reserveIP(spec, heldIP(prev), owner, dryRun, taken);
      await this.reserveNodePorts(spec, heldPorts(prev), owner, dryRun, taken);
    } catch (e) {
      await rollback();
      throw e;
    }
    const nowIP = heldIP(spec);
    const nowPorts = heldPorts(spec);
    const stale = [
      ...(heldIP(prev) && heldIP(prev) !== nowIP ? [IP_PREFIX + heldIP(prev)] : []),
      ...[...heldPorts(prev)].filter((k) => !nowPorts.has(k)).map((k) => PORT_PREFIX + k),
    ];
    return {
      commit: async () => {
        if (dryRun) return;
        for (const key of stale) await this.free(key, owner.uid);
      },
      rollback,
    };
  }

  async release(obj: KubeObject): Promise<void> {
    const spec = (obj as Service).spec;
    const uid = String(obj.metadata.uid ?? '');
    const ip = heldIP(spec);
    if (ip) await this.free(IP_PREFIX + ip, uid);
    for (const k of heldPorts(spec)) await this.free(PORT_PREFIX + k, uid);
  }

  /** ipFamilies and ipFamilyPolicy for this single-stack IPv4 cluster, as Kubernetes defaults and checks them. */
  private defaultFamilies(svc: Service, name: string): void {
    const spec = svc.spec;
    if (!spec) return;
    if (spec.type === 'ExternalName') {
      // ExternalName Services have no IPs, so no families (Kubernetes clears them).
      delete spec.ipFamilies;
      delete spec.ipFamilyPolicy;
      delete spec.clusterIPs;
      return;
    }
    const errs: FieldError[] = [];
    const headless = spec.clusterIP === 'None' || spec.clusterIPs?.[0] === 'None';
    // A headless Service without selector may publish both families' endpoints: Kubernetes defaults it to RequireDualStack.
    spec.ipFamilyPolicy ??= headless && !spec.selector ? 'RequireDualStack' : 'SingleStack';
    spec.ipFamilies ??= ['IPv4'];
    if (!spec.ipFamilies.length) spec.ipFamilies = ['IPv4'];
    spec.ipFamilies.forEach((f, i) => {
      if (f !== 'IPv4') errs.push({ field: `spec.ipFamilies[${i}]`, reason: 'FieldValueInvalid', message: `Invalid value: "${f}": not configured on this cluster` });
    });
    if (spec.ipFamilies.length > 1) errs.push({ field: 'spec.ipFamilies', reason: 'FieldValueInvalid', message: 'Invalid value: may not have more than one family in a single-stack cluster' });
    if (spec.ipFamilyPolicy === 'RequireDualStack' && !headless)
      errs.push({ field: 'spec.ipFamilyPolicy', reason: 'FieldValueInvalid', message: 'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services' });
    if ((spec.clusterIPs?.length ?? 0) > 1)
      errs.push({ field: 'spec.clusterIPs', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(spec.clusterIPs)}: may have at most one IP in a single-stack cluster` });
    if (errs.length) throw invalid(SERVICE_KIND, name, errs);
  }

  private async reserveIP(spec: ServiceSpec, held: string | undefined, owner: Owner, dryRun: boolean, taken: string[]): Promise<void> {
    if (spec.type === 'ExternalName') return;
    // clusterIPs may carry the request when clusterIP is empty (clients that only set the list).
    const requested = spec.clusterIP || spec.clusterIPs?.[0] || '';
    if (requested === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
      return;
    }
    if (requested && requested === held) {
      spec.clusterIP = requested;
      spec.clusterIPs = [requested];
      return;
    }
    const ip = requested ? await this.takeIP(requested, owner, dryRun, taken) : await this.allocateIP(owner, dryRun, taken);
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }

  private ipError(owner: Owner, ip: string, why: string): ApiError {
    return invalid(SERVICE_KIND, owner.name, [
      { field: 'spec.clusterIPs', reason: 'FieldValueInvalid', message: `Invalid value: ["${ip}"]: failed to allocate IP ${ip}: ${why}` },
    ]);
  }

  private async takeIP(ip: string, owner: Owner, dryRun: boolean, taken: string[]): Promise<string> {
    if (!isIPv4(ip)) throw this.ipError(owner, ip, 'only IPv4 addresses are configured on this cluster');
    const off = this.range.offsetOf(ip);
    if (off === undefined || !this.range.usable(off))
      throw this.ipError(owner, ip, `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.range.cidr}`);
    if (!(await this.claim(IP_PREFIX + ip, owner, dryRun, taken))) throw this.ipError(owner, ip, 'provided IP is already allocated');
    return ip;
  }

  private async allocateIP(owner: Owner, dryRun: boolean, taken: string[]): Promise<string> {
    const r = this.range;
    const dynamic = (off: number): boolean => r.usable(off) && !RESERVED_OFFSETS.includes(off);
    // In a wide range random probes almost always hit a free address at once; a crowded one falls back to scanning.
    for (let i = 0; i < RANDOM_PROBES; i++) {
      const off = 1 + Math.floor(Math.random() * (r.size - 2));
      if (dynamic(off) && (await this.claim(IP_PREFIX + r.at(off), owner, dryRun, taken))) return r.at(off);
    }
    const used = await this.listTaken(IP_PREFIX);
    const start = Math.floor(Math.random() * r.size);
    for (let i = 0; i < r.size; i++) {
      const off = (start + i) % r.size;
      if (!dynamic(off) || used.has(r.at(off))) continue;
      if (await this.claim(IP_PREFIX + r.at(off), owner, dryRun, taken)) return r.at(off);
    }
    throw internalError(`failed to allocate a serviceIP for Service ${owner.namespace}/${owner.name}: range ${r.cidr} is full`);
  }

  private async reserveNodePorts(spec: ServiceSpec, held: Set<string>, owner: Owner, dryRun: boolean, taken: string[]): Promise<void> {
    const ports = spec.ports ?? [];
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') return;
    const mine = new Set<string>();
    const errs: FieldError[] = [];
    // Requested ports first, so a dynamic pick never takes one a later port of this Service asks for.
    for (const [i, p] of ports.entries()) {
      if (!p.nodePort) continue;
      const key = portKey(p.nodePort, p.protocol);
      if (mine.has(key)) continue;
      mine.add(key);
      if (held.has(key)) continue;
      const field = `spec.ports[${i}].nodePort`;
      if (p.nodePort < this.ports.min || p.nodePort > this.ports.max) {
        errs.push({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${this.ports.min}-${this.ports.max}` });
        continue;
      }
      if (!(await this.claim(PORT_PREFIX + key, owner, dryRun, taken)))
        errs.push({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
    }
    if (errs.length) throw invalid(SERVICE_KIND, owner.name, errs);
    if (!usesNodePorts(spec)) return;
    for (const [i, p] of ports.entries()) {
      if (p.nodePort) continue;
      // As Kubernetes: the same service port over TCP and UDP gets one node port for both when it can.
      const sibling = ports.find((q) => q !== p && q.port === p.port && q.nodePort && !mine.has(portKey(q.nodePort, p.protocol)));
      if (sibling?.nodePort && (await this.claim(PORT_PREFIX + portKey(sibling.nodePort, p.protocol), owner, dryRun, taken))) {
        p.nodePort = sibling.nodePort;
      } else {
        p.nodePort = await this.allocatePort(p, owner, dryRun, taken, mine, i);
      }
      mine.add(portKey(p.nodePort, p.protocol));
    }
  }

  private async allocatePort(p: ServicePort, owner: Owner, dryRun: boolean, taken: string[], mine: Set<string>, i: number): Promise<number> {
    const count = this.ports.max - this.ports.min + 1;
    const used = await this.listTaken(PORT_PREFIX);
    const start = Math.floor(Math.random() * count);
    for (let n = 0; n < count; n++) {
      const port = this.ports.min + ((start + n) % count);
      const key = portKey(port, p.protocol);
      if (used.has(key) || mine.has(key)) continue;
      if (await this.claim(PORT_PREFIX + key, owner, dryRun, taken)) return port;
    }
    throw invalid(SERVICE_KIND, owner.name, [
      { field: `spec.ports[${i}].nodePort`, reason: 'FieldValueInvalid', message: `Invalid value: 0: failed to allocate a nodePort: range ${this.ports.min}-${this.ports.max} is full` },
    ]);
  }

  /**
   * Take one key. False when someone else holds it. A key already held by
   * this same Service (a retried write) counts as taken by it. In dry-run
   * nothing is written: the key only has to be free now.
   */
  private async claim(key: string, owner: Owner, dryRun: boolean, taken: string[]): Promise<boolean> {
    if (dryRun) {
      const kv = await this.store.get(key);
      return !kv || (JSON.parse(kv.value) as Record).uid === owner.uid;
    }
    const rec: Record = { ...owner, allocatedAt: new Date().toISOString() };
    try {
      await this.store.create(key, JSON.stringify(rec));
      taken.push(key);
      return true;
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
      const kv = await this.store.get(key);
      return kv !== null && (JSON.parse(kv.value) as Record).uid === owner.uid;
    }
  }

  /** Free a key if `uid` still holds it. Never throws: a key left behind is freed by repair. */
  private async free(key: string, uid: string): Promise<void> {
    try {
      const kv = await this.store.get(key);
      if (!kv || (JSON.parse(kv.value) as Record).uid !== uid) return;
      await this.store.delete(key, kv.revision);
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof RevisionConflictError) return;
      this.log.warn('could not release a service allocation; repair will', { key, error: (e as Error).message });
    }
  }

  /** What is taken under a prefix, as the key's tail (an IP, or port/protocol). */
  private async listTaken(prefix: string): Promise<Set<string>> {
    const page = await this.store.list(prefix);
    return new Set(page.items.map((kv) => kv.key.slice(prefix.length)));
  }

  // ---- repair --------------------------------------------------------------

  /**
   * Make the allocation keys agree with the stored Services: create the keys
   * a Service holds but lacks, free the keys no Service holds (once older
   * than the grace period). Returns what it changed, for logs and tests.
   */
  async repair(now = Date.now()): Promise<{ created: number; freed: number }> {
    const services = await this.store.list('/registry/core/services/');
    // Who holds each key according to the Services; the first Service wins a (legacy) duplicate.
    const holders = new Map<string, Owner>();
    for (const kv of services.items) {
      const svc = JSON.parse(kv.value) as Service;
      const owner = ownerOf(svc);
      const keys: string[] = [];
      const ip = heldIP(svc.spec);
      if (ip && this.range.offsetOf(ip) === undefined)
        this.log.warn('service cluster IP is outside the service CIDR', { service: `${owner.namespace}/${owner.name}`, ip, cidr: this.range.cidr });
      else if (ip) keys.push(IP_PREFIX + ip);
      for (const k of heldPorts(svc.spec)) keys.push(PORT_PREFIX + k);
      for (const key of keys) {
        const other = holders.get(key);
        if (other) this.log.warn('two services hold the same allocation', { key, services: [`${other.namespace}/${other.name}`, `${owner.namespace}/${owner.name}`] });
        else holders.set(key, owner);
      }
    }
    let created = 0;
    let freed = 0;
    const record = (owner: Owner): string => JSON.stringify({ ...owner, allocatedAt: new Date(now).toISOString() } satisfies Record);
    const stale = (rec: Record): boolean => now - Date.parse(rec.allocatedAt) >= REPAIR_GRACE_MS;
    for (const [key, owner] of holders) {
      const cur = await this.store.get(key);
      try {
        if (!cur) {
          await this.store.create(key, record(owner));
          created++;
        } else if ((JSON.parse(cur.value) as Record).uid !== owner.uid && stale(JSON.parse(cur.value) as Record)) {
          // The key names a Service that is gone (or let go of it) while a stored Service holds it: hand it over.
          await this.store.update(key, record(owner), cur.revision);
          created++;
        }
      } catch (e) {
        // Someone wrote the key meanwhile: the next pass looks again.
        if (!(e instanceof KeyExistsError || e instanceof RevisionConflictError || e instanceof NotFoundError)) throw e;
      }
    }
    for (const prefix of [IP_PREFIX, PORT_PREFIX]) {
      const page = await this.store.list(prefix);
      for (const kv of page.items) {
        const rec = JSON.parse(kv.value) as Record;
        if (holders.get(kv.key)?.uid === rec.uid || !stale(rec)) continue;
        try {
          await this.store.delete(kv.key, kv.revision);
          freed++;
          this.log.info('freed a service allocation no service holds', { key: kv.key, service: `${rec.namespace}/${rec.name}` });
        } catch (e) {
          if (!(e instanceof NotFoundError || e instanceof RevisionConflictError)) throw e;
        }
      }
    }
    return { created, freed };
  }

  /** Repair now and then every interval until the signal aborts; failures are logged and retried next time. */
  runRepairLoop(signal: AbortSignal, intervalMs = 3 * 60_000): void {
    const run = (): void => {
      this.repair().then(
        (r) => (r.created || r.freed) && this.log.info('service allocations repaired', r),
        (e: unknown) => this.log.warn('service allocation repair failed', { error: (e as Error).message }),
      );
    };
    const timer = setInterval(run, intervalMs);
    timer.unref();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}
