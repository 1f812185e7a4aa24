// A ReplicaSet's status from the Pods it owns: counts, the generation they
// reflect, and the ReplicaFailure condition while Pods cannot be created or
// deleted.
import { rfc3339 } from '../../api/resources/clock.js';
import type { Condition, Pod } from '../../apis/core/v1/types.js';
import type { Workload, WorkloadStatus } from '../../apis/apps/v1/workload.js';
import { availability, isReady } from './pods.js';

export interface ComputedStatus {
  status: WorkloadStatus & { terminatingReplicas?: number };
  /** When the next owned Pod turns available (minReadySeconds), if any. */
  nextAvailableAt?: number;
}

export function computeStatus(rs: Workload, active: Pod[], terminating: number, manageError: Error | undefined, now: number): ComputedStatus {
  const labels = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  let nextAvailableAt: number | undefined;
  for (const p of active) {
    if (Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v)) fullyLabeled++;
    if (isReady(p)) ready++;
    const a = availability(p, minReady, now);
    if (a.available) available++;
    else if (a.at !== undefined) nextAvailableAt = Math.min(nextAvailableAt ?? Infinity, a.at);
  }
  const old = rs.status?.conditions ?? [];
  let conditions: Condition[] = old.filter((c) => c.type !== 'ReplicaFailure');
  const failure = old.find((c) => c.type === 'ReplicaFailure');
  if (manageError) {
    const reason = /delet/i.test(manageError.message) ? 'FailedDelete' : 'FailedCreate';
    conditions = [
      ...conditions,
      failure?.status === 'True' && failure.message === manageError.message
        ? failure
        : { type: 'ReplicaFailure', status: 'True', reason, message: manageError.message, lastTransitionTime: rfc3339(now) },
    ];
  }
  const status: ComputedStatus['status'] = {
    replicas: active.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation as number | undefined,
  };
  if (terminating) status.terminatingReplicas = terminating;
  if (conditions.length) status.conditions = conditions;
  return { status, nextAvailableAt };
}
