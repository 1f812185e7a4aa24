// Revisions: every ReplicaSet of a Deployment carries the revision it was
// the new one at (deployment.kubernetes.io/revision), so `kubectl rollout
// history` and `undo` can find them; the Deployment carries its current one.
// A ReplicaSet also records the size its Deployment wanted when it was last
// scaled (desired-replicas, max-replicas), which tells a scaling event from a
// rollout.
import type { KubeObject } from '../../apis/types.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const CHANGE_CAUSE = 'kubernetes.io/change-cause';

/** Deployment annotations a ReplicaSet does not inherit (Kubernetes' annotationsToSkip). */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

export function revisionOf(o: KubeObject): number {
  const n = Number(o.metadata.annotations?.[REVISION] ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export function maxRevision(list: KubeObject[]): number {
  return list.reduce((m, o) => Math.max(m, revisionOf(o)), 0);
}

/** The Deployment's own annotations a ReplicaSet carries (change-cause among them). */
export function inheritedAnnotations(d: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v;
  return out;
}

/** A ReplicaSet's annotations as the new one of `d` at `revision`; null when already so. */
export function newReplicaSetAnnotations(d: KubeObject, rs: KubeObject, revision: number, desired: number, max: number): Record<string, string> | null {
  const current = rs.metadata.annotations ?? {};
  const next = { ...current, ...inheritedAnnotations(d) };
  if (revisionOf(rs) < revision) next[REVISION] = String(revision);
  next[DESIRED_REPLICAS] = String(desired);
  next[MAX_REPLICAS] = String(max);
  const same = Object.keys(next).length === Object.keys(current).length && Object.entries(next).every(([k, v]) => current[k] === v);
  return same ? null : next;
}
