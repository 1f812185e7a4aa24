// Taints: a NoSchedule or NoExecute taint the workload does not tolerate
// rules the node out; PreferNoSchedule taints it does not tolerate make the
// node less attractive.
import type { FilterPlugin, ScorePlugin } from '../framework.js';
import { firstUntolerated, toleratedBy } from '../tolerations.js';

export const taintTolerationFilter: FilterPlugin = {
  name: 'TaintToleration',
  filter(state, node) {
    const t = firstUntolerated(node.taints, state.workload.tolerations, ['NoSchedule', 'NoExecute']);
    return t ? [`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`] : undefined;
  },
};

export const taintTolerationScore: ScorePlugin = {
  name: 'TaintToleration',
  weight: 3,
  normalize: 'reverse',
  score: (state, node) => node.taints.filter((t) => t.effect === 'PreferNoSchedule' && !toleratedBy(state.workload.tolerations, t)).length,
};
