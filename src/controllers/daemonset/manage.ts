// The per-node decisions of a DaemonSet (Kubernetes' manage and
// podsShouldBeOnNode): a node that should run the daemon and has no Pod gets
// one; a node that may keep it loses its failed Pods (after a back-off) and
// any extras, the oldest staying (while surging, the oldest old and the
// oldest new stay until the new one is available); a node that may not keep
// it loses all of them. Pods meant for nodes that no longer exist and were
// never bound go too. Pure: the controller carries the plan out.
import type { DaemonSet } from '../../apis/apps/v1/daemonset.js';
import type { Pod } from '../../apis/core/v1/types.js';
import { availability, isReady } from '../replicaset/pods.js';
import { allowsSurge, isTerminal, isUpdated, oldestFirst, type PodsByNode } from './daemon-pods.js';
import type { FailedPodBackoff } from './failed-backoff.js';
import type { Node, NodeFit } from './node-fit.js';

export interface NodePlan {
  nodesNeedingPods: string[];
  podsToDelete: Pod[];
  /** Failed Pods among podsToDelete, with their node: worth telling the user about. */
  failedPods: Array<{ pod: Pod; node: string }>;
  /** A failed Pod waits out its back-off: look again after this long. */
  retryAfterMs?: number;
}

export interface ManageInput {
  ds: DaemonSet;
  nodes: Node[];
  /** Every owned Pod by node, terminating and finished ones included. */
  byNode: PodsByNode;
  fit: (node: Node) => NodeFit;
  hash: string;
  backoff: FailedPodBackoff;
  now: number;
}

const backoffKey = (ds: DaemonSet, node: string): string => `${ds.metadata.uid}/${node}`;

/** The Pods a node may keep running (failed ones out, those past their back-off marked for deletion). */
function runningOn(node: string, pods: Pod[], i: ManageInput, plan: NodePlan): Pod[] {
  const running: Pod[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (isTerminal(p)) {
      const key = backoffKey(i.ds, node);
      const wait = i.backoff.remaining(key, i.now);
      if (wait > 0) plan.retryAfterMs = Math.min(plan.retryAfterMs ?? Infinity, wait);
      else {
        i.backoff.next(key, i.now);
        plan.podsToDelete.push(p);
        plan.failedPods.push({ pod: p, node });
      }
      continue;
    }
    running.push(p);
  }
  return running;
}

/** While surging, a node keeps the oldest new Pod and the oldest old one, the old one only until the new one is available. */
function surgeExtras(running: Pod[], i: ManageInput): Pod[] {
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  const extras: Pod[] = [];
  for (const p of [...running].sort(oldestFirst)) {
    if (isUpdated(p, i.hash) && !oldestNew) oldestNew = p;
    else if (!isUpdated(p, i.hash) && !oldestOld) oldestOld = p;
    else extras.push(p);
  }
  if (oldestNew && oldestOld && (!isReady(oldestOld) || availability(oldestNew, i.ds.spec?.minReadySeconds ?? 0, i.now).available)) extras.push(oldestOld);
  return extras;
}

export function planNodes(i: ManageInput): NodePlan {
  const plan: NodePlan = { nodesNeedingPods: [], podsToDelete: [], failedPods: [] };
  const surge = allowsSurge(i.ds);
  for (const node of i.nodes) {
    const name = node.metadata.name as string;
    const pods = i.byNode.get(name) ?? [];
    const { shouldRun, shouldContinueRunning } = i.fit(node);
    if (shouldRun && !pods.length) {
      plan.nodesNeedingPods.push(name);
    } else if (shouldContinueRunning) {
      const running = runningOn(name, pods, i, plan);
      if (running.length <= 1) {
        // Surging never leaves a node without a live Pod while the old one terminates.
        if (surge && !running.length && shouldRun) plan.nodesNeedingPods.push(name);
      } else if (!surge) plan.podsToDelete.push(...[...running].sort(oldestFirst).slice(1));
      else plan.podsToDelete.push(...surgeExtras(running, i));
    } else {
      plan.podsToDelete.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
    }
  }
  // Never bound, and their node is gone: nothing else would ever remove them.
  const existing = new Set(i.nodes.map((n) => n.metadata.name));
  for (const [node, pods] of i.byNode)
    if (!existing.has(node)) plan.podsToDelete.push(...pods.filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp));
  return plan;
}
