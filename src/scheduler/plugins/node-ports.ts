// Host ports: a node where the same protocol/port is already taken on the
// same address (or on 0.0.0.0, or the workload wants 0.0.0.0) is out.
import type { FilterPlugin } from '../framework.js';

export const nodePorts: FilterPlugin = {
  name: 'NodePorts',
  filter(state, node) {
    for (const p of state.workload.hostPorts) {
      const ips = node.usedPorts.get(`${p.protocol}/${p.port}`);
      if (ips && (ips.has('0.0.0.0') || p.hostIP === '0.0.0.0' || ips.has(p.hostIP))) return ["node(s) didn't have free ports for the requested pod ports"];
    }
    return undefined;
  },
};
