// One node as the scheduler sees it: what it offers (allocatable), what the
// workloads placed on it already take (requests, host ports, replicas per
// owner), its labels, taints and images. Kept up to date incrementally, so a
// scheduling decision costs the same with 10 or 10,000 workloads placed.
import type { Taint } from '../apis/core/v1/types.js';
import { parseQuantity } from '../apis/core/v1/quantity.js';
import type { KubeObject } from '../apis/types.js';
import type { Resources, Workload } from './workload.js';

type NodeImage = { names?: string[]; sizeBytes?: number };

export class NodeInfo {
  name: string;
  labels: Record<string, string> = {};
  taints: Taint[] = [];
  unschedulable = false;
  allocatable: Resources = { cpu: 0, memory: 0, pods: 0 };
  /** Image name → size in bytes, from status.images. */
  images = new Map<string, number>();
  readonly requested: Resources = { cpu: 0, memory: 0, pods: 0 };
  readonly scoringRequested: Resources = { cpu: 0, memory: 0, pods: 0 };
  /** "TCP/8080" → host IPs holding it (0.0.0.0 for any). */
  readonly usedPorts = new Map<string, Set<string>>();
  /** Workloads placed here (bound or assumed), by uid. */
  readonly workloads = new Map<string, Workload>();
  /** Replicas per controller owner uid, for spreading. */
  readonly perOwner = new Map<string, number>();

  constructor(node: KubeObject) {
    this.name = String(node.metadata.name);
    this.setNode(node);
  }

  setNode(node: KubeObject): void {
    this.labels = node.metadata.labels ?? {};
    const spec = (node.spec ?? {}) as { taints?: Taint[]; unschedulable?: boolean };
    this.taints = spec.taints ?? [];
    this.unschedulable = Boolean(spec.unschedulable);
    const status = (node.status ?? {}) as { allocatable?: Record<string, unknown>; capacity?: Record<string, unknown>; images?: NodeImage[] };
    const alloc = status.allocatable ?? status.capacity ?? {};
    this.allocatable = {
      cpu: Math.floor((parseQuantity(alloc.cpu) ?? 0) * 1000),
      memory: Math.floor(parseQuantity(alloc.memory) ?? 0),
      pods: Math.floor(parseQuantity(alloc.pods) ?? 0),
    };
    this.images = new Map();
    for (const img of status.images ?? []) for (const n of img.names ?? []) this.images.set(n, img.sizeBytes ?? 0);
  }

  add(w: Workload): void {
    if (this.workloads.has(w.uid)) return;
    this.workloads.set(w.uid, w);
    this.change(w, 1);
  }

  remove(uid: string): void {
    const w = this.workloads.get(uid);
    if (!w) return;
    this.workloads.delete(uid);
    this.change(w, -1);
  }

  private change(w: Workload, sign: 1 | -1): void {
    for (const k of ['cpu', 'memory', 'pods'] as const) {
      this.requested[k] += sign * w.requests[k];
      this.scoringRequested[k] += sign * w.scoringRequests[k];
    }
    for (const p of w.hostPorts) {
      const key = `${p.protocol}/${p.port}`;
      let ips = this.usedPorts.get(key);
      if (sign > 0) {
        if (!ips) this.usedPorts.set(key, (ips = new Set()));
        ips.add(p.hostIP);
      } else if (ips) {
        // Another workload may hold the same port on the same IP only if they conflicted already; recount to be exact.
        ips.clear();
        for (const o of this.workloads.values()) for (const q of o.hostPorts) if (q.protocol === p.protocol && q.port === p.port) ips.add(q.hostIP);
        if (!ips.size) this.usedPorts.delete(key);
      }
    }
    if (w.ownerUid) {
      const n = (this.perOwner.get(w.ownerUid) ?? 0) + sign;
      if (n > 0) this.perOwner.set(w.ownerUid, n);
      else this.perOwner.delete(w.ownerUid);
    }
  }
}
