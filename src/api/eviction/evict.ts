// What the eviction subresource does with a Pod, as Kubernetes' EvictionREST:
// a Pod that is finished, Pending or already being deleted goes at once; so
// does one no PodDisruptionBudget covers. One budget: the eviction takes one
// of its status.disruptionsAllowed (recording the Pod in status.disruptedPods,
// a compare-and-swap through the status subresource) or is refused with 429
// TooManyRequests; a Pod that is not ready may go without taking one when
// the budget's unhealthyPodEvictionPolicy allows. Several budgets: 500, as
// Kubernetes does not support that. Before deleting, the Pod is marked with
// a DisruptionTarget condition (reason EvictionByEvictionAPI). dryRun checks
// everything and writes nothing.
import { DISRUPTION_TARGET } from '../../apis/core/v1/pod-status.js';
import type { Condition, Pod } from '../../apis/core/v1/types.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from '../../apis/policy/v1/poddisruptionbudget.js';
import type { ResourceType } from '../../apis/types.js';
import { allowedCondition, budgetSelects } from '../../apis/policy/v1/disruption.js';
import { rfc3339 } from '../resources/clock.js';
import type { DeleteOptions, ResourceService, WriteContext } from '../resources/resource-service.js';
import { ApiError, checkPreconditions, forbidden, qualifiedResource } from '../status.js';

/** Tries at a write that lost a compare-and-swap race (Kubernetes retries evictions on conflicts). */
const CONFLICT_RETRIES = 5;
/** Most entries in status.disruptedPods before evictions are refused (Kubernetes' MaxDisruptedPodSize). */
const MAX_DISRUPTED_PODS = 2000;

export const MORE_THAN_ONE_BUDGET = 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';
export const WOULD_VIOLATE = "Cannot evict pod as it would violate the pod's disruption budget.";

/** A refusal the client should retry: 429 TooManyRequests with a DisruptionBudget cause. */
export function tooManyRequests(cause: string, retryAfterSeconds = 0): ApiError {
  return new ApiError(429, 'TooManyRequests', WOULD_VIOLATE, {
    causes: [{ reason: 'DisruptionBudget', message: cause }],
    ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
  });
}

/** The answer when the budget's status has not caught up with its spec. */
const stillProcessing = (name: string): ApiError => tooManyRequests(`The disruption budget ${name} is still being processed by the server.`, 10);

const codeOf = (e: unknown): number | undefined => (e instanceof ApiError ? e.code : (e as { code?: number }).code);
const isReady = (p: Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const serverWrite = (dryRun: boolean): WriteContext => ({ manager: 'kube-apiserver', fieldValidation: 'Strict', dryRun, warnings: [] });

/** A Pod whose eviction disrupts nothing a budget protects (canIgnorePDB). */
function canIgnoreBudget(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!p.metadata.deletionTimestamp;
}

export type EvictionResult = { ok: true } | { ok: false; code: number; message: string };

/** Evict pod ns/name with the Eviction's DeleteOptions. Throws ApiErrors (404, 409, 429...) as the apiserver answers them. */
export async function evictPod(svc: ResourceService, podType: ResourceType, ns: string | undefined, name: string, options: DeleteOptions): Promise<EvictionResult> {
  const pod = (await svc.get(podType, ns, name)).obj as Pod;
  if (canIgnoreBudget(pod)) {
    await markAndDelete(svc, podType, ns, name, options);
    return { ok: true };
  }
  const pdbType = svc.registry.resource('policy', 'v1', 'poddisruptionbudgets');
  const budgets = pdbType
    ? ((await svc.list(pdbType, ns, { match: (b) => budgetSelects(b as PodDisruptionBudget, pod.metadata.labels) })).items.map((it) => it.obj) as PodDisruptionBudget[])
    : [];
  if (budgets.length > 1) return { ok: false, code: 500, message: MORE_THAN_ONE_BUDGET };
  if (!pdbType || budgets.length === 0) {
    await markAndDelete(svc, podType, ns, name, options);
    return { ok: true };
  }
  let pdb = budgets[0]!;
  const pdbName = String(pdb.metadata.name);
  const ready = isReady(pod);
  const policy = pdb.spec?.unhealthyPodEvictionPolicy;
  // An unready Pod that goes without taking from the budget goes only as it was seen: not ready.
  let unhealthyGoes = !ready && policy === 'AlwaysAllow';
  for (let attempt = 0; !unhealthyGoes; attempt++) {
    const st = pdb.status ?? {};
    if (!ready && (policy === undefined || policy === 'IfHealthyBudget') && (st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) {
      unhealthyGoes = true;
      break;
    }
    try {
      await checkAndDecrement(svc, pdbType, pdb, name, !!options.dryRun);
      break;
    } catch (e) {
      if (codeOf(e) !== 409 || attempt >= CONFLICT_RETRIES - 1) throw e;
      pdb = (await svc.get(pdbType, ns, pdbName)).obj as PodDisruptionBudget;
    }
  }
  const deleteOptions = unhealthyGoes ? { ...options, preconditions: { ...options.preconditions, resourceVersion: pod.metadata.resourceVersion } } : options;
  try {
    await markAndDelete(svc, podType, ns, name, deleteOptions);
  } catch (e) {
    // The Pod changed since it was judged unready: the client should look again.
    if (codeOf(e) === 409 && unhealthyGoes && !options.preconditions?.resourceVersion) throw stillProcessing(pdbName);
    throw e;
  }
  return { ok: true };
}

/** Take one allowed disruption from the budget and record the Pod in disruptedPods (checkAndDecrement); 409 when the budget changed meanwhile. */
async function checkAndDecrement(svc: ResourceService, pdbType: ResourceType, pdb: PodDisruptionBudget, podName: string, dryRun: boolean): Promise<void> {
  const name = String(pdb.metadata.name);
  const st = pdb.status ?? {};
  const allowed = st.disruptionsAllowed ?? 0;
  if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) throw stillProcessing(name);
  const refused = (why: string): ApiError => forbidden(`${qualifiedResource({ plural: 'poddisruptionbudget', group: 'policy' })} "${name}" is forbidden: ${why}`);
  if (allowed < 0) throw refused('pdb disruptions allowed is negative');
  if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) throw refused('DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  if (allowed === 0) throw tooManyRequests(`The disruption budget ${name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
  const status: PodDisruptionBudgetStatus = { ...st, disruptionsAllowed: allowed - 1 };
  if (status.disruptionsAllowed === 0) status.conditions = allowedCondition(status, rfc3339());
  if (dryRun) return;
  status.disruptedPods = { ...(st.disruptedPods ?? {}), [podName]: rfc3339() };
  // Pinned to the version read (its resourceVersion is in pdb): a concurrent eviction or controller write is a 409.
  await svc.update(pdbType, pdb.metadata.namespace, name, { ...pdb, status }, serverWrite(false), 'status');
}

/** Mark the Pod DisruptionTarget (unless dry-run), then delete it with `options` (addConditionAndDeletePod). */
async function markAndDelete(svc: ResourceService, podType: ResourceType, ns: string | undefined, name: string, options: DeleteOptions): Promise<void> {
  let opts = options;
  if (!options.dryRun) {
    for (let attempt = 0; ; attempt++) {
      const current = (await svc.get(podType, ns, name)).obj as Pod;
      const pre = options.preconditions;
      checkPreconditions(podType, name, pre, current.metadata);
      const conditions: Condition[] = current.status?.conditions ?? [];
      const old = conditions.find((c) => c.type === DISRUPTION_TARGET);
      const condition: Condition = {
        type: DISRUPTION_TARGET,
        status: 'True',
        lastTransitionTime: old?.status === 'True' && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(),
        reason: 'EvictionByEvictionAPI',
        message: 'Eviction API: evicting',
      };
      try {
        const { stored } = await svc.update(
          podType,
          ns,
          name,
          { ...current, status: { ...current.status, conditions: [...conditions.filter((c) => c.type !== DISRUPTION_TARGET), condition] } },
          serverWrite(false),
          'status',
        );
        // This write moved the Pod's resourceVersion: a precondition on it is now on the marked Pod.
        if (pre?.resourceVersion) opts = { ...options, preconditions: { ...pre, resourceVersion: stored.obj.metadata.resourceVersion } };
        break;
      } catch (e) {
        if (codeOf(e) !== 409 || attempt >= CONFLICT_RETRIES - 1) throw e;
      }
    }
  }
  await svc.delete(podType, ns, name, opts);
}
