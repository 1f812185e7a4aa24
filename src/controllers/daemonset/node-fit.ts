// Whether a node should run a DaemonSet's Pod: the scheduler's node name,
// node affinity (nodeSelector and required terms) and taint checks, applied
// to the Pod the controller would make for that node (Kubernetes'
// NodeShouldRunDaemonPod). A node that merely gained a NoSchedule taint keeps
// the Pod it already runs; only an untolerated NoExecute taint evicts it.
import type { KubeObject } from '../../apis/types.js';
import type { NodeSpec, NodeStatus, PodSpec } from '../../apis/core/v1/types.js';
import type { NodeSelectorTerm } from '../../scheduler/affinity-types.js';
import { requiredNodeSelectionMatches } from '../../scheduler/node-selector.js';
import { firstUntolerated } from '../../scheduler/tolerations.js';

export type Node = KubeObject & { spec?: NodeSpec; status?: NodeStatus };
export type { NodeSelectorTerm };
export type NodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] }; [k: string]: unknown };

export interface NodeFit {
  /** A daemon Pod should be created on the node. */
  shouldRun: boolean;
  /** A daemon Pod already there may stay. */
  shouldContinueRunning: boolean;
}

/** nodeSelector and the required node affinity terms (ORed) of a Pod spec, as the scheduler reads them. */
function requiredAffinityMatches(spec: PodSpec, node: Node): boolean {
  const required = (spec.affinity?.nodeAffinity as NodeAffinity | undefined)?.requiredDuringSchedulingIgnoredDuringExecution;
  return requiredNodeSelectionMatches(spec.nodeSelector, required ? (required.nodeSelectorTerms ?? []) : undefined, node.metadata.labels ?? {}, String(node.metadata.name));
}

/** `spec` is the daemon Pod's spec as it would be created (its daemon tolerations included). */
export function nodeFit(spec: PodSpec, node: Node): NodeFit {
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return no;
  if (!requiredAffinityMatches(spec, node)) return no;
  const taints = node.spec?.taints ?? [];
  const tolerations = spec.tolerations ?? [];
  if (!firstUntolerated(taints, tolerations, ['NoSchedule', 'NoExecute'])) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: !firstUntolerated(taints, tolerations, ['NoExecute']) };
}
