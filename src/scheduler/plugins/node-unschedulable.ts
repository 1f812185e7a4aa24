// A cordoned node (spec.unschedulable) takes only workloads that tolerate
// node.kubernetes.io/unschedulable:NoSchedule (DaemonSet Pods do).
import type { FilterPlugin } from '../framework.js';
import { toleratedBy } from '../tolerations.js';

const TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter: (state, node) => (node.unschedulable && !toleratedBy(state.workload.tolerations, TAINT) ? ['node(s) were unschedulable'] : undefined),
};
