// Pod keys by the node they are bound to, kept from the Pod informer: what
// controllers that act per node (taint eviction, marking Pods not ready)
// look up instead of walking every Pod. One index per informer, shared by
// the controllers that ask (PodsByNode.for).
import type { KubeObject } from '../apis/types.js';
import { cacheKey as key, type Informer } from './runtime/informer.js';

const indexes = new WeakMap<Informer, PodsByNode>();

export class PodsByNode {
  private readonly byNode = new Map<string, Set<string>>();

  /** The index kept from this Pod informer (made on first use). */
  static for(pods: Informer): PodsByNode {
    let index = indexes.get(pods);
    if (!index) indexes.set(pods, (index = new PodsByNode(pods)));
    return index;
  }

  private constructor(private readonly pods: Informer) {
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
        // The key never changes; only a move between nodes (a binding) touches the index.
        if (node(o) === node(p)) return;
        put(o, false);
        put(p, true);
      },
      onDelete: (p) => put(p, false),
    });
  }

  /** Keys (namespace/name) of the Pods bound to the node. */
  keysOn(node: string): Iterable<string> {
    return this.byNode.get(node) ?? [];
  }

  on(node: string): KubeObject[] {
    return [...this.keysOn(node)].map((k) => this.pods.cache.get(k)).filter((p): p is KubeObject => p !== undefined);
  }
}

