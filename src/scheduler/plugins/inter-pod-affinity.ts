// Pod affinity and anti-affinity with topology keys: "with (or away from)
// workloads matching this selector, in the same hostname / zone / any label
// domain". Required terms filter — including existing workloads' required
// anti-affinity against the newcomer, since the rule is symmetric — and
// preferred terms score. The domains that hold matching workloads are found
// once per cycle, so each node costs a set lookup.
import { selectorMatches } from '../../apis/core/v1/label-selector.js';
import type { SchedulerCache } from '../cache.js';
import type { CycleState, FilterPlugin, ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodAffinityTerm } from '../affinity-types.js';
import type { Workload } from '../workload.js';

/** Does `other` fall under `term`, written by `owner` (whose namespace is the default)? */
function termSelects(term: PodAffinityTerm, owner: Workload, other: Workload, cache: SchedulerCache): boolean {
  const namespaces = term.namespaces ?? [];
  const nsSel = term.namespaceSelector;
  let inScope: boolean;
  if (!namespaces.length && !nsSel) inScope = other.namespace === owner.namespace;
  else inScope = namespaces.includes(other.namespace) || (nsSel !== undefined && selectorMatches(nsSel, cache.namespaceLabels.get(other.namespace)));
  // A term without a label selector selects nothing.
  return inScope && term.labelSelector !== undefined && selectorMatches(term.labelSelector, other.labels);
}

/** Topology values (node label values under the term's key) where a workload the term selects runs. */
function domainsWith(term: PodAffinityTerm, w: Workload, cache: SchedulerCache): Set<string> {
  const out = new Set<string>();
  const key = term.topologyKey ?? '';
  for (const { node, workload } of cache.placements()) {
    if (workload.uid === w.uid) continue;
    const v = node.labels[key];
    if (v !== undefined && termSelects(term, w, workload, cache)) out.add(v);
  }
  return out;
}

interface Required {
  affinity: Array<{ key: string; domains: Set<string>; selfMatch: boolean }>;
  anti: Array<{ key: string; domains: Set<string> }>;
  /** From existing workloads' anti-affinity: topology key → values the newcomer may not join. */
  existingAnti: Map<string, Set<string>>;
}

const REQUIRED = 'InterPodAffinity/required';

function prepareRequired(state: CycleState): void {
  const w = state.workload;
  const cache = state.cache;
  const r: Required = { affinity: [], anti: [], existingAnti: new Map() };
  for (const term of w.affinity.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
    r.affinity.push({ key: term.topologyKey ?? '', domains: domainsWith(term, w, cache), selfMatch: termSelects(term, w, w, cache) });
  for (const term of w.affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
    r.anti.push({ key: term.topologyKey ?? '', domains: domainsWith(term, w, cache) });
  for (const { workload: other, node } of cache.antiAffinity.values()) {
    const info = cache.nodes.get(node);
    if (!info || other.uid === w.uid) continue;
    for (const term of other.affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const key = term.topologyKey ?? '';
      const v = info.labels[key];
      if (v === undefined || !termSelects(term, other, w, cache)) continue;
      let set = r.existingAnti.get(key);
      if (!set) r.existingAnti.set(key, (set = new Set()));
      set.add(v);
    }
  }
  state.set(REQUIRED, r);
}

export const interPodAffinityFilter: FilterPlugin = {
  name: 'InterPodAffinity',
  prepare: prepareRequired,
  filter(state, node) {
    const r = state.get<Required>(REQUIRED)!;
    // kube-scheduler's order: the newcomer's affinity, its anti-affinity, then the existing workloads' anti-affinity.
    // The first replica of a self-affine group may go anywhere that has the key: nothing matches yet anywhere.
    const noneAnywhere = r.affinity.every((a) => a.domains.size === 0 && a.selfMatch);
    for (const a of r.affinity) {
      const v = node.labels[a.key];
      if (v === undefined) return ["node(s) didn't match pod affinity rules"];
      if (!a.domains.has(v) && !noneAnywhere) return ["node(s) didn't match pod affinity rules"];
    }
    for (const a of r.anti) {
      const v = node.labels[a.key];
      if (v !== undefined && a.domains.has(v)) return ["node(s) didn't match pod anti-affinity rules"];
    }
    for (const [key, values] of r.existingAnti) {
      const v = node.labels[key];
      if (v !== undefined && values.has(v)) return ["node(s) didn't satisfy existing pods anti-affinity rules"];
    }
    return undefined;
  },
};

const PREFERRED = 'InterPodAffinity/preferred';

export const interPodAffinityScore: ScorePlugin = {
  name: 'InterPodAffinity',
  skip: (state) => !state.workload.affinity.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length && !state.workload.affinity.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length,
  weight: 2,
  prepare(state: CycleState, feasible: NodeInfo[]) {
    const w = state.workload;
    const terms = [
      ...(w.affinity.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({ t, sign: 1 })),
      ...(w.affinity.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({ t, sign: -1 })),
    ].filter((x) => x.t.podAffinityTerm && x.t.weight);
    const raw = new Map<string, number>();
    if (terms.length) {
      const perTerm = terms.map(({ t, sign }) => ({ key: t.podAffinityTerm!.topologyKey ?? '', domains: domainsWith(t.podAffinityTerm!, w, state.cache), value: sign * (t.weight ?? 0) }));
      for (const n of feasible) {
        let s = 0;
        for (const p of perTerm) {
          const v = n.labels[p.key];
          if (v !== undefined && p.domains.has(v)) s += p.value;
        }
        raw.set(n.name, s);
      }
    }
    // Scaled to 0..100 between the lowest and highest node (scores may be negative).
    let min = Infinity;
    let max = -Infinity;
    for (const s of raw.values()) {
      min = Math.min(min, s);
      max = Math.max(max, s);
    }
    const scaled = new Map<string, number>();
    for (const [n, s] of raw) scaled.set(n, max > min ? ((s - min) * 100) / (max - min) : 0);
    state.set(PREFERRED, scaled);
  },
  score: (state, node) => state.get<Map<string, number>>(PREFERRED)?.get(node.name) ?? 0,
};
