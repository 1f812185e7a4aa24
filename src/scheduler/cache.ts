// The scheduler's picture of the cluster: every node with what its workloads
// take, fed by the Node, Pod and Instance informers — plus the workloads it
// has placed but whose binding has not come back through the watch yet
// ("assumed", as kube-scheduler calls them), so the next decision already
// counts them. An assumption whose binding failed is forgotten.
import type { KubeObject } from '../apis/types.js';
import { NodeInfo } from './node-info.js';
import type { Workload } from './workload.js';

export class SchedulerCache {
  readonly nodes = new Map<string, NodeInfo>();
  /** Node names in a stable order: decisions walk them from a rotating start. */
  private order: string[] = [];
  private orderDirty = false;
  /** Where each placed workload is, by uid, and whether that is only assumed so far. */
  private readonly placed = new Map<string, { node: string; workload: Workload; assumed: boolean }>();
  /** Workloads with required pod anti-affinity, by uid: every decision checks them (the rule is symmetric). */
  readonly antiAffinity = new Map<string, { workload: Workload; node: string }>();
  /** Namespace labels, for affinity terms with a namespaceSelector. */
  readonly namespaceLabels = new Map<string, Record<string, string>>();
  /** Workloads bound to nodes the cache does not know (yet): added when the node appears. */
  private readonly orphans = new Map<string, Map<string, Workload>>();

  upsertNode(node: KubeObject): void {
    const name = String(node.metadata.name);
    const info = this.nodes.get(name);
    if (info) {
      info.setNode(node);
      return;
    }
    const created = new NodeInfo(node);
    this.nodes.set(name, created);
    this.orderDirty = true;
    for (const w of this.orphans.get(name)?.values() ?? []) created.add(w);
    this.orphans.delete(name);
  }

  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (!info) return;
    this.nodes.delete(name);
    this.orderDirty = true;
    // Its workloads wait for the node to come back (or for their own deletion).
    if (info.workloads.size) this.orphans.set(name, new Map([...info.workloads].map(([uid, w]) => [uid, w])));
  }

  nodeNames(): string[] {
    if (this.orderDirty) {
      this.order = [...this.nodes.keys()].sort();
      this.orderDirty = false;
    }
    return this.order;
  }

  /** A workload the API says is bound to `node` (confirms an assumption, or moves it). */
  bound(w: Workload, node: string): void {
    const p = this.placed.get(w.uid);
    if (p && p.node === node) {
      p.assumed = false;
      if (p.workload !== w) {
        this.detach(w.uid, p.node);
        this.attach(w, node);
        p.workload = w;
      }
      return;
    }
    if (p) this.detach(w.uid, p.node);
    this.placed.set(w.uid, { node, workload: w, assumed: false });
    this.attach(w, node);
  }

  /** Gone, finished or unbound: it holds nothing any more. */
  released(uid: string): void {
    const p = this.placed.get(uid);
    if (!p) return;
    this.placed.delete(uid);
    this.detach(uid, p.node);
  }

  assume(w: Workload, node: string): void {
    this.placed.set(w.uid, { node, workload: w, assumed: true });
    this.attach(w, node);
  }

  /** The binding failed: take the assumption back (a confirmed placement stays). */
  forget(uid: string): void {
    const p = this.placed.get(uid);
    if (p?.assumed) this.released(uid);
  }

  isPlaced(uid: string): boolean {
    return this.placed.has(uid);
  }

  /** Every placed workload with its node, for the affinity rules that look across nodes. */
  *placements(): IterableIterator<{ node: NodeInfo; workload: Workload }> {
    for (const info of this.nodes.values()) for (const w of info.workloads.values()) yield { node: info, workload: w };
  }

  private attach(w: Workload, node: string): void {
    if (w.affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) this.antiAffinity.set(w.uid, { workload: w, node });
    const info = this.nodes.get(node);
    if (info) info.add(w);
    else {
      let m = this.orphans.get(node);
      if (!m) this.orphans.set(node, (m = new Map()));
      m.set(w.uid, w);
    }
  }

  private detach(uid: string, node: string): void {
    this.antiAffinity.delete(uid);
    this.nodes.get(node)?.remove(uid);
    const m = this.orphans.get(node);
    if (m) {
      m.delete(uid);
      if (!m.size) this.orphans.delete(node);
    }
  }
}
