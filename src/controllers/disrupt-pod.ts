// Deleting a Pod for a reason its owner and people should see, as
// Kubernetes' taint manager and scheduler preemption do: the Pod is first
// marked with a DisruptionTarget condition, then deleted with an ordinary
// delete — the node's agent stops it within its grace period, and the
// ReplicaSet, Job or other controller that owns it makes a replacement.
import { rfc3339 } from '../api/resources/clock.js';
import type { ResourceService } from '../api/resources/resource-service.js';
import { DISRUPTION_TARGET } from '../apis/core/v1/pod-status.js';
import type { Condition, Pod } from '../apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../apis/types.js';
import { controllerWrite } from './runtime/informer-factory.js';

/** Tries at writing the condition against concurrent status writes (the agent's) before deleting anyway. */
const CONDITION_ATTEMPTS = 3;

export interface Disruption {
  /** The condition's reason, e.g. DeletionByTaintManager, PreemptionByScheduler. */
  reason: string;
  message: string;
  /** Field manager of the status write. */
  manager: string;
}

const codeOf = (e: unknown): number | undefined => (e as { code?: number }).code;

/** Mark `pod` (the version the decision was made on) and delete it; false when it was already gone or replaced. */
export async function disruptPod(svc: ResourceService, podType: ResourceType, pod: KubeObject, d: Disruption): Promise<boolean> {
  const ns = String(pod.metadata.namespace);
  const name = String(pod.metadata.name);
  const uid = String(pod.metadata.uid);
  if (!(await markDisruptionTarget(svc, podType, ns, name, uid, d))) return false;
  try {
    await svc.delete(podType, ns, name, { preconditions: { uid } });
    return true;
  } catch (e) {
    // Gone, or a new Pod of the same name (not the one that was decided on).
    if (codeOf(e) === 404 || codeOf(e) === 409) return false;
    throw e;
  }
}

/** false when the Pod is gone or replaced; true when marked (or the marking lost every race: it is deleted anyway). */
async function markDisruptionTarget(svc: ResourceService, podType: ResourceType, ns: string, name: string, uid: string, d: Disruption): Promise<boolean> {
  for (let attempt = 0; attempt < CONDITION_ATTEMPTS; attempt++) {
    const current = (await svc.tryGet(podType, ns, name))?.obj as Pod | undefined;
    if (!current || current.metadata.uid !== uid) return false;
    const conditions: Condition[] = current.status?.conditions ?? [];
    if (conditions.some((c) => c.type === DISRUPTION_TARGET && c.status === 'True' && c.reason === d.reason)) return true;
    const condition: Condition = { type: DISRUPTION_TARGET, status: 'True', lastTransitionTime: rfc3339(), reason: d.reason, message: d.message };
    const status = { ...current.status, conditions: [...conditions.filter((c) => c.type !== DISRUPTION_TARGET), condition] };
    try {
      // Pinned to the version read: a concurrent status write (the agent's) must not be overwritten with an older status.
      await svc.update(podType, ns, name, { ...current, status }, controllerWrite(d.manager), 'status');
      return true;
    } catch (e) {
      if (codeOf(e) === 404) return false;
      if (codeOf(e) !== 409) throw e;
    }
  }
  return true;
}
