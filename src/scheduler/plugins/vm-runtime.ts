// Virtual machines need a node whose agent runs QEMU (its Node label
// lodge.dev/accelerator is kvm or tcg), and prefer one with KVM: TCG boots
// and runs guests many times slower.
import type { FilterPlugin, ScorePlugin } from '../framework.js';

const ACCELERATOR = 'lodge.dev/accelerator';

export const vmRuntimeFilter: FilterPlugin = {
  name: 'VMRuntime',
  filter(state, node) {
    if (!state.workload.vm) return undefined;
    const a = node.labels[ACCELERATOR];
    return a === 'kvm' || a === 'tcg' ? undefined : ['node(s) cannot run virtual machines (no QEMU)'];
  },
};

export const vmAcceleratorScore: ScorePlugin = {
  name: 'VMAccelerator',
  skip: (state) => !state.workload.vm,
  weight: 2,
  score: (state, node) => (state.workload.vm && node.labels[ACCELERATOR] === 'kvm' ? 100 : 0),
};
