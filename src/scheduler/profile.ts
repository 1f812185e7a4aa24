// The default profile: which filters run, in kube-scheduler's order (cheap
// and decisive first), and which scores with what weight.
import type { FilterPlugin, ScorePlugin } from './framework.js';
import { imageLocality } from './plugins/image-locality.js';
import { interPodAffinityFilter, interPodAffinityScore } from './plugins/inter-pod-affinity.js';
import { nodeAffinityFilter, nodeAffinityScore } from './plugins/node-affinity.js';
import { nodeName } from './plugins/node-name.js';
import { nodePorts } from './plugins/node-ports.js';
import { balancedAllocation, leastAllocated, nodeResourcesFit } from './plugins/node-resources.js';
import { nodeUnschedulable } from './plugins/node-unschedulable.js';
import { ownerSpread } from './plugins/spread.js';
import { taintTolerationFilter, taintTolerationScore } from './plugins/taint-toleration.js';
import { topologySpreadFilter, topologySpreadScore } from './plugins/topology-spread.js';
import { vmAcceleratorScore, vmRuntimeFilter } from './plugins/vm-runtime.js';

export interface Profile {
  filters: FilterPlugin[];
  scores: ScorePlugin[];
}

export const defaultProfile: Profile = {
  filters: [nodeUnschedulable, nodeName, taintTolerationFilter, nodeAffinityFilter, vmRuntimeFilter, nodePorts, nodeResourcesFit, topologySpreadFilter, interPodAffinityFilter],
  scores: [leastAllocated, balancedAllocation, taintTolerationScore, nodeAffinityScore, interPodAffinityScore, topologySpreadScore, ownerSpread, imageLocality, vmAcceleratorScore],
};
