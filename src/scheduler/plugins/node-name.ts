// An Instance may name its node (spec.nodeName): only that node is feasible,
// and it still has to fit.
import type { FilterPlugin } from '../framework.js';

export const nodeName: FilterPlugin = {
  name: 'NodeName',
  filter: (state, node) => (state.workload.nodeName && state.workload.nodeName !== node.name ? ["node(s) didn't match the requested node name"] : undefined),
};
