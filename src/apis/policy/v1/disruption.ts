// What the disruption controller and the eviction subresource share about a
// PodDisruptionBudget: which Pods it selects, and its DisruptionAllowed
// condition as Kubernetes sets it.
import { selectorMatches } from '../../core/v1/label-selector.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from './poddisruptionbudget.js';

export const DISRUPTION_ALLOWED = 'DisruptionAllowed';

export type BudgetCondition = NonNullable<PodDisruptionBudgetStatus['conditions']>[number];

/** Does the budget cover a Pod with these labels? A null selector matches no pods, an empty one every pod (policy/v1). */
export function budgetSelects(pdb: PodDisruptionBudget, labels: Record<string, string> | undefined): boolean {
  const sel = pdb.spec?.selector;
  if (sel === undefined || sel === null) return false;
  return selectorMatches(sel, labels);
}

/** apimeta.SetStatusCondition: the transition time moves only when the status does. */
export function setCondition(conditions: BudgetCondition[] | undefined, c: BudgetCondition, nowIso: string): BudgetCondition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  if (i < 0) {
    list.push({ ...c, lastTransitionTime: nowIso });
    return list;
  }
  const old = list[i]!;
  list[i] = { ...c, lastTransitionTime: old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : nowIso };
  return list;
}

/** A condition's observedGeneration, left out when unknown (Go's omitempty). */
export const gen = (g: number | undefined): { observedGeneration?: number } => (g ? { observedGeneration: g } : {});

/** The DisruptionAllowed condition for a number of allowed disruptions (pdbhelper.UpdateDisruptionAllowedCondition). */
export function allowedCondition(status: PodDisruptionBudgetStatus, nowIso: string): BudgetCondition[] {
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  return setCondition(
    status.conditions,
    { type: DISRUPTION_ALLOWED, status: allowed ? 'True' : 'False', reason: allowed ? 'SufficientPods' : 'InsufficientPods', message: '', ...gen(status.observedGeneration) },
    nowIso,
  );
}
