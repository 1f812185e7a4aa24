// Kubernetes' MarkPodsNotReady: when a node stops being Ready (silent, or
// its agent says Ready=False), the Pods bound to it are marked Ready=False,
// so Services stop sending them traffic at once rather than when they are
// evicted minutes later. The agent sets Ready again when it is back.
import type { KubeObject } from '../apis/types.js';
import { rfc3339 } from '../api/resources/clock.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import type { Informer } from './runtime/informer.js';

type Condition = { type?: string; status?: string; reason?: string; message?: string; lastTransitionTime?: string; lastProbeTime?: string | null };

/** Pod keys by the node they are bound to, kept from the Pod informer. */
export class PodsByNode {
  private readonly byNode = new Map<string, Set<string>>();

  constructor(private readonly pods: Informer) {
    const key = (p: KubeObject): string => `${p.metadata.namespace}/${p.metadata.name}`;
    const node = (p: KubeObject): string | undefined => (p.spec as { nodeName?: string } | undefined)?.nodeName || undefined;
    const put = (p: KubeObject, add: boolean): void => {
      const n = node(p);
      if (!n) return;
      let set = this.byNode.get(n);
      if (add) (set ??= this.byNode.set(n, new Set()).get(n)!).add(key(p));
      else if (set?.delete(key(p)) && !set.size) this.byNode.delete(n);
    };
    pods.addHandlers({
      onAdd: (p) => put(p, true),
      onUpdate: (o, p) => {
        put(o, false);
        put(p, true);
      },
      onDelete: (p) => put(p, false),
    });
  }

  on(node: string): KubeObject[] {
    return [...(this.byNode.get(node) ?? [])].map((k) => this.pods.cache.get(k)).filter((p): p is KubeObject => p !== undefined);
  }
}

/** Mark the node's Pods that are Ready as not Ready; returns how many were written. */
export async function markPodsNotReady(ctx: ControllerContext, podsByNode: PodsByNode, node: string, manager: string): Promise<number> {
  const podType = ctx.registry.resource('', 'v1', 'pods')!;
  let marked = 0;
  for (const pod of podsByNode.on(node)) {
    const status = (pod.status ?? {}) as { phase?: string; conditions?: Condition[] };
    if (pod.metadata.deletionTimestamp || ['Succeeded', 'Failed'].includes(String(status.phase))) continue;
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
