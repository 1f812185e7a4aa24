// A Deployment's status from its ReplicaSets: counts, and the Available and
// Progressing conditions `kubectl rollout status` reads (Kubernetes'
// calculateStatus and syncRolloutStatus). Progressing turns False
// (ProgressDeadlineExceeded) when no progress was seen for
// progressDeadlineSeconds; a paused Deployment is never timed out.
import { rfc3339 } from '../../api/resources/clock.js';
import type { Workload } from '../../apis/apps/v1/workload.js';
import { desired, fenceposts, sumSpec } from './rolling.js';
import type { DeploymentCondition, DeploymentObject } from './types.js';

export type DeploymentStatus = NonNullable<DeploymentObject['status']>;

export interface StatusInput {
  d: DeploymentObject;
  all: Workload[];
  newRS: Workload | undefined;
  /** The new ReplicaSet was created by this sync (Progressing: NewReplicaSetCreated). */
  created: boolean;
  now: number;
}

function setCondition(list: DeploymentCondition[], c: DeploymentCondition, now: number): DeploymentCondition[] {
  const old = list.find((x) => x.type === c.type);
  // Same status and reason: nothing to record (Kubernetes keeps both timestamps then).
  if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) return list;
  const t = rfc3339(now);
  const next: DeploymentCondition = { ...c, lastUpdateTime: t, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : t };
  return [...list.filter((x) => x.type !== c.type), next];
}

const sum = (all: Workload[], f: (rs: Workload) => number | undefined): number => all.reduce((n, rs) => n + (f(rs) ?? 0), 0);

export function isComplete(d: DeploymentObject, s: DeploymentStatus): boolean {
  const n = desired(d);
  return s.updatedReplicas === n && s.replicas === n && s.availableReplicas === n && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Did the new status move the rollout on from the old one (Kubernetes' DeploymentProgressing)? */
function progressed(d: DeploymentObject, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
}

/** The status to write, and when to look again for a deadline (ms from now). */
export function computeStatus(i: StatusInput): { status: DeploymentStatus; recheckInMs?: number } {
  const { d, all, newRS, now } = i;
  const available = sum(all, (rs) => rs.status?.availableReplicas);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation as number | undefined,
    replicas: sum(all, (rs) => rs.status?.replicas),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum(all, (rs) => rs.status?.readyReplicas),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumSpec(all) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  let conds: DeploymentCondition[] = d.status?.conditions ?? [];
  conds =
    available >= desired(d) - fenceposts(d).unavailable
      ? setCondition(conds, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, now)
      : setCondition(conds, { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, now);
  const failure = all.flatMap((rs) => rs.status?.conditions ?? []).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  conds = failure ? setCondition(conds, { type: 'ReplicaFailure', status: 'True', reason: failure.reason, message: failure.message }, now) : conds.filter((c) => c.type !== 'ReplicaFailure');

  let recheckInMs: number | undefined;
  const progressing = conds.find((c) => c.type === 'Progressing');
  const rsName = newRS?.metadata.name;
  if (d.spec?.paused) {
    if (progressing?.reason !== 'DeploymentPaused') conds = setCondition(conds, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, now);
  } else if (progressing?.reason === 'DeploymentPaused') {
    conds = setCondition(conds, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' }, now);
  } else if (d.spec?.progressDeadlineSeconds !== undefined && rsName) {
    const deadlineMs = d.spec.progressDeadlineSeconds * 1000;
    if (isComplete(d, status)) {
      conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }, now);
    } else if (i.created) {
      conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${rsName}"` }, now);
      recheckInMs = deadlineMs;
    } else if (!progressing) {
      conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'FoundNewReplicaSet', message: `Found new replica set "${rsName}"` }, now);
      recheckInMs = deadlineMs;
    } else if (progressed(d, status)) {
      // Progress moves the deadline: lastUpdateTime is refreshed even when the reason stays.
      const t = rfc3339(now);
      const c: DeploymentCondition = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.`, lastUpdateTime: t, lastTransitionTime: progressing.status === 'True' ? progressing.lastTransitionTime : t };
      conds = [...conds.filter((x) => x.type !== 'Progressing'), c];
      recheckInMs = deadlineMs;
    } else if (progressing.reason !== 'ProgressDeadlineExceeded') {
      const since = Date.parse(progressing.lastUpdateTime ?? progressing.lastTransitionTime ?? '');
      const left = Number.isNaN(since) ? 0 : since + deadlineMs - now;
      // A completed rollout later scaled up starts a new deadline rather than failing the old one.
      if (progressing.reason === 'NewReplicaSetAvailable') {
        conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` }, now);
        recheckInMs = deadlineMs;
      } else if (left <= 0) {
        conds = setCondition(conds, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` }, now);
      } else recheckInMs = left;
    }
  }
  if (conds.length) status.conditions = conds;
  return { status, recheckInMs };
}
