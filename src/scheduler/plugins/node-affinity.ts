// nodeSelector and node affinity: the required terms filter (ORed terms,
// ANDed requirements; matchFields on metadata.name, as DaemonSet Pods use),
// the preferred terms score by the weights they carry.
import type { FilterPlugin, ScorePlugin } from '../framework.js';
import { requiredNodeSelectionMatches, termMatches } from '../node-selector.js';

const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"];

export const nodeAffinityFilter: FilterPlugin = {
  name: 'NodeAffinity',
  filter(state, node) {
    const w = state.workload;
    const terms = w.affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    return requiredNodeSelectionMatches(w.nodeSelector, terms, node.labels, node.name) ? undefined : MISMATCH;
  },
};

export const nodeAffinityScore: ScorePlugin = {
  name: 'NodeAffinity',
  skip: (state) => !state.workload.affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length,
  weight: 2,
  normalize: 'max',
  score(state, node) {
    let sum = 0;
    for (const p of state.workload.affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
      if (p.weight && p.preference && termMatches(p.preference, node.labels, node.name)) sum += p.weight;
    return sum;
  },
};
