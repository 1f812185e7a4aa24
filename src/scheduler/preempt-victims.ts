// Carrying out a preemption, as kube-scheduler's prepareCandidate does: each
// victim Pod is marked with a DisruptionTarget condition (reason
// PreemptionByScheduler), so its owner and people can tell why it went, and
// deleted with an ordinary delete (its grace period, as any deletion); the
// node's agent stops it and its controller, if any, makes a replacement.
import { rfc3339 } from '../api/resources/clock.js';
import type { ResourceService } from '../api/resources/resource-service.js';
import type { Condition, Pod } from '../apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../apis/types.js';
import { controllerWrite } from '../controllers/runtime/informer-factory.js';

const DISRUPTION_TARGET = 'DisruptionTarget';
export const PREEMPTION_REASON = 'PreemptionByScheduler';
/** Tries at writing the condition against concurrent status writes (the agent's) before deleting anyway. */
const CONDITION_ATTEMPTS = 3;

const codeOf = (e: unknown): number | undefined => (e as { code?: number }).code;

/** Mark and delete the victim (the version the decision was made on); false when it was already gone or replaced. */
export async function preemptPod(svc: ResourceService, podType: ResourceType, victim: KubeObject, manager: string, schedulerName: string): Promise<boolean> {
  const ns = String(victim.metadata.namespace);
  const name = String(victim.metadata.name);
  const uid = String(victim.metadata.uid);
  const message = `${schedulerName}: preempting to accommodate a higher priority pod`;
  for (let attempt = 0; attempt < CONDITION_ATTEMPTS; attempt++) {
    const current = (await svc.tryGet(podType, ns, name))?.obj as Pod | undefined;
    if (!current || current.metadata.uid !== uid) return false;
    const conditions: Condition[] = current.status?.conditions ?? [];
    if (conditions.some((c) => c.type === DISRUPTION_TARGET && c.status === 'True' && c.reason === PREEMPTION_REASON)) break;
    const condition: Condition = { type: DISRUPTION_TARGET, status: 'True', lastTransitionTime: rfc3339(), reason: PREEMPTION_REASON, message };
    const status = { ...current.status, conditions: [...conditions.filter((c) => c.type !== DISRUPTION_TARGET), condition] };
    try {
      // Pinned to the version read: a concurrent status write (the agent's) must not be overwritten with an older status.
      await svc.update(podType, ns, name, { ...current, status }, controllerWrite(manager), 'status');
      break;
    } catch (e) {
      if (codeOf(e) === 404) return false;
      if (codeOf(e) !== 409) throw e;
    }
  }
  try {
    await svc.delete(podType, ns, name, { preconditions: { uid } });
    return true;
  } catch (e) {
    if (codeOf(e) === 404 || codeOf(e) === 409) return false;
    throw e;
  }
}
