// The arithmetic of a rolling update, as Kubernetes' deployment controller
// does it: how far above the desired count Pods may go (maxSurge, rounded
// up) and how far below it availability may fall (maxUnavailable, rounded
// down), then how much to grow the new ReplicaSet and shrink the old ones
// within those bounds. Sizes are ReplicaSets' spec.replicas; availability is
// their status.
import type { Workload } from '../../apis/apps/v1/workload.js';
import type { DeploymentObject } from './types.js';

type IntOrString = number | string | undefined;

export function scaled(v: IntOrString, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export const isRolling = (d: DeploymentObject): boolean => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
export const desired = (d: DeploymentObject): number => d.spec?.replicas ?? 1;

/** maxSurge and maxUnavailable as counts; both zero would stall, so unavailability is then 1 (Kubernetes' ResolveFenceposts). */
export function fenceposts(d: DeploymentObject): { surge: number; unavailable: number } {
  if (!isRolling(d)) return { surge: 0, unavailable: 0 };
  const ru = d.spec?.strategy?.rollingUpdate;
  const n = desired(d);
  const surge = scaled(ru?.maxSurge ?? '25%', n, true);
  let unavailable = scaled(ru?.maxUnavailable ?? '25%', n, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, n) };
}

export const specReplicas = (rs: Workload | undefined): number => rs?.spec?.replicas ?? 0;
export const sumSpec = (list: Workload[]): number => list.reduce((n, rs) => n + specReplicas(rs), 0);
/**
 * Pods a set may still have: its size, or more while a scale-down has not
 * happened yet (its status still counts them — e.g. its controller was down).
 * Growing the new set into room those Pods still take would break maxSurge.
 */
const podsOf = (rs: Workload): number => Math.max(specReplicas(rs), rs.status?.replicas ?? 0);
const sumPods = (list: Workload[]): number => list.reduce((n, rs) => n + podsOf(rs), 0);
/**
 * Available Pods a set can be counted on for: its status, but never more
 * than its size. A set just scaled down still reports the Pods it is
 * deleting; counting them would let the next step take availability below
 * the bound.
 */
export const availableOf = (rs: Workload): number => Math.min(rs.status?.availableReplicas ?? 0, specReplicas(rs));
export const sumAvailable = (list: Workload[]): number => list.reduce((n, rs) => n + availableOf(rs), 0);

/** The new ReplicaSet's size this step: grow only into the room maxSurge leaves (Kubernetes' NewRSNewReplicas). */
export function newReplicaSetSize(d: DeploymentObject, all: Workload[], newRS: Workload | undefined): number {
  if (!isRolling(d)) return desired(d);
  const current = specReplicas(newRS);
  if (current >= desired(d)) return desired(d);
  const room = desired(d) + fenceposts(d).surge - sumPods(all);
  if (room <= 0) return current;
  return current + Math.min(room, desired(d) - current);
}

/**
 * How many Pods the old ReplicaSets may lose this step without availability
 * falling below desired - maxUnavailable, and which: first old Pods that are
 * not available anyway (losing them costs nothing), then available ones,
 * oldest ReplicaSet first. Returns the new sizes of the old ReplicaSets that change.
 */
export function oldReplicaSetSizes(d: DeploymentObject, all: Workload[], newRS: Workload | undefined, old: Workload[]): Map<Workload, number> {
  const out = new Map<Workload, number>();
  if (sumSpec(old) === 0) return out;
  const minAvailable = desired(d) - fenceposts(d).unavailable;
  const newUnavailable = newRS ? specReplicas(newRS) - availableOf(newRS) : 0;
  let budget = sumSpec(all) - minAvailable - Math.max(0, newUnavailable);
  if (budget <= 0) return out;
  const oldestFirst = [...old].sort(byCreation);
  // Unhealthy first: an old Pod that is not available counts against no one.
  for (const rs of oldestFirst) {
    if (budget <= 0) break;
    const size = specReplicas(rs);
    const unhealthy = size - availableOf(rs);
    if (unhealthy <= 0) continue;
    const cut = Math.min(budget, unhealthy);
    out.set(rs, size - cut);
    budget -= cut;
  }
  // Then available ones, as far as the Pods available across all sets allow.
  const availableNow = sumAvailable(all);
  let room = availableNow - minAvailable;
  for (const rs of oldestFirst) {
    if (room <= 0) break;
    const size = out.get(rs) ?? specReplicas(rs);
    if (size === 0) continue;
    const cut = Math.min(size, room);
    out.set(rs, size - cut);
    room -= cut;
  }
  return out;
}

export function byCreation(a: Workload, b: Workload): number {
  const t = Date.parse(String(a.metadata.creationTimestamp ?? 0)) - Date.parse(String(b.metadata.creationTimestamp ?? 0));
  return t || String(a.metadata.name).localeCompare(String(b.metadata.name));
}
