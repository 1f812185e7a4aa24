// Taint eviction (Kubernetes' NoExecute taint manager): Pods bound to a node
// with NoExecute taints leave it — at once when they do not tolerate a
// taint, after their tolerationSeconds (counted from the taint's timeAdded)
// when they do for a while, never when they do for good. Together with the
// node lifecycle controller's not-ready/unreachable taints and the default
// 300 s tolerations every Pod gets, this moves work off a failed node.
//
// Level-triggered: the queue holds Pod keys; a Node's change queues the Pods
// bound to it. A sync reads the Pod and its Node from the store and decides
// again from them alone; a Pod that may stay for a while is queued again for
// its deadline. Removing the taint needs no cancelling: when the deadline
// comes, the sync finds nothing to act on. A restart decides the same.
import type { Pod, Taint } from '../apis/core/v1/types.js';
import type { KubeObject } from '../apis/types.js';
import { type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';

/** Kubernetes' taint manager's words on the Pods it deletes. */
const TAINT_EVICTION = { reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', manager: 'taint-eviction-controller' };
import { PodsByNode } from './pods-by-node.js';
import { evictionDecision, taintId } from './taint-eviction/eviction-deadline.js';
import { disruptPod } from './disrupt-pod.js';

/** Past a deadline before acting on it: timers may fire a little early. */
const DEADLINE_SLACK_MS = 20;

export interface TaintEvictionOptions {
  now?: () => number;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;
const nodeOf = (o: KubeObject): string | undefined => (o as Pod).spec?.nodeName || undefined;

export async function runTaintEvictionController(ctx: ControllerContext, o: TaintEvictionOptions = {}): Promise<void> {
  const nodeType = ctx.registry.resource('', 'v1', 'nodes');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  if (!nodeType || !podType) return;
  const now = o.now ?? Date.now;
  const log = ctx.log.child({ controller: 'taint-eviction' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const nodes = ctx.informers.for(nodeType);
  const pods = ctx.informers.for(podType);

  // Pod keys by node name, so a Node's change reaches only its Pods.
  const podsOnNode = PodsByNode.for(pods);
  pods.addHandlers({
    onAdd: (p) => queue.add(keyOf(p)),
    onUpdate: (old, p) => {
      // Binding is what puts a Pod on a tainted node; later Pod changes (status) decide nothing new.
      if (nodeOf(old) !== nodeOf(p) || JSON.stringify(old.spec?.tolerations) !== JSON.stringify(p.spec?.tolerations)) queue.add(keyOf(p));
    },
  });
  const noExecute = (n: KubeObject): string => JSON.stringify(((n.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === 'NoExecute'));
  const queueNode = (n: KubeObject): void => {
    for (const key of podsOnNode.keysOn(String(n.metadata.name))) queue.add(key);
  };
  nodes.addHandlers({
    onAdd: queueNode,
    onUpdate: (old, n) => {
      if (noExecute(old) !== noExecute(n)) queueNode(n);
    },
  });
  await Promise.all([nodes.hasSynced, pods.hasSynced]);

  // A taint written without timeAdded counts from when it was first seen here (a restart starts that clock again).
  const firstSeen = new Map<string, number>();

  const sync = async (key: string): Promise<void> => {
    // Most Pods are on nodes without NoExecute taints: the caches say so without reading the store (which decides when there are).
    const cached = pods.cache.get(key);
    const cachedNode = cached && nodeOf(cached);
    if (cached && cachedNode && !((nodes.cache.get(cachedNode)?.spec?.taints ?? []) as Taint[]).some((t) => t.effect === 'NoExecute')) return;
    const slash = key.indexOf('/');
    const pod = (await ctx.svc.tryGet(podType, key.slice(0, slash), key.slice(slash + 1)))?.obj as Pod | undefined;
    const nodeName = pod && nodeOf(pod);
    // A Pod already being deleted is on its way out; unbound Pods run nowhere.
    if (!pod || !nodeName || pod.metadata.deletionTimestamp) return;
    const node = (await ctx.svc.tryGet(nodeType, undefined, nodeName))?.obj;
    const taints = ((node?.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === 'NoExecute');
    if (!taints.length) return;
    const decision = evictionDecision(taints, pod.spec?.tolerations ?? [], (t) => {
      const id = taintId(nodeName, t);
      if (!firstSeen.has(id)) firstSeen.set(id, now());
      return firstSeen.get(id)!;
    });
    if (decision.kind === 'never') return;
    if (decision.kind === 'at' && decision.at > now()) {
      queue.addAfter(key, decision.at - now() + DEADLINE_SLACK_MS);
      return;
    }
    if (await disruptPod(ctx.svc, podType, pod, TAINT_EVICTION))
      log.info('evicting pod from tainted node', { pod: key, node: nodeName, taint: `${decision.taint.key}:${decision.taint.effect}` });
  };
  await queue.run(sync, (key, err) => log.warn('taint eviction sync failed', { pod: key, error: (err as Error).message }), 2);
}
