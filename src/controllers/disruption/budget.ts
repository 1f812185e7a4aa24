// The arithmetic of a PodDisruptionBudget, as Kubernetes' disruption
// controller does it: which Pods it covers, how many it expects, how many
// must stay healthy, how many are, and so how many may be disrupted now.
// Pure functions: the controller feeds them its caches and a clock.
import type { IntOrString, Pod } from '../../apis/core/v1/types.js';
import type { KubeObject } from '../../apis/types.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from '../../apis/policy/v1/poddisruptionbudget.js';
import { allowedCondition, budgetSelects, DISRUPTION_ALLOWED, gen, setCondition } from '../../apis/policy/v1/disruption.js';
import { isReady } from '../replicaset/pods.js';

export { budgetSelects };

/** How long an evicted Pod (status.disruptedPods) is not counted as healthy while its deletion is awaited. */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** The Pods of the budget's namespace that it covers. */
export function podsOfBudget(pdb: PodDisruptionBudget, pods: Iterable<KubeObject>): Pod[] {
  const out: Pod[] = [];
  for (const p of pods) if (p.metadata.namespace === pdb.metadata.namespace && budgetSelects(pdb, p.metadata.labels)) out.push(p as Pod);
  return out;
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: IntOrString, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** How many Pods the budget expects and how many of them must be healthy; `expectedScale` (the owners' replicas) is asked only when the budget needs it. */
export function expectedCounts(pdb: PodDisruptionBudget, pods: Pod[], expectedScale: () => number): { expectedCount: number; desiredHealthy: number } {
  const s = pdb.spec ?? {};
  if (s.maxUnavailable != null) {
    const expectedCount = expectedScale();
    const max = scaledValue(s.maxUnavailable, expectedCount, true);
    return { expectedCount, desiredHealthy: Math.max(0, expectedCount - max) };
  }
  if (s.minAvailable != null) {
    if (typeof s.minAvailable === 'number') return { expectedCount: pods.length, desiredHealthy: s.minAvailable };
    const expectedCount = expectedScale();
    return { expectedCount, desiredHealthy: scaledValue(s.minAvailable, expectedCount, true) };
  }
  return { expectedCount: 0, desiredHealthy: 0 };
}

/**
 * The disruptedPods entries still awaited: of Pods that still exist and are
 * not being deleted, younger than the deletion timeout. `recheckAt` is when
 * the oldest of them runs out.
 */
export function pendingDisruptions(pdb: PodDisruptionBudget, pods: Pod[], now: number): { disrupted: Record<string, string>; recheckAt?: number } {
  const recorded = pdb.status?.disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const at = recorded[String(p.metadata.name)];
    if (at === undefined) continue;
    const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (!(expires > now)) continue; // expected to be deleted, and was not: counts again
    disrupted[String(p.metadata.name)] = at;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  return { disrupted, recheckAt };
}

/** Ready Pods neither being deleted nor just evicted. */
export function countHealthy(pods: Pod[], disrupted: Record<string, string>): number {
  let n = 0;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (disrupted[String(p.metadata.name)] !== undefined) continue;
    if (isReady(p)) n++;
  }
  return n;
}

/** The status for a successful sync. */
export function budgetStatus(pdb: PodDisruptionBudget, counts: { expectedCount: number; desiredHealthy: number; currentHealthy: number; disrupted: Record<string, string> }, nowIso: string): PodDisruptionBudgetStatus {
  let allowed = counts.currentHealthy - counts.desiredHealthy;
  if (counts.expectedCount <= 0 || allowed <= 0) allowed = 0;
  const status: PodDisruptionBudgetStatus = {
    ...(pdb.status ?? {}),
    observedGeneration: pdb.metadata.generation ?? 1,
    disruptionsAllowed: allowed,
    currentHealthy: counts.currentHealthy,
    desiredHealthy: counts.desiredHealthy,
    expectedPods: counts.expectedCount,
  };
  if (Object.keys(counts.disrupted).length) status.disruptedPods = counts.disrupted;
  else delete status.disruptedPods;
  status.conditions = allowedCondition(status, nowIso);
  return status;
}

/** What a failed sync leaves (the controller's failSafe): no disruptions, and why. */
export function failSafeStatus(pdb: PodDisruptionBudget, message: string, nowIso: string): PodDisruptionBudgetStatus {
  const old = pdb.status ?? {};
  return {
    ...old,
    disruptionsAllowed: 0,
    currentHealthy: old.currentHealthy ?? 0,
    desiredHealthy: old.desiredHealthy ?? 0,
    expectedPods: old.expectedPods ?? 0,
    conditions: setCondition(old.conditions, { type: DISRUPTION_ALLOWED, status: 'False', reason: 'SyncFailed', message, ...gen(old.observedGeneration) }, nowIso),
  };
}
