// nodeSelector and node affinity: the required terms filter (ORed terms,
// ANDed requirements; matchFields on metadata.name, as DaemonSet Pods use),
// the preferred terms score by the weights they carry.
import type { FilterPlugin, ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { NodeSelectorRequirement, NodeSelectorTerm } from '../affinity-types.js';

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const v = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isInteger(v) || !Number.isInteger(bound)) return false;
      return r.operator === 'Gt' ? v > bound : v < bound;
    }
    default:
      return false;
  }
}

/** A term with no requirement at all matches nothing (Kubernetes' rule). */
export function termMatches(term: NodeSelectorTerm, node: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  for (const r of exprs) if (!requirementMatches(r, r.key !== undefined && Object.hasOwn(node.labels, r.key) ? node.labels[r.key] : undefined)) return false;
  for (const r of fields) if (!requirementMatches(r, r.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"];

export const nodeAffinityFilter: FilterPlugin = {
  name: 'NodeAffinity',
  filter(state, node) {
    const w = state.workload;
    for (const [k, v] of Object.entries(w.nodeSelector)) if (node.labels[k] !== v) return MISMATCH;
    const terms = w.affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    if (terms && !terms.some((t) => termMatches(t, node))) return MISMATCH;
    return undefined;
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
      if (p.weight && p.preference && termMatches(p.preference, node)) sum += p.weight;
    return sum;
  },
};
