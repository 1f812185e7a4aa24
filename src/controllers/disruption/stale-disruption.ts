// A DisruptionTarget condition that no deletion followed: an eviction or
// preemption marked the Pod, then its delete failed or was refused. After
// two minutes Kubernetes' disruption controller sets the condition False, so
// the Pod does not claim forever a disruption that never happened; this is
// that rule.
import { DISRUPTION_TARGET } from '../../apis/core/v1/pod-status.js';
import type { Condition, Pod } from '../../apis/core/v1/types.js';

/** Kubernetes' stalePodDisruptionTimeout. */
export const STALE_DISRUPTION_MS = 2 * 60_000;

/** When a Pod's DisruptionTarget=True becomes stale (ms since the epoch), or undefined when it has none to clear. */
export function staleDisruptionAt(p: Pod): number | undefined {
  if (p.metadata.deletionTimestamp) return undefined;
  const c = p.status?.conditions?.find((x) => x.type === DISRUPTION_TARGET);
  if (c?.status !== 'True') return undefined;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return (Number.isNaN(since) ? 0 : since) + STALE_DISRUPTION_MS;
}

/** The Pod's status with the condition reset to False at `nowIso`. */
export function withDisruptionReset(p: Pod, nowIso: string): Pod['status'] {
  const conditions: Condition[] = (p.status?.conditions ?? []).map((c) => (c.type === DISRUPTION_TARGET ? { ...c, status: 'False', lastTransitionTime: nowIso } : c));
  return { ...p.status, conditions };
}
