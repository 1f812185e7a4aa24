// Requests against allocatable: the fit filter (Insufficient cpu, memory,
// Too many pods), and two scores — least allocated (prefer the emptier node)
// and balanced allocation (prefer a node whose cpu and memory stay equally
// used) — computed with the scheduler's non-zero defaults for unset requests.
import type { FilterPlugin, ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { Workload } from '../workload.js';

export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter(state, node) {
    const r = state.workload.requests;
    let out: string[] | undefined;
    if (node.requested.pods + 1 > node.allocatable.pods) (out ??= []).push('Too many pods');
    if (r.cpu > 0 && node.requested.cpu + r.cpu > node.allocatable.cpu) (out ??= []).push('Insufficient cpu');
    if (r.memory > 0 && node.requested.memory + r.memory > node.allocatable.memory) (out ??= []).push('Insufficient memory');
    return out;
  },
};

/** Fractions of cpu and memory the node would have in use with the workload on it. */
function fractions(w: Workload, node: NodeInfo): [number, number] {
  const cpu = node.allocatable.cpu > 0 ? (node.scoringRequested.cpu + w.scoringRequests.cpu) / node.allocatable.cpu : 1;
  const mem = node.allocatable.memory > 0 ? (node.scoringRequested.memory + w.scoringRequests.memory) / node.allocatable.memory : 1;
  return [Math.min(cpu, 1), Math.min(mem, 1)];
}

export const leastAllocated: ScorePlugin = {
  name: 'NodeResourcesLeastAllocated',
  weight: 1,
  score(state, node) {
    const [cpu, mem] = fractions(state.workload, node);
    return ((1 - cpu + (1 - mem)) / 2) * 100;
  },
};

export const balancedAllocation: ScorePlugin = {
  name: 'NodeResourcesBalancedAllocation',
  weight: 1,
  score(state, node) {
    const [cpu, mem] = fractions(state.workload, node);
    // The standard deviation of two fractions is half their difference.
    return (1 - Math.abs(cpu - mem) / 2) * 100;
  },
};
