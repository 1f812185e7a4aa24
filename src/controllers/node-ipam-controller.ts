// Node IPAM: every Node gets a /24 of the cluster CIDR as its podCIDR
// (spec.podCIDR and spec.podCIDRs), as Kubernetes' node IPAM controller
// (range allocator) does. The node's agent builds its bridge and its local
// address allocator on it. The assignment lives in the Node itself: the used
// ranges are those of all Nodes, so nothing else has to survive a restart.
// A podCIDR, once set, is never changed (the node's workloads hold addresses in it).
import type { KubeObject } from '../apis/types.js';
import { formatCidr, overlaps, parseCidr, type Cidr } from '../agent/network/cidr.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';

const MANAGER = 'node-ipam-controller';
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
/** Kubernetes' --node-cidr-mask-size default for IPv4. */
export const NODE_CIDR_MASK_SIZE = 24;

export interface NodeIpamOptions {
  clusterCIDR?: string;
}

/** Check a cluster CIDR early (at `lodge up`), so a typo stops the start rather than every node waiting forever. */
export function checkClusterCidr(text: string): Cidr {
  let c: Cidr;
  try {
    c = parseCidr(text);
  } catch (e) {
    throw new Error(`--cluster-cidr: ${(e as Error).message}`);
  }
  if (c.family !== 4) throw new Error(`--cluster-cidr ${text}: only IPv4 is supported for now`);
  if (c.prefixLength > NODE_CIDR_MASK_SIZE) throw new Error(`--cluster-cidr ${text}: must be at least a /${NODE_CIDR_MASK_SIZE} (each node takes one)`);
  return c;
}

/** The first /24 of `cluster` that overlaps none of `used`, or undefined when all are taken. */
export function nextNodeCidr(cluster: Cidr, used: Cidr[]): Cidr | undefined {
  const count = 1n << BigInt(NODE_CIDR_MASK_SIZE - cluster.prefixLength);
  const step = 1n << BigInt(32 - NODE_CIDR_MASK_SIZE);
  // Ranges this controller handed out are /24s: a set lookup each. Anything else (set by hand) is checked for overlap.
  const taken = new Set<bigint>();
  const other: Cidr[] = [];
  for (const u of used) {
    if (u.family === 4 && u.prefixLength === NODE_CIDR_MASK_SIZE) taken.add(u.network);
    else other.push(u);
  }
  for (let i = 0n; i < count; i++) {
    const network = cluster.network + i * step;
    if (taken.has(network)) continue;
    const c: Cidr = { family: 4, network, prefixLength: NODE_CIDR_MASK_SIZE };
    if (!other.some((u) => overlaps(u, c))) return c;
  }
  return undefined;
}

/** Parsed podCIDRs by node object (a node's ranges are read again for every other node's assignment). */
const parsed = new WeakMap<KubeObject, Cidr[]>();

function podCidrsOf(node: KubeObject): Cidr[] {
  let out = parsed.get(node);
  if (!out) parsed.set(node, (out = parsePodCidrs(node)));
  return out;
}

function parsePodCidrs(node: KubeObject): Cidr[] {
  const spec = node.spec as { podCIDR?: string; podCIDRs?: string[] } | undefined;
  const out: Cidr[] = [];
  for (const t of [spec?.podCIDR, ...(spec?.podCIDRs ?? [])]) {
    if (!t) continue;
    try {
      out.push(parseCidr(t));
    } catch {
      // Set by hand to something unparsable: it cannot collide with a range we hand out.
    }
  }
  return out;
}

export async function runNodeIpamController(ctx: ControllerContext, o: NodeIpamOptions = {}): Promise<void> {
  const nodeType = ctx.registry.resource('', 'v1', 'nodes');
  if (!nodeType) return;
  const cluster = checkClusterCidr(o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR);
  const log = ctx.log.child({ controller: 'node-ipam' });
  const nodes = ctx.informers.for(nodeType);
  const queue = new WorkQueue();
  nodes.addHandlers({ onAdd: (n) => queue.add(String(n.metadata.name)), onUpdate: (_o, n) => queue.add(String(n.metadata.name)) });
  ctx.signal.addEventListener('abort', () => queue.stop());
  await nodes.hasSynced;
  /**
   * Ranges this controller wrote but the informer may not show yet: without
   * them a second Node synced right after the first could be given the same
   * range from a stale cache. Dropped once the cache has caught up.
   */
  const inFlight = new Map<string, Cidr>();

  const sync = async (name: string): Promise<void> => {
    const node = nodes.cache.get(name);
    if (!node || node.metadata.deletionTimestamp) {
      inFlight.delete(name);
      return;
    }
    if (podCidrsOf(node).length) {
      inFlight.delete(name);
      return;
    }
    const used: Cidr[] = [...inFlight.values()];
    for (const n of nodes.list()) if (n.metadata.name !== name) used.push(...podCidrsOf(n));
    const next = nextNodeCidr(cluster, used);
    if (!next) {
      // Kubernetes reports CIDRNotAvailable as an event; a log line and a retry (a Node may be deleted meanwhile) here.
      throw new Error(`no free /${NODE_CIDR_MASK_SIZE} left in cluster CIDR ${formatCidr(cluster)} for node ${name}`);
    }
    const text = formatCidr(next);
    // A compare-and-swap on the version seen (resourceVersion is in the body): a concurrent writer makes this a 409 and the retry looks again.
    const body: KubeObject = { ...node, spec: { ...node.spec, podCIDR: text, podCIDRs: [text] } };
    inFlight.set(name, next);
    try {
      await ctx.svc.update(nodeType, undefined, name, body, controllerWrite(MANAGER));
    } catch (e) {
      inFlight.delete(name);
      const code = (e as { code?: number }).code;
      if (code === 404) return;
      throw new Error(`node ${name}: cannot set podCIDR ${text}: ${(e as Error).message}`);
    }
    log.info('node podCIDR assigned', { node: name, podCIDR: text });
  };
  await queue.run(sync, (key, err) => log.warn('node ipam sync failed', { node: key, error: (err as Error).message }));
}
