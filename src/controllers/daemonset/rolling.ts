// A DaemonSet's rolling update, as Kubernetes' rollingUpdate: without surge,
// old Pods are deleted while at most maxUnavailable nodes lack an available
// Pod (an old Pod that is unavailable anyway may always go), and the node
// loop then makes the new ones; with surge, new Pods are started beside
// available old ones on up to maxSurge nodes at a time (at once where the old
// one is unavailable), and an old Pod goes once the new one beside it is
// available. Runs only when the node loop had nothing to do. Pure.
import type { Pod } from '../../apis/core/v1/types.js';
import { availability } from '../replicaset/pods.js';
import { isUpdated, surgeCount, unavailableCount, type DaemonSetView } from './daemon-pods.js';


export interface RollingPlan {
  podsToDelete: Pod[];
  nodesToCreate: string[];
}

/** The one new and one old live Pod of a node; undefined when it has more (the node loop cleans that up first). */
function newAndOld(pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod } | undefined {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (isUpdated(p, hash)) {
      if (newPod) return undefined;
      newPod = p;
    } else {
      if (oldPod) return undefined;
      oldPod = p;
    }
  }
  return { newPod, oldPod };
}

/** Kubernetes counts against nodes that should run the daemon; both limits at zero would stall, so one may then be unavailable. */
function limits(i: DaemonSetView): { maxSurge: number; maxUnavailable: number; desired: number } {
  const desired = i.nodes.filter((n) => i.fit(n).shouldRun).length;
  const maxSurge = surgeCount(i.ds, desired);
  let maxUnavailable = unavailableCount(i.ds, desired);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, desired };
}

function withoutSurge(i: DaemonSetView, maxUnavailable: number): RollingPlan {
  const available = (p: Pod): boolean => availability(p, i.ds.spec?.minReadySeconds ?? 0, i.now).available;
  let unavailable = 0;
  const replaceAnyway: Pod[] = [];
  const candidates: Pod[] = [];
  for (const pods of i.byNode.values()) {
    const pair = newAndOld(pods, i.hash);
    if (!pair || (!pair.newPod && !pair.oldPod) || (pair.newPod && pair.oldPod)) {
      // The node loop creates or trims here: unavailable until it has.
      unavailable++;
    } else if (pair.newPod) {
      if (!available(pair.newPod)) unavailable++;
    } else if (pair.oldPod && !available(pair.oldPod)) {
      replaceAnyway.push(pair.oldPod);
      unavailable++;
    } else if (pair.oldPod && unavailable < maxUnavailable) {
      candidates.push(pair.oldPod);
    }
  }
  const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
  return { podsToDelete: [...replaceAnyway, ...candidates.slice(0, room)], nodesToCreate: [] };
}

function withSurge(i: DaemonSetView, maxSurge: number, desired: number): RollingPlan {
  const available = (p: Pod): boolean => availability(p, i.ds.spec?.minReadySeconds ?? 0, i.now).available;
  const nodeByName = new Map(i.nodes.map((n) => [n.metadata.name as string, n]));
  const shouldRun = (name: string): boolean => {
    const n = nodeByName.get(name);
    return n ? i.fit(n).shouldRun : false;
  };
  const podsToDelete: Pod[] = [];
  const leavingNodes: Pod[] = [];
  const replaceAnyway: string[] = [];
  const candidates: string[] = [];
  let surging = 0;
  let numAvailable = 0;
  for (const [name, pods] of i.byNode) {
    const pair = newAndOld(pods, i.hash);
    if (!pair) {
      surging++;
      continue;
    }
    const { newPod, oldPod } = pair;
    if ((oldPod && available(oldPod)) || (!oldPod && newPod && available(newPod))) numAvailable++;
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRun(name)) podsToDelete.push(oldPod);
        else replaceAnyway.push(name);
      } else if (!shouldRun(name)) leavingNodes.push(oldPod);
      else if (surging < maxSurge) candidates.push(name);
    } else if (!available(newPod)) surging++;
    else podsToDelete.push(oldPod);
  }
  // Pods on nodes the daemon is leaving go only while enough others are available: surging promises no gap.
  const deletable = Math.min(Math.max(0, numAvailable - desired), leavingNodes.length);
  podsToDelete.push(...leavingNodes.slice(0, deletable));
  const room = Math.min(Math.max(0, maxSurge - surging), candidates.length);
  return { podsToDelete, nodesToCreate: [...replaceAnyway, ...candidates.slice(0, room)] };
}

export function rollingPlan(i: DaemonSetView): RollingPlan {
  const { maxSurge, maxUnavailable, desired } = limits(i);
  return maxSurge === 0 ? withoutSurge(i, maxUnavailable) : withSurge(i, maxSurge, desired);
}
