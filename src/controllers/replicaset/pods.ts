// What a ReplicaSet (and a Deployment through it) needs to know about a Pod:
// whether it counts, is ready, is available, and which to delete first.
import type { OwnerReference } from '../../apis/types.js';
import type { Pod } from '../../apis/core/v1/types.js';

/** Counts toward replicas: neither finished nor being deleted (Kubernetes' IsPodActive). */
export function isActive(p: Pod): boolean {
  return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata.deletionTimestamp;
}

function readyCondition(p: Pod): { status?: string; lastTransitionTime?: string } | undefined {
  return p.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isReady(p: Pod): boolean {
  return readyCondition(p)?.status === 'True';
}

/**
 * Ready for at least minReadySeconds. Returns also when it will become
 * available, so the controller can look again then (a Pod turning available
 * is no event).
 */
export function availability(p: Pod, minReadySeconds: number, now: number): { available: boolean; at?: number } {
  const c = readyCondition(p);
  if (c?.status !== 'True') return { available: false };
  if (minReadySeconds <= 0) return { available: true };
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (Number.isNaN(since)) return { available: false };
  const at = since + minReadySeconds * 1000;
  return at <= now ? { available: true } : { available: false, at };
}

export function controllerOf(obj: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

function readySince(p: Pod): number {
  const t = readyCondition(p)?.lastTransitionTime;
  return t ? Date.parse(t) : 0;
}

function restarts(p: Pod): number {
  return (p.status?.containerStatuses ?? []).reduce((n, s) => Math.max(n, s.restartCount ?? 0), 0);
}

/**
 * Kubernetes' ActivePods order, least useful first: unscheduled before
 * scheduled, Pending before Unknown before Running, not ready before ready,
 * lower deletion cost first, ready for less time first, more restarts first,
 * newer first. Deleting from the front loses the least work.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const sched = Number(Boolean(a.spec?.nodeName)) - Number(Boolean(b.spec?.nodeName));
  if (sched) return sched;
  const phase = (PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0) - (PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0);
  if (phase) return phase;
  const ready = Number(isReady(a)) - Number(isReady(b));
  if (ready) return ready;
  const cost = Number(a.metadata.annotations?.[DELETION_COST] ?? 0) - Number(b.metadata.annotations?.[DELETION_COST] ?? 0);
  if (cost) return cost;
  if (isReady(a) && isReady(b)) {
    const since = readySince(b) - readySince(a);
    if (since) return since;
  }
  const r = restarts(b) - restarts(a);
  if (r) return r;
  return Date.parse(String(b.metadata.creationTimestamp ?? 0)) - Date.parse(String(a.metadata.creationTimestamp ?? 0));
}
