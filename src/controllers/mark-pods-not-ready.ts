// Kubernetes' MarkPodsNotReady: when a node stops being Ready (silent, or
// its agent says Ready=False), the Pods bound to it are marked Ready=False,
// so Services stop sending them traffic at once rather than when they are
// evicted minutes later. The agent sets Ready again when it is back.
import type { Condition, Pod } from '../apis/core/v1/types.js';
import { isActive } from './replicaset/pods.js';
import type { KubeObject } from '../apis/types.js';
import { rfc3339 } from '../api/resources/clock.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import type { PodsByNode } from './pods-by-node.js';

/** Mark the node's Pods that are Ready as not Ready; returns how many were written. */
export async function markPodsNotReady(ctx: ControllerContext, podsByNode: PodsByNode, node: string, manager: string): Promise<number> {
  const podType = ctx.registry.resource('', 'v1', 'pods')!;
  let marked = 0;
  for (const pod of podsByNode.on(node)) {
    const status = (pod.status ?? {}) as { phase?: string; conditions?: Condition[] };
    if (!isActive(pod as Pod)) continue;
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') continue;
    const conditions = (status.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'NodeNotReady', message: `node ${node} is not ready`, lastTransitionTime: rfc3339() } : c));
    try {
      // CAS on the version cached: if the agent wrote meanwhile, the next sync looks again.
      await ctx.svc.update(podType, pod.metadata.namespace, String(pod.metadata.name), { ...pod, status: { ...status, conditions } }, controllerWrite(manager), 'status');
      marked++;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== 409 && code !== 404) throw e;
    }
  }
  return marked;
}
