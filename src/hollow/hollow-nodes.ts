// Hollow nodes (Kubernetes' kubemark idea): many Nodes registered and kept
// alive by one process, with nothing behind them. Each is registered as a
// kubelet would (Node, status, Lease) and its Lease renewed every quarter of
// its duration, the renewals of all nodes spread over that period with
// jitter and at most `maxInFlight` requests at once, so 1,000 nodes cost a
// steady trickle rather than bursts. One watch of the hollow Nodes repairs
// what others change: a node marked NotReady/Unknown while we are alive
// (a late renewal) posts Ready again, a deleted one registers again — the
// kubelet's behaviour. The node status itself is re-posted every 5 minutes,
// the kubelet's nodeStatusReportFrequency.
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/client.js';
import { ApiError, hasStatus } from '../client/errors.js';
import { ClientInformer } from '../client/informer.js';
import { LEASES, NODES } from '../client/refs.js';
import { WorkQueue } from '../controllers/runtime/workqueue.js';
import { LEASE_NAMESPACE } from '../agent/node-registration.js';
import type { Logger } from '../util/log.js';
import { fakeBlockSize, fakeNodeBlock, fakeNodeIP } from './fake-addresses.js';
import { Limiter } from './limiter.js';
import { HOLLOW_LABEL, HOLLOW_MANAGER, hollowLease, hollowNode, hollowNodeStatus, type HollowNodeSpec } from './node-objects.js';

/** The kubelet's nodeStatusReportFrequency: the status is re-posted this often even when nothing changed. */
const STATUS_REPORT_MS = 5 * 60_000;
/** Tries per node at registration. */
const REGISTER_ATTEMPTS = 3;
/** Each renewal lands within ±this fraction of the period (the kubelet jitters its lease renewals too). */
const JITTER = 0.05;

export interface HollowNodesOptions {
  client: KubeClient;
  log: Logger;
  /** Node names are PREFIX-0000, PREFIX-0001, … */
  prefix: string;
  count: number;
  cpu: string;
  memory: string;
  pods: string;
  leaseDurationSeconds: number;
  /** Requests in flight at most, for registration and renewals together (default 32). */
  maxInFlight?: number;
}

interface NodeState {
  spec: HollowNodeSpec;
  index: number;
  uid?: string;
  renewing: boolean;
  lastStatusMs: number;
}

export function hollowNodeName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(4, '0')}`;
}

export class HollowNodes {
  /** Every hollow Node of the cluster (ours are the ones in `names`); podCIDRs are read from here. */
  readonly informer: ClientInformer;
  readonly names: ReadonlySet<string>;
  private readonly nodes = new Map<string, NodeState>();
  private readonly limiter: Limiter;
  /** Addresses in each node's fake block (room for its Pod capacity). */
  private readonly blockSize: number;
  private readonly repairs = new WorkQueue();
  private stopping = false;

  constructor(private readonly o: HollowNodesOptions) {
    this.limiter = new Limiter(o.maxInFlight ?? 32);
    this.blockSize = fakeBlockSize(Number(o.pods));
    for (let i = 0; i < o.count; i++) {
      const name = hollowNodeName(o.prefix, i);
      this.nodes.set(name, {
        index: i,
        spec: { name, internalIP: fakeNodeIP(o.prefix, i, this.blockSize), cpu: o.cpu, memory: o.memory, pods: o.pods, leaseDurationSeconds: o.leaseDurationSeconds },
        renewing: false,
        lastStatusMs: 0,
      });
    }
    this.names = new Set(this.nodes.keys());
    this.informer = new ClientInformer(o.client, NODES, { labelSelector: `${HOLLOW_LABEL}=true` }, o.log);
    const check = (n: KubeObject): void => {
      if (this.names.has(String(n.metadata.name)) && !isReady(n)) this.repairs.add(String(n.metadata.name));
    };
    this.informer.addHandlers({
      onAdd: check,
      onUpdate: (_old, n) => check(n),
      onDelete: (n) => this.names.has(String(n.metadata.name)) && this.repairs.add(String(n.metadata.name)),
    });
  }

  /** The node's spec.podCIDR, once the node IPAM controller gave it one. */
  podCIDR(name: string): string | undefined {
    return (this.informer.cache.get(name)?.spec?.podCIDR as string | undefined) || undefined;
  }

  /** The node's fake address block (its Pods' addresses when it has no podCIDR). */
  fakeBlock(name: string): { base: number; size: number } {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`${name} is not a hollow node of this process`);
    return { base: fakeNodeBlock(this.o.prefix, n.index, this.blockSize), size: this.blockSize };
  }

  nodeIP(name: string): string {
    return this.nodes.get(name)?.spec.internalIP ?? '';
  }

  /** Register every node (Node, status, Lease), maxInFlight at a time; a busy server's failures are retried a few times. */
  async register(): Promise<void> {
    await this.limiter.all(this.nodes.values(), async (n) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.registerOne(n);
        } catch (e) {
          // A refusal (4xx: bad token, invalid object) will not change; a timeout, 429 or 5xx may.
          if (attempt >= REGISTER_ATTEMPTS || (e instanceof ApiError && e.code < 500 && e.code !== 429)) throw new Error(`node ${n.spec.name}: cannot register: ${(e as Error).message}`, { cause: e });
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    });
  }

  private async registerOne(n: NodeState): Promise<void> {
    let node: KubeObject;
    try {
      node = await this.o.client.create<KubeObject>(NODES, hollowNode(n.spec), { fieldManager: HOLLOW_MANAGER });
    } catch (e) {
      if (!hasStatus(e, 409)) throw e;
      node = await this.adopt(n);
    }
    n.uid = node.metadata.uid;
    await this.postStatus(n, node);
    await this.renewLease(n);
  }

  /** A Node of that name exists (an earlier run): make its labels and annotations ours, keep the rest. */
  private async adopt(n: NodeState): Promise<KubeObject> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.o.client.get<KubeObject>(NODES, n.spec.name);
      const want = hollowNode(n.spec).metadata;
      const differs = (have: Record<string, string> | undefined, need: Record<string, string> | undefined): boolean => Object.entries(need ?? {}).some(([k, v]) => have?.[k] !== v);
      const stale = differs(current.metadata.labels, want.labels) || differs(current.metadata.annotations, want.annotations);
      if (!stale) return current;
      const next: KubeObject = { ...current, metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...want.labels }, annotations: { ...current.metadata.annotations, ...want.annotations } } };
      try {
        return await this.o.client.update<KubeObject>(NODES, next, { fieldManager: HOLLOW_MANAGER });
      } catch (e) {
        if (!hasStatus(e, 409) || attempt >= 5) throw e;
      }
    }
  }

  private async postStatus(n: NodeState, current: KubeObject): Promise<void> {
    const body: KubeObject = { ...current, metadata: { ...current.metadata }, status: hollowNodeStatus(n.spec, current) };
    // Unconditional (no resourceVersion): the status is ours alone, and the node IPAM controller may have just set spec.podCIDR.
    delete body.metadata.resourceVersion;
    await this.o.client.update(NODES, body, { fieldManager: HOLLOW_MANAGER, subresource: 'status' });
    n.lastStatusMs = Date.now();
  }

  private async renewLease(n: NodeState): Promise<void> {
    // PUT creates a missing Lease, as for the kubelet.
    await this.o.client.update(LEASES, hollowLease(n.spec.name, n.uid, this.o.leaseDurationSeconds), { fieldManager: HOLLOW_MANAGER });
  }

  /** One renewal (and, every STATUS_REPORT_MS, a status report); skipped when the previous one of this node is still queued. */
  private async heartbeat(n: NodeState): Promise<void> {
    if (n.renewing || this.stopping) return;
    n.renewing = true;
    try {
      await this.limiter.run(async () => {
        if (this.stopping) return;
        await this.renewLease(n);
        const current = this.informer.cache.get(n.spec.name);
        if (current && Date.now() - n.lastStatusMs >= STATUS_REPORT_MS) await this.postStatus(n, current);
      });
    } catch (e) {
      this.o.log.warn('hollow node heartbeat failed', { node: n.spec.name, error: (e as Error).message });
    } finally {
      n.renewing = false;
    }
  }

  /** A node not Ready while we are alive posts Ready again; a deleted one registers again. */
  private async repair(name: string): Promise<void> {
    const n = this.nodes.get(name);
    if (!n || this.stopping) return;
    const current = this.informer.cache.get(name);
    if (!current) {
      this.o.log.warn('hollow node was deleted; registering it again', { node: name });
      await this.limiter.run(() => this.registerOne(n));
    } else if (!isReady(current)) {
      await this.limiter.run(async () => {
        await this.renewLease(n);
        await this.postStatus(n, current);
      });
    }
  }

  /** Renew every Lease every quarter of its duration until the signal; resolves once stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const periodMs = (this.o.leaseDurationSeconds * 1000) / 4;
    const timers = new Set<NodeJS.Timeout>();
    const schedule = (n: NodeState, delayMs: number): void => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (signal.aborted) return;
        void this.heartbeat(n);
        schedule(n, periodMs * (1 + JITTER * (2 * Math.random() - 1)));
      }, delayMs);
      timers.add(t);
    };
    // Spread the first renewals over one period, so the nodes never renew in lockstep.
    for (const n of this.nodes.values()) schedule(n, Math.random() * periodMs);
    const stop = (): void => {
      this.stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      this.repairs.stop();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    await Promise.all([
      this.informer.run(signal),
      this.repairs.run((name) => this.repair(name), (name, e) => this.o.log.warn('hollow node repair failed', { node: name, error: (e as Error).message }), 4),
    ]);
  }

  /** Delete our Nodes and their Leases (for --hollow-cleanup). */
  async deleteAll(): Promise<void> {
    await this.limiter.all(this.nodes.keys(), async (name) => {
      for (const [ref, opts] of [[NODES, {}], [LEASES, { namespace: LEASE_NAMESPACE }]] as const) {
        try {
          await this.o.client.delete(ref, name, opts);
        } catch (e) {
          if (!hasStatus(e, 404)) throw new Error(`cannot delete ${ref.kind} ${name}: ${(e as Error).message}`);
        }
      }
    });
  }
}

function isReady(n: KubeObject): boolean {
  return ((n.status?.conditions as Array<{ type: string; status: string }> | undefined) ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
