// Evicting a Pod from a tainted node as Kubernetes' taint manager does: the
// Pod is first marked with a DisruptionTarget condition (so its owner and
// people can tell why it went), then deleted with an ordinary delete — the
// node's agent stops it within its grace period, and the ReplicaSet, Job or
// other controller that owns it creates a replacement elsewhere.
import type { ResourceService } from '../../api/resources/resource-service.js';
import { rfc3339 } from '../../api/resources/clock.js';
import type { Condition as PodCondition, Pod } from '../../apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { controllerWrite } from '../runtime/informer-factory.js';

export const MANAGER = 'taint-eviction-controller';
const DISRUPTION_TARGET = 'DisruptionTarget';
const REASON = 'DeletionByTaintManager';
const MESSAGE = 'Taint manager: deleting due to NoExecute taint';
/** Tries at writing the condition against concurrent status writes (the agent's) before deleting anyway. */
const CONDITION_ATTEMPTS = 3;

const codeOf = (e: unknown): number | undefined => (e as { code?: number }).code;

/** Mark `pod` (the version the decision was made on) and delete it; false when it was already gone or replaced. */
export async function evictPod(svc: ResourceService, podType: ResourceType, pod: KubeObject): Promise<boolean> {
  const ns = String(pod.metadata.namespace);
  const name = String(pod.metadata.name);
  const uid = String(pod.metadata.uid);
  await markDisruptionTarget(svc, podType, ns, name, uid);
  try {
    await svc.delete(podType, ns, name, { preconditions: { uid } });
    return true;
  } catch (e) {
    // Gone, or a new Pod of the same name (not the one that was decided on).
    if (codeOf(e) === 404 || codeOf(e) === 409) return false;
    throw e;
  }
}

async function markDisruptionTarget(svc: ResourceService, podType: ResourceType, ns: string, name: string, uid: string): Promise<void> {
  for (let attempt = 0; attempt < CONDITION_ATTEMPTS; attempt++) {
    const current = (await svc.tryGet(podType, ns, name))?.obj as Pod | undefined;
    if (!current || current.metadata.uid !== uid) return;
    const conditions: PodCondition[] = current.status?.conditions ?? [];
    if (conditions.some((c) => c.type === DISRUPTION_TARGET && c.status === 'True')) return;
    const condition: PodCondition = { type: DISRUPTION_TARGET, status: 'True', lastTransitionTime: rfc3339(), reason: REASON, message: MESSAGE };
    const status = { ...current.status, conditions: [...conditions.filter((c) => c.type !== DISRUPTION_TARGET), condition] };
    try {
      // Pinned to the version read: a concurrent status write (the agent's) must not be overwritten with an older status.
      await svc.update(podType, ns, name, { ...current, status }, controllerWrite(MANAGER), 'status');
      return;
    } catch (e) {
      if (codeOf(e) === 404) return;
      if (codeOf(e) !== 409) throw e;
    }
  }
}
