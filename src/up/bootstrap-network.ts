// The "default" Network: the Pod network as an object, so `lodge network ls`
// and `kubectl get networks` show it beside the user's networks and Instances
// name it like any other. Its subnet is the cluster CIDR, split per node
// (Node.spec.podCIDR, given by the node IPAM controller). Each node's bridge
// is its agent's --bridge, reported in status.nodes.
import type { ResourceService } from '../api/resources/resource-service.js';
import type { Logger } from '../util/log.js';
import { DEFAULT_NETWORK, type Network } from '../apis/lodge/v1alpha1/network.js';

export async function bootstrapDefaultNetwork(svc: ResourceService, clusterCIDR: string, log: Logger): Promise<void> {
  const rt = svc.registry.resource('lodge.dev', 'v1alpha1', 'networks');
  if (!rt) throw new Error('the Network kind is not registered');
  const have = (await svc.tryGet(rt, undefined, DEFAULT_NETWORK))?.obj as Network | undefined;
  if (have) {
    // A network's subnet is immutable (workloads hold its addresses): a changed flag is reported, not applied.
    if (have.spec?.subnet !== clusterCIDR) log.warn('the default network keeps its subnet; --cluster-cidr differs', { subnet: have.spec?.subnet, clusterCIDR });
    return;
  }
  const obj: Network = {
    apiVersion: 'lodge.dev/v1alpha1',
    kind: 'Network',
    metadata: { name: DEFAULT_NETWORK },
    spec: { type: 'bridge', subnet: clusterCIDR, perNode: true, nat: true, description: 'The Pod network: a /24 per node (Node.spec.podCIDR).' },
  };
  try {
    await svc.create(rt, undefined, obj, { manager: 'lodge', fieldValidation: 'Strict', dryRun: false, warnings: [] });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
  }
}
