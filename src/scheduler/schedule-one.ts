// One decision: filter the nodes — walking them from a rotating start and
// stopping once enough feasible ones are found, as kube-scheduler does on
// large clusters — then score the feasible ones and take the best (ties
// broken at random, so equal nodes share the load).
import type { SchedulerCache } from './cache.js';
import { CycleState, normalizeScores } from './framework.js';
import type { NodeInfo } from './node-info.js';
import type { Profile } from './profile.js';
import type { Workload } from './workload.js';

export interface Decision {
  node?: string;
  /** Nodes looked at (the next decision starts after them). */
  evaluated: number;
  feasible: number;
  totalNodes: number;
  /** Why nodes were ruled out: reason → how many nodes gave it. */
  reasons: Map<string, number>;
}

/** kube-scheduler's adaptive share of nodes to find feasible before it stops looking: all below 100 nodes, then 50% falling to 5%. */
export function feasibleNodesToFind(total: number): number {
  if (total < 100) return total;
  const pct = Math.max(5, 50 - total / 125);
  return Math.max(100, Math.floor((total * pct) / 100));
}

export function scheduleOne(w: Workload, cache: SchedulerCache, profile: Profile, start: number): Decision {
  const names = cache.nodeNames();
  const total = names.length;
  const reasons = new Map<string, number>();
  const state = new CycleState(w, cache);
  for (const f of profile.filters) f.prepare?.(state);
  const want = feasibleNodesToFind(total);
  const feasible: NodeInfo[] = [];
  let evaluated = 0;
  for (let i = 0; i < total && feasible.length < want; i++) {
    const node = cache.nodes.get(names[(start + i) % total])!;
    evaluated++;
    let failed: string[] | undefined;
    for (const f of profile.filters) {
      failed = f.filter(state, node);
      if (failed) break;
    }
    if (!failed) feasible.push(node);
    else for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  if (!feasible.length) return { evaluated, feasible: 0, totalNodes: total, reasons };
  if (feasible.length === 1) return { node: feasible[0].name, evaluated, feasible: 1, totalNodes: total, reasons };

  const totals = new Array<number>(feasible.length).fill(0);
  for (const p of profile.scores) {
    if (p.skip?.(state)) continue;
    p.prepare?.(state, feasible);
    let raw = feasible.map((n) => p.score(state, n));
    if (p.normalize) raw = normalizeScores(raw, p.normalize);
    for (let i = 0; i < raw.length; i++) totals[i] += raw[i] * p.weight;
  }
  let best = -Infinity;
  let chosen = 0;
  let ties = 0;
  for (let i = 0; i < totals.length; i++) {
    if (totals[i] > best + 1e-9) {
      best = totals[i];
      chosen = i;
      ties = 1;
    } else if (Math.abs(totals[i] - best) <= 1e-9 && Math.random() * ++ties < 1) chosen = i;
  }
  return { node: feasible[chosen].name, evaluated, feasible: feasible.length, totalNodes: total, reasons };
}
