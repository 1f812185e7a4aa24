// topologySpreadConstraints: keep the count of matching Pods per topology
// domain (the values of a node label) within maxSkew of the emptiest domain.
// DoNotSchedule constraints filter, ScheduleAnyway ones score (fewer matching
// Pods in the domain is better). Domains are the values the label takes on
// the nodes the Pod could go to by its nodeSelector and required node
// affinity (nodeAffinityPolicy Honor, the default); counts come from one
// pass over the placed workloads per decision, and only for Pods that have
// constraints.
import { selectorMatches } from '../../apis/core/v1/label-selector.js';
import type { TopologySpreadConstraint } from '../affinity-types.js';
import type { CycleState, FilterPlugin, ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { requiredNodeSelectionMatches } from '../node-selector.js';
import type { Workload } from '../workload.js';

interface Counted {
  c: TopologySpreadConstraint;
  key: string;
  maxSkew: number;
  /** Matching Pods per domain (domains with none included, at 0). */
  counts: Map<string, number>;
  min: number;
  /** Does the Pod being placed count itself (it matches its own selector)? */
  self: number;
}

const STATE = 'PodTopologySpread';

/** The constraint's selector, with matchLabelKeys taken from the Pod's own labels. */
function selects(c: TopologySpreadConstraint, w: Workload, other: Workload): boolean {
  if (other.namespace !== w.namespace || !c.labelSelector) return false;
  if (!selectorMatches(c.labelSelector, other.labels)) return false;
  return (c.matchLabelKeys ?? []).every((k) => w.labels[k] === undefined || other.labels[k] === w.labels[k]);
}

function prepare(state: CycleState): void {
  const w = state.workload;
  if (!w.spread.length) return;
  const terms = w.affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const eligible = (n: NodeInfo, c: TopologySpreadConstraint): boolean => c.nodeAffinityPolicy === 'Ignore' || requiredNodeSelectionMatches(w.nodeSelector, terms, n.labels, n.name);
  const counted: Counted[] = w.spread.map((c) => {
    const key = c.topologyKey ?? '';
    const counts = new Map<string, number>();
    for (const n of state.cache.nodes.values()) {
      const v = n.labels[key];
      if (v !== undefined && eligible(n, c)) counts.set(v, 0);
    }
    for (const { node, workload } of state.cache.placements()) {
      const v = node.labels[key];
      if (v === undefined || !counts.has(v) || workload.uid === w.uid) continue;
      if (selects(c, w, workload)) counts.set(v, counts.get(v)! + 1);
    }
    let min = counts.size ? Math.min(...counts.values()) : 0;
    // Fewer eligible domains than minDomains: the missing ones count as empty.
    if (c.minDomains && counts.size < c.minDomains) min = 0;
    return { c, key, maxSkew: Math.max(1, c.maxSkew ?? 1), counts, min, self: selects(c, w, w) ? 1 : 0 };
  });
  state.set(STATE, counted);
}

export const topologySpreadFilter: FilterPlugin = {
  name: 'PodTopologySpread',
  prepare,
  filter(state, node) {
    const counted = state.get<Counted[]>(STATE);
    if (!counted) return undefined;
    for (const t of counted) {
      if (t.c.whenUnsatisfiable === 'ScheduleAnyway') continue;
      const v = node.labels[t.key];
      if (v === undefined) return ["node(s) didn't match pod topology spread constraints (missing required label)"];
      if ((t.counts.get(v) ?? 0) + t.self - t.min > t.maxSkew) return ["node(s) didn't match pod topology spread constraints"];
    }
    return undefined;
  },
};

export const topologySpreadScore: ScorePlugin = {
  name: 'PodTopologySpreadConstraints',
  weight: 2,
  normalize: 'reverse',
  skip: (state) => !state.workload.spread.some((c) => c.whenUnsatisfiable === 'ScheduleAnyway'),
  score(state, node) {
    let sum = 0;
    for (const t of state.get<Counted[]>(STATE) ?? []) {
      if (t.c.whenUnsatisfiable !== 'ScheduleAnyway') continue;
      const v = node.labels[t.key];
      // A node outside every domain is the worst place for spreading.
      sum += v === undefined ? Math.max(0, ...t.counts.values()) + 1 : (t.counts.get(v) ?? 0);
    }
    return sum;
  },
};
