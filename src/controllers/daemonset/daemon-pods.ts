// A DaemonSet's Pods seen per node, and the facts the controller asks of
// them: which node, which revision, which one is the oldest.
import type { Pod } from '../../apis/core/v1/types.js';
import { isPodTerminal } from '../../apis/core/v1/pod-status.js';
import type { DaemonSet } from '../../apis/apps/v1/daemonset.js';
import { scaled } from '../deployment/rolling.js';
import { HASH_LABEL, targetNode } from './daemon-pod.js';
import type { Node, NodeFit } from './node-fit.js';

export type PodsByNode = Map<string, Pod[]>;

/** What the status and the rolling update are computed from: the DaemonSet, the nodes and its Pods on them. */
export interface DaemonSetView {
  ds: DaemonSet;
  nodes: Node[];
  /** Owned Pods by node, finished ones being deleted left out. */
  byNode: PodsByNode;
  fit: (node: Node) => NodeFit;
  hash: string;
  now: number;
}

export const isTerminal = isPodTerminal;

/**
 * Owned Pods by the node they are on or meant for. A finished Pod already
 * being deleted is left out unless asked for: it no longer holds its node
 * (Kubernetes' getNodesToDaemonPods).
 */
export function podsByNode(pods: Pod[], includeDeletedTerminal: boolean): PodsByNode {
  const out: PodsByNode = new Map();
  for (const p of pods) {
    if (!includeDeletedTerminal && isTerminal(p) && p.metadata.deletionTimestamp) continue;
    const node = targetNode(p);
    if (node === undefined) continue;
    const list = out.get(node);
    if (list) list.push(p);
    else out.set(node, [p]);
  }
  return out;
}

/** Made from the current revision. */
export const isUpdated = (p: Pod, hash: string): boolean => p.metadata.labels?.[HASH_LABEL] === hash;

const created = (p: Pod): number => Date.parse(String(p.metadata.creationTimestamp ?? 0)) || 0;

/** Kubernetes' podByCreationTimestampAndPhase: bound Pods first, then the oldest, then by name. */
export function oldestFirst(a: Pod, b: Pod): number {
  const bound = Number(Boolean(b.spec?.nodeName)) - Number(Boolean(a.spec?.nodeName));
  if (bound) return bound;
  return created(a) - created(b) || String(a.metadata.name).localeCompare(String(b.metadata.name));
}

const isRollingUpdate = (ds: DaemonSet): boolean => (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** maxSurge as a count of `nodes` (rounded up); 0 unless RollingUpdate. */
export function surgeCount(ds: DaemonSet, nodes: number): number {
  return isRollingUpdate(ds) ? scaled(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge, nodes, true) : 0;
}

/** maxUnavailable as a count of `nodes` (rounded up); 0 unless RollingUpdate. */
export function unavailableCount(ds: DaemonSet, nodes: number): number {
  return isRollingUpdate(ds) ? scaled(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, nodes, true) : 0;
}

/** A surging DaemonSet may run a new Pod beside the old one on a node (Kubernetes' AllowsSurge). */
export const allowsSurge = (ds: DaemonSet): boolean => surgeCount(ds, 1) > 0;
