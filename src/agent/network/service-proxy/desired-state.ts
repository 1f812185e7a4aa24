// What the table should hold for the Services, EndpointSlices and Instance
// forwards the agent sees: one chain per Service port with ready endpoints
// (DNAT to one chosen at random), per-endpoint chains only for ClientIP
// affinity (the one a client is stuck to), one chain per Instance forward,
// and the map elements that lead to them. From objects to a Ruleset, without
// nft, so it is tested without it; the objects are taken as immutable (each
// Service's part is remembered by identity: servicePlan).
import { isIPv4 } from 'node:net';
import type { KubeObject } from '../../../apis/types.js';
import { baseChains } from './base-ruleset.js';
import {
  affinitySet,
  CHAIN_MARK_MASQ,
  endpointChain,
  forwardChain,
  MAP_IPS,
  MAP_LOCAL_PORTS,
  servicePortId,
  serviceChain,
  SET_NOEP_IPS,
  SET_NOEP_LOCAL_PORTS,
  type L4,
} from './names.js';
import type { ChainSpec, Ruleset } from './ruleset.js';

/** Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds (3 h). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;

export interface DesiredInput {
  services: Iterable<KubeObject>;
  endpointSlices: Iterable<KubeObject>;
  /** Instances on this node (their spec.forwards and status.ip). */
  instances: Iterable<KubeObject>;
  /** The node's bridge: traffic an Instance forward sends back into it is masqueraded. */
  bridge: string;
}

export interface DesiredResult {
  ruleset: Ruleset;
  /** Keys asked for twice (a forward on a taken NodePort, two forwards of one host port): the later one is left out. */
  conflicts: string[];
}

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}
interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  ports?: ServicePort[];
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
}
interface Slice {
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean | null } }>;
}
interface Forward {
  hostIP?: string;
  hostPort?: number;
  port?: number;
  protocol?: string;
}

const L4S: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp']);
function l4(protocol: string | undefined): L4 | undefined {
  const p = (protocol ?? 'TCP').toLowerCase();
  return L4S.has(p) ? (p as L4) : undefined;
}

export function desiredRuleset(input: DesiredInput): DesiredResult {
  const chains = baseChains();
  const ips = new Map<string, string>();
  const localPorts = new Map<string, string>();
  const noepIps = new Set<string>();
  const noepLocal = new Set<string>();
  const affinity = new Map<string, number>();
  const conflicts: string[] = [];
  const claimed = new Set<string>();
  /** Each key once: the first claim wins (Services before forwards, then by name). */
  const claim = (key: string, what: string): boolean => {
    if (claimed.has(key)) {
      conflicts.push(`${key} (${what})`);
      return false;
    }
    claimed.add(key);
    return true;
  };

  const slicesByService = new Map<string, Slice[]>();
  for (const s of input.endpointSlices) {
    const svc = s.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), s as unknown as Slice]);
  }

  for (const svc of sortByKey(input.services)) {
    const slices = slicesByService.get(`${svc.metadata.namespace}/${svc.metadata.name}`) ?? [];
    let plan = remembered.get(svc);
    if (!plan || !sameItems(plan.slices, slices)) remembered.set(svc, (plan = servicePlan(svc, slices)));
    for (const p of plan.ports) {
      // Claimed here, every sync, in order: which of two Services gets a key depends on the others, not only on this one.
      const keys = p.vipKeys.filter((k) => claim(k, `service ${p.portId}`));
      const local = p.localKey && claim(p.localKey, `service ${p.portId} nodePort`) ? p.localKey : undefined;
      if (!p.svcChain) {
        keys.forEach((k) => noepIps.add(k));
        if (local) noepLocal.add(local);
        continue;
      }
      for (const [n, c] of p.chains) chains.set(n, c);
      for (const [set, timeout] of p.affinity) affinity.set(set, timeout);
      for (const k of keys) ips.set(k, `goto ${p.svcChain}`);
      if (local) localPorts.set(local, `goto ${p.svcChain}`);
    }
  }

  const br = JSON.stringify(input.bridge);
  for (const inst of sortByKey(input.instances)) {
    const ns = String(inst.metadata.namespace);
    const name = String(inst.metadata.name);
    const ip = (inst.status as { ip?: string } | undefined)?.ip;
    const running = !inst.metadata.deletionTimestamp && !!ip && isIPv4(ip);
    for (const f of ((inst.spec as { forwards?: Forward[] } | undefined)?.forwards ?? [])) {
      const proto = l4(f.protocol);
      if (!proto || !f.hostPort || !f.port) continue;
      const key = f.hostIP ? `${f.hostIP} . ${proto} . ${f.hostPort}` : `${proto} . ${f.hostPort}`;
      if (f.hostIP && !isIPv4(f.hostIP)) continue;
      if (!claim(key, `instance ${ns}/${name} forward`)) continue;
      if (!running) {
        (f.hostIP ? noepIps : noepLocal).add(key);
        continue;
      }
      const chain = forwardChain(ns, name, proto, f.hostIP, f.hostPort);
      chains.set(chain, {
        rules: [
          // Masqueraded only when the reply would otherwise miss the host: from the host itself (127.0.0.1 included) or from the bridge.
          // Clients from elsewhere keep their address, as with Incus forwards.
          `fib saddr type local jump ${CHAIN_MARK_MASQ}`,
          `iifname ${br} jump ${CHAIN_MARK_MASQ}`,
          `meta l4proto ${proto} dnat ip to ${ip}:${f.port}`,
        ],
        final: true,
      });
      (f.hostIP ? ips : localPorts).set(key, `goto ${chain}`);
    }
  }

  return {
    ruleset: {
      chains,
      maps: new Map([
        [MAP_IPS, ips],
        [MAP_LOCAL_PORTS, localPorts],
      ]),
      sets: new Map([
        [SET_NOEP_IPS, noepIps],
        [SET_NOEP_LOCAL_PORTS, noepLocal],
      ]),
      affinity,
    },
    conflicts,
  };
}

/** One Service port's part of the ruleset, before claims: what it asks for. */
interface PortPlan {
  portId: string;
  vipKeys: string[];
  localKey?: string;
  /** Undefined when no endpoint is ready (its keys go to the no-endpoint sets). */
  svcChain?: string;
  chains: Array<[string, ChainSpec]>;
  affinity: Array<[string, number]>;
}
interface ServicePlan {
  /** The EndpointSlices it was made from (by identity). */
  slices: Slice[];
  ports: PortPlan[];
}

/**
 * Each Service's plan, remembered by object identity while its EndpointSlices
 * are the same objects: the informer cache replaces an object on every change
 * and never alters one, so a sync after one endpoint change recomputes one
 * Service, not 1,000s (most of the time a sync spends outside nft).
 */
const remembered = new WeakMap<KubeObject, ServicePlan>();

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function servicePlan(svc: KubeObject, slices: Slice[]): ServicePlan {
  const out: ServicePlan = { slices, ports: [] };
  const spec = (svc.spec ?? {}) as ServiceSpec;
  if (spec.type === 'ExternalName') return out;
  // Headless: DNS gives the endpoints' own addresses; there is no VIP to program.
  const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? '']).filter((ip) => isIPv4(ip));
  const vips = [...clusterIPs, ...(spec.externalIPs ?? []).filter((ip) => isIPv4(ip))];
  if (!clusterIPs.length) return out;
  const ns = String(svc.metadata.namespace);
  const name = String(svc.metadata.name);
  const nodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const timeout = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT) : undefined;
  for (const port of spec.ports ?? []) {
    const proto = l4(port.protocol);
    if (!proto || !port.port) continue;
    const portId = servicePortId(ns, name, proto, port.name || port.port);
    const endpoints = readyEndpoints(slices, port.name ?? '', proto);
    const p: PortPlan = {
      portId,
      vipKeys: vips.map((ip) => `${ip} . ${proto} . ${port.port}`),
      localKey: nodePorts && port.nodePort ? `${proto} . ${port.nodePort}` : undefined,
      chains: [],
      affinity: [],
    };
    out.ports.push(p);
    if (!endpoints.length) continue;
    p.svcChain = serviceChain(portId);
    // Always masqueraded: without br_netfilter a reply from a backend on the bridge would bypass the host's conntrack and never be un-DNATed.
    const rules = [`jump ${CHAIN_MARK_MASQ}`];
    if (timeout === undefined) {
      // The DNAT picks its target from an anonymous map keyed by a random index, in the Service port's own chain: one
      // chain and two rules per Service port, whatever its number of endpoints. An endpoint change rewrites that one
      // chain; no per-endpoint chain is made or deleted, and the table (the nft run's work, the plan's) stays 10× smaller.
      const targets = endpoints.map((ep) => `${ep.ip} . ${ep.port}`);
      rules.push(
        targets.length === 1
          ? `meta l4proto ${proto} dnat ip to ${endpoints[0]!.ip}:${endpoints[0]!.port}`
          : `meta l4proto ${proto} dnat ip to numgen random mod ${targets.length} map { ${targets.map((t, i) => `${i} : ${t}`).join(', ')} }`,
      );
    } else {
      // ClientIP affinity needs a place to remember the client per endpoint: a chain and a timeout set each.
      const picks: string[] = [];
      endpoints.forEach((ep, i) => {
        const epChain = endpointChain(portId, ep.ip, ep.port);
        const set = affinitySet(portId, ep.ip, ep.port, timeout);
        p.affinity.push([set, timeout]);
        rules.push(`ip saddr @${set} goto ${epChain}`);
        p.chains.push([epChain, { rules: [`update @${set} { ip saddr }`, `meta l4proto ${proto} dnat ip to ${ep.ip}:${ep.port}`], final: true }]);
        picks.push(`${i} : goto ${epChain}`);
      });
      rules.push(endpoints.length === 1 ? picks[0]!.replace(/^0 : /, '') : `numgen random mod ${endpoints.length} vmap { ${picks.join(', ')} }`);
    }
    p.chains.push([p.svcChain, { rules, final: true }]);
  }
  return out;
}

/** Ready endpoints of one Service port, deduplicated by address and port. An unset ready counts as ready (EndpointSlice API). */
function readyEndpoints(slices: Slice[], portName: string, proto: L4): Array<{ ip: string; port: number }> {
  const out = new Map<string, { ip: string; port: number }>();
  for (const s of slices) {
    if (s.addressType && s.addressType !== 'IPv4') continue;
    const p = (s.ports ?? []).find((x) => (x.name ?? '') === portName && l4(x.protocol) === proto);
    if (!p?.port) continue;
    for (const ep of s.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const ip = ep.addresses?.[0];
      if (!ip || !isIPv4(ip)) continue;
      out.set(`${ip}:${p.port}`, { ip, port: p.port });
    }
  }
  return [...out.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/** Oldest first, then by name: which of two claims to one port wins does not depend on list order. */
function sortByKey(objs: Iterable<KubeObject>): KubeObject[] {
  return [...objs].sort((a, b) => {
    const ta = String(a.metadata.creationTimestamp ?? '');
    const tb = String(b.metadata.creationTimestamp ?? '');
    if (ta !== tb) return ta < tb ? -1 : 1;
    const ka = `${a.metadata.namespace}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
