// A Deployment resized in the middle of a rollout (Kubernetes' scale): the
// change is shared among its active ReplicaSets in proportion to their sizes,
// so neither the old nor the new template gains or loses more than its share.
// The max-replicas annotation each set carries says what size the Deployment
// (plus surge) had when the set was last sized.
import type { Workload } from '../../apis/apps/v1/workload.js';
import { MAX_REPLICAS } from './revision.js';
import { byCreation, desired, fenceposts, isRolling, specReplicas, sumSpec } from './rolling.js';
import type { DeploymentObject } from './types.js';

/** New sizes for the ReplicaSets that change; empty when this is no scaling event. */
export function proportionalSizes(d: DeploymentObject, newRS: Workload | undefined, all: Workload[]): Map<Workload, number> {
  const out = new Map<Workload, number>();
  const active = all.filter((rs) => specReplicas(rs) > 0);
  if (active.length <= 1) {
    // One set running (or none): it simply takes the desired size.
    const only = active[0] ?? newRS ?? [...all].sort(byCreation).at(-1);
    if (only && (active.length === 1 || only === newRS) && specReplicas(only) !== desired(d)) out.set(only, desired(d));
    return out;
  }
  if (!isRolling(d)) return out;
  const allowed = desired(d) + fenceposts(d).surge;
  const toAdd = allowed - sumSpec(all);
  if (toAdd === 0) return out;
  // Larger sets first; among equals the newer when growing, the older when shrinking.
  const ordered = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
  let added = 0;
  for (const rs of ordered) {
    const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? 0);
    let share = desired(d) === 0 ? -specReplicas(rs) : annotated > 0 ? Math.round((specReplicas(rs) * allowed) / annotated) - specReplicas(rs) : 0;
    share = toAdd > 0 ? Math.min(share, toAdd - added) : Math.max(share, toAdd - added);
    added += share;
    out.set(rs, specReplicas(rs) + share);
  }
  // Rounding leftovers go to the largest set.
  const first = ordered[0];
  out.set(first, Math.max(0, (out.get(first) ?? 0) + toAdd - added));
  for (const [rs, n] of out) if (n === specReplicas(rs)) out.delete(rs);
  return out;
}

/** The Deployment's size changed since its sets were last sized (Kubernetes' isScalingEvent). */
export function isScalingEvent(d: DeploymentObject, all: Workload[]): boolean {
  return all.some((rs) => specReplicas(rs) > 0 && rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'] !== String(desired(d)));
}
