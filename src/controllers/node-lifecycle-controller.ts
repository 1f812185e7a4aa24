// Node lifecycle: a node whose agent stopped renewing its Lease for longer
// than the grace period is no longer known to be ready. Its conditions turn
// Unknown (the agent would have said True or False; nobody knows now) and it
// gets the node.kubernetes.io/unreachable taints, as Kubernetes' node
// lifecycle controller does (node.kubernetes.io/not-ready instead when the
// agent itself reports Ready=False); the scheduler and taint eviction act on
// those. When the agent is back, its heartbeat sets the conditions again and
// this controller removes the taints. The Lease is the only clock read:
// renewTime versus now, so a missed event costs at most one monitor period.
import type { KubeObject } from '../apis/types.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';
import { markPodsNotReady } from './mark-pods-not-ready.js';
import { PodsByNode } from './pods-by-node.js';
import { serviceEventRecorder } from '../events/index.js';
import { rfc3339 } from '../api/resources/clock.js';
import { NOT_READY_TAINT, UNREACHABLE_TAINT } from '../apis/core/v1/pod-defaults.js';

const MANAGER = 'node-lifecycle-controller';
const LEASE_NAMESPACE = 'kube-node-lease';
export { NOT_READY_TAINT, UNREACHABLE_TAINT };
/** The taints that say why a node is not ready: at most one of them at a time. */
const READINESS_TAINTS = [NOT_READY_TAINT, UNREACHABLE_TAINT];
/** Kubernetes' --node-monitor-grace-period default. */
export const DEFAULT_GRACE_MS = 40_000;
/** Kubernetes' --node-monitor-period default. */
const MONITOR_PERIOD_MS = 5_000;
const STATUS_UNKNOWN_MESSAGE = 'Node agent stopped posting node status.';

export interface NodeLifecycleOptions {
  /** How long a Lease may go unrenewed before the node is Unknown. */
  graceMs?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}
interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}


/** When the node was last heard of: its Lease's renewTime (or, without a Lease, its Ready heartbeat). */
function lastHeard(node: KubeObject, lease: KubeObject | undefined): number | undefined {
  const renew = lease?.spec?.renewTime as string | undefined;
  if (renew) return Date.parse(renew);
  const ready = ((node.status?.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Ready');
  return ready?.lastHeartbeatTime ? Date.parse(ready.lastHeartbeatTime) : undefined;
}

export async function runNodeLifecycleController(ctx: ControllerContext, o: NodeLifecycleOptions = {}): Promise<void> {
  const nodeType = ctx.registry.resource('', 'v1', 'nodes');
  const leaseType = ctx.registry.resource('coordination.k8s.io', 'v1', 'leases');
  if (!nodeType || !leaseType) return;
  const graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
  const log = ctx.log.child({ controller: 'node-lifecycle' });
  // Kubernetes' node lifecycle controller reports as "node-controller".
  const recorder = serviceEventRecorder(ctx.svc, { component: 'node-controller', log, signal: ctx.signal });
  const notReady = (node: KubeObject): void => recorder.event(node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
  const nodes = ctx.informers.for(nodeType);
  const leases = ctx.informers.for(leaseType);
  const podsByNode = PodsByNode.for(ctx.informers.for(ctx.registry.resource('', 'v1', 'pods')!));
  const markNotReady = async (name: string): Promise<void> => {
    const n = await markPodsNotReady(ctx, podsByNode, name, MANAGER);
    if (n) log.info('pods marked not ready', { node: name, pods: n });
  };
  const queue = new WorkQueue();
  nodes.addHandlers({ onAdd: (n) => queue.add(String(n.metadata.name)), onUpdate: (_o, n) => queue.add(String(n.metadata.name)) });
  leases.addHandlers({
    onAdd: (l) => l.metadata.namespace === LEASE_NAMESPACE && queue.add(String(l.metadata.name)),
    onUpdate: (_o, l) => l.metadata.namespace === LEASE_NAMESPACE && queue.add(String(l.metadata.name)),
  });
  const period = setInterval(() => {
    for (const n of nodes.list()) queue.add(String(n.metadata.name));
  }, Math.min(MONITOR_PERIOD_MS, graceMs / 2));
  period.unref();
  ctx.signal.addEventListener('abort', () => {
    clearInterval(period);
    queue.stop();
  });
  await Promise.all([nodes.hasSynced, leases.hasSynced]);

  const sync = async (name: string): Promise<void> => {
    const node = nodes.cache.get(name);
    if (!node || node.metadata.deletionTimestamp) return;
    const heard = lastHeard(node, leases.cache.get(`${LEASE_NAMESPACE}/${name}`));
    // A node never heard of gets its grace period from when it was created.
    const since = heard ?? Date.parse(String(node.metadata.creationTimestamp));
    const silent = Date.now() - since > graceMs;
    const conditions = (node.status?.conditions as Condition[] | undefined) ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    const taints = (node.spec?.taints as Taint[] | undefined) ?? [];
    const tainted = taints.some((t) => READINESS_TAINTS.includes(String(t.key)));

    if (silent) {
      if (!conditions.length || conditions.some((c) => c.status !== 'Unknown')) {
        const now = rfc3339();
        const types = conditions.length ? conditions.map((c) => c.type) : ['Ready'];
        const next = types.map((type) => {
          const was = conditions.find((c) => c.type === type);
          return {
            type,
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: STATUS_UNKNOWN_MESSAGE,
            ...(was?.lastHeartbeatTime ? { lastHeartbeatTime: was.lastHeartbeatTime } : {}),
            lastTransitionTime: was?.status === 'Unknown' && was.lastTransitionTime ? was.lastTransitionTime : now,
          };
        });
        await writeStatus(ctx, nodeType, node, next);
        if (ready?.status !== 'Unknown') notReady(node);
        log.warn('node stopped posting status', { node: name, lastHeard: heard ? new Date(heard).toISOString() : undefined });
      }
      if (readinessTaints(taints, UNREACHABLE_TAINT)) await writeTaints(ctx, nodeType, name, (t) => readinessTaints(t, UNREACHABLE_TAINT) ?? t);
      await markNotReady(name);
      return;
    }
    // The agent's own word: Ready=False is not-ready; Unknown (left by this
    // controller, the agent back but not yet reporting) keeps what is there.
    if (ready?.status === 'False' && readinessTaints(taints, NOT_READY_TAINT)) {
      await writeTaints(ctx, nodeType, name, (t) => readinessTaints(t, NOT_READY_TAINT) ?? t);
      log.warn('node reports not ready', { node: name, reason: ready.reason });
      notReady(node);
    }
    if (ready?.status === 'False') await markNotReady(name);
    if (tainted && ready?.status === 'True') {
      await writeTaints(ctx, nodeType, name, (t) => readinessTaints(t, undefined) ?? t);
      log.info('node is back', { node: name });
    }
  };
  await queue.run(sync, (key, err) => log.warn('node lifecycle sync failed', { node: key, error: (err as Error).message }));
  await recorder.flush();
}

type NodeType = NonNullable<ReturnType<ControllerContext['registry']['resource']>>;

async function writeStatus(ctx: ControllerContext, nodeType: NodeType, node: KubeObject, conditions: Condition[]): Promise<void> {
  // A compare-and-swap on the version seen: if the agent wrote meanwhile, its news wins and the next sync decides again.
  const body: KubeObject = { ...node, status: { ...node.status, conditions } };
  await ctx.svc.update(nodeType, undefined, String(node.metadata.name), body, controllerWrite(MANAGER), 'status').catch(ignoreConflict);
}

async function writeTaints(ctx: ControllerContext, nodeType: NodeType, name: string, change: (t: Taint[]) => Taint[]): Promise<void> {
  const current = await ctx.svc.tryGet(nodeType, undefined, name);
  if (!current) return;
  const taints = change((current.obj.spec?.taints as Taint[] | undefined) ?? []);
  const spec: Record<string, unknown> = { ...current.obj.spec, taints };
  if (!taints.length) delete spec.taints;
  await ctx.svc.update(nodeType, undefined, name, { ...current.obj, spec }, controllerWrite(MANAGER)).catch(ignoreConflict);
}

/**
 * The node's taints with `key` (NoSchedule and NoExecute) as its one
 * readiness taint, or none when `key` is undefined; undefined when they are
 * so already. A taint already there keeps its timeAdded: taint eviction
 * counts tolerationSeconds from it, so rewriting it would move every
 * deadline. As Kubernetes, only the NoExecute taint carries timeAdded.
 */
export function readinessTaints(taints: readonly Taint[], key: string | undefined): Taint[] | undefined {
  const others = taints.filter((t) => !READINESS_TAINTS.includes(t.key));
  const kept = taints.filter((t) => t.key === key && (t.effect === 'NoSchedule' || t.effect === 'NoExecute'));
  const want: Taint[] = [];
  if (key) {
    const now = rfc3339();
    want.push(kept.find((t) => t.effect === 'NoSchedule') ?? { key, effect: 'NoSchedule' });
    want.push(kept.find((t) => t.effect === 'NoExecute') ?? { key, effect: 'NoExecute', timeAdded: now });
  }
  const next = [...others, ...want];
  const same = next.length === taints.length && next.every((t) => taints.includes(t));
  return same ? undefined : next;
}

function ignoreConflict(e: unknown): void {
  const code = (e as { code?: number }).code;
  if (code !== 409 && code !== 404) throw e;
}
