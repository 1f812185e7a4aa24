// Whether a node should run a DaemonSet's Pod: the scheduler's node name,
// node affinity (nodeSelector and required terms) and taint checks, applied
// to the Pod the controller would make for that node (Kubernetes'
// NodeShouldRunDaemonPod). A node that merely gained a NoSchedule taint keeps
// the Pod it already runs; only an untolerated NoExecute taint evicts it.
import type { KubeObject } from '../../apis/types.js';
import type { NodeSpec, NodeStatus, PodSpec, Taint, Toleration } from '../../apis/core/v1/types.js';

export type Node = KubeObject & { spec?: NodeSpec; status?: NodeStatus };

export type NodeSelectorRequirement = { key?: string; operator?: string; values?: string[] };
export type NodeSelectorTerm = { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] };
export type NodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] }; [k: string]: unknown };

export interface NodeFit {
  /** A daemon Pod should be created on the node. */
  shouldRun: boolean;
  /** A daemon Pod already there may stay. */
  shouldContinueRunning: boolean;
}

/** Kubernetes' ToleratesTaint: an empty key with Exists tolerates every taint; an empty effect every effect. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.operator || t.operator === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

function hasUntoleratedTaint(taints: Taint[], tolerations: Toleration[], effects: string[]): boolean {
  return taints.some((taint) => effects.includes(taint.effect ?? '') && !tolerations.some((t) => tolerates(t, taint)));
}

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

/** A term matches when all its requirements do; an empty term matches no node. matchFields knows only metadata.name. */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata.labels ?? {};
  return (
    exprs.every((r) => requirementMatches(r, Object.hasOwn(labels, r.key ?? '') ? labels[r.key ?? ''] : undefined)) &&
    fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata.name))
  );
}

/** nodeSelector and the required node affinity terms (ORed) of a Pod spec. */
export function requiredAffinityMatches(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = (spec.affinity?.nodeAffinity as NodeAffinity | undefined)?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
}

/** `spec` is the daemon Pod's spec as it would be created (its daemon tolerations included). */
export function nodeFit(spec: PodSpec, node: Node): NodeFit {
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return no;
  if (!requiredAffinityMatches(spec, node)) return no;
  const taints = node.spec?.taints ?? [];
  const tolerations = spec.tolerations ?? [];
  if (!hasUntoleratedTaint(taints, tolerations, ['NoSchedule', 'NoExecute'])) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: !hasUntoleratedTaint(taints, tolerations, ['NoExecute']) };
}
