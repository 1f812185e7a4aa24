// A DaemonSet's status from its Pods and the nodes (Kubernetes'
// updateDaemonSetStatus): per node that should run the daemon, whether it
// has a Pod, and whether the oldest one is ready, available and of the
// current revision; nodes with a Pod that should not have one are
// misscheduled.
import type { DaemonSetStatus } from '../../apis/apps/v1/daemonset.js';
import { availability, isReady } from '../replicaset/pods.js';
import { isUpdated, oldestFirst, type DaemonSetView } from './daemon-pods.js';


export interface ComputedStatus {
  status: DaemonSetStatus;
  /** When a ready Pod turns available (minReadySeconds): no event says so, so the controller looks again then. */
  nextAvailableAt?: number;
}

export function computeStatus(i: DaemonSetView): ComputedStatus {
  const minReady = i.ds.spec?.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  let nextAvailableAt: number | undefined;
  for (const node of i.nodes) {
    const pods = i.byNode.get(node.metadata.name as string) ?? [];
    if (!i.fit(node).shouldRun) {
      if (pods.length) misscheduled++;
      continue;
    }
    desired++;
    if (!pods.length) continue;
    current++;
    const pod = [...pods].sort(oldestFirst)[0];
    if (isReady(pod)) {
      ready++;
      const a = availability(pod, minReady, i.now);
      if (a.available) available++;
      else if (a.at !== undefined) nextAvailableAt = Math.min(nextAvailableAt ?? Infinity, a.at);
    }
    if (isUpdated(pod, i.hash)) updated++;
  }
  // The first four are always present in Kubernetes' JSON; the other counts are omitted at zero.
  const status: DaemonSetStatus = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: i.ds.metadata.generation as number | undefined,
  };
  if (updated) status.updatedNumberScheduled = updated;
  if (available) status.numberAvailable = available;
  if (desired - available > 0) status.numberUnavailable = desired - available;
  if (i.ds.status?.collisionCount !== undefined) status.collisionCount = i.ds.status.collisionCount;
  if (i.ds.status?.conditions?.length) status.conditions = i.ds.status.conditions;
  return { status, nextAvailableAt };
}
