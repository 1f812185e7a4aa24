// Node selection as core/v1 defines it, shared by the scheduler and the
// DaemonSet controller (which must agree on where a daemon Pod may run): a
// Pod's nodeSelector and required node affinity terms (ORed terms, ANDed
// requirements; matchFields knows metadata.name), against a node's labels
// and name.
import type { NodeSelectorRequirement, NodeSelectorTerm } from './affinity-types.js';

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
      const have = Number(value);
      const want = Number(values[0]);
      if (value === undefined || values.length !== 1 || !Number.isInteger(have) || !Number.isInteger(want)) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** All requirements of the term hold; a term with none matches no node (Kubernetes' rule). */
export function termMatches(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  for (const r of exprs) if (!requirementMatches(r, r.key !== undefined && Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) return false;
  for (const r of fields) if (r.key !== 'metadata.name' || !requirementMatches(r, nodeName)) return false;
  return true;
}

/** nodeSelector, then the required terms of node affinity (any one of them). */
export function requiredNodeSelectionMatches(
  nodeSelector: Record<string, string> | undefined,
  requiredTerms: NodeSelectorTerm[] | undefined,
  labels: Record<string, string>,
  nodeName: string,
): boolean {
  for (const [k, v] of Object.entries(nodeSelector ?? {})) if (labels[k] !== v) return false;
  return requiredTerms === undefined || requiredTerms.some((t) => termMatches(t, labels, nodeName));
}
