// When a Pod must leave its node because of the node's NoExecute taints
// (Kubernetes' taint manager): at once when one taint is not tolerated;
// otherwise when the first tolerationSeconds runs out, counted from the
// taint's timeAdded; never when every taint is tolerated without a limit.
// A pure function of the stored Pod and Node (and the clock), so a restarted
// controller arrives at the same deadlines.
import type { Taint, Toleration } from '../../apis/core/v1/types.js';
import { tolerates } from '../../scheduler/tolerations.js';

export type EvictionDecision =
  | { kind: 'now'; taint: Taint }
  | { kind: 'at'; at: number; taint: Taint }
  | { kind: 'never' };

/**
 * `firstSeen(taint)`: when this controller first saw a taint that has no
 * timeAdded (written by hand without it), the best start it has.
 */
export function evictionDecision(taints: readonly Taint[], tolerations: readonly Toleration[], firstSeen: (t: Taint) => number): EvictionDecision {
  let soonest: { at: number; taint: Taint } | undefined;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    // As Kubernetes (GetMatchingTolerations): the first toleration that covers the taint decides how long.
    const toleration = tolerations.find((t) => tolerates(t, taint));
    if (!toleration) return { kind: 'now', taint };
    if (toleration.tolerationSeconds === undefined || toleration.tolerationSeconds === null) continue;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : NaN;
    const start = Number.isNaN(added) ? firstSeen(taint) : added;
    const at = start + Math.max(0, toleration.tolerationSeconds) * 1000;
    if (!soonest || at < soonest.at) soonest = { at, taint };
  }
  return soonest ? { kind: 'at', ...soonest } : { kind: 'never' };
}

/** A taint's identity on its node, for remembering when a taint without timeAdded was first seen. */
export const taintId = (node: string, t: Taint): string => `${node}\u0000${t.key ?? ''}\u0000${t.value ?? ''}\u0000${t.effect ?? ''}`;
