// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated
// taint {node.kubernetes.io/unreachable: }." — kube-scheduler's message for a
// workload that fits nowhere: each reason with the number of nodes that gave
// it, sorted.
export function fitErrorMessage(totalNodes: number, reasons: Map<string, number>): string {
  if (totalNodes === 0) return 'no nodes available to schedule pods';
  const parts = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${totalNodes} nodes are available: ${parts.join(', ')}.`;
}
