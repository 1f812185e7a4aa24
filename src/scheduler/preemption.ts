// Preemption, after kube-scheduler's DefaultPreemption PostFilter: a workload
// that fits nowhere (and whose preemptionPolicy is not Never) may have
// lower-priority Pods removed to make room. For each node where removing Pods
// can help — not where it failed for node affinity, taints, cordoning, its
// node name or the VM runtime (kube-scheduler's UnschedulableAndUnresolvable)
// — the victims are the fewest lower-priority Pods whose removal makes it
// fit: all of them removed, then given back most important first while it
// still fits, those whose PodDisruptionBudget would be violated given back
// first. The node is picked by kube-scheduler's order: fewest budget
// violations, lowest highest-victim priority, smallest sum of priorities,
// fewest victims. Only Pods are victims: an Instance is never preempted.
//
// Everything here is a simulation on the scheduler's cache: the node infos
// are changed and given back before it returns. scheduler.ts deletes the
// victims and nominates the node.
import { isEmptySelector, selectorMatches } from '../apis/core/v1/label-selector.js';
import type { LabelSelector } from '../apis/core/v1/types.js';
import type { SchedulerCache } from './cache.js';
import { CycleState } from './framework.js';
import type { NodeInfo } from './node-info.js';
import type { Profile } from './profile.js';
import type { Workload } from './workload.js';

/** What preemption needs of a PodDisruptionBudget. */
export interface PdbInfo {
  namespace: string;
  selector?: LabelSelector;
  disruptionsAllowed: number;
  /** Pods whose eviction was already processed (status.disruptedPods): not counted again. */
  disruptedPods?: Record<string, unknown>;
}

export interface Candidate {
  node: string;
  /** Most important first. */
  victims: Workload[];
  pdbViolations: number;
}

export interface PreemptionResult {
  candidate?: Candidate;
  /** Why nodes are no candidates, kube-scheduler's words → how many nodes. */
  reasons: Map<string, number>;
}

export const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';

/** Filters whose failure removing Pods cannot fix. */
const UNRESOLVABLE = new Set(['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'VMRuntime']);
/** The workload's own required pod affinity is not met by removing Pods either. */
const UNRESOLVABLE_REASONS = new Set(["node(s) didn't match pod affinity rules", "node(s) didn't match pod topology spread constraints (missing required label)"]);

/** More important first: higher priority, then (as a stable tie) the order given. */
export function byImportance(a: Workload, b: Workload): number {
  return b.priority - a.priority;
}

/** kube-scheduler's PodEligibleToPreemptOthers: Never forbids it, and one whose nominated node still has lower-priority Pods terminating waits for them. */
export function eligibleToPreempt(w: Workload, cache: SchedulerCache, nominated?: string): boolean {
  if (w.preemptionPolicy === 'Never') return false;
  const node = nominated ?? w.nominatedNodeName;
  if (!node) return true;
  const info = cache.nodes.get(node);
  if (!info) return true;
  for (const o of info.workloads.values()) if (o.terminating && o.kind === 'Pod' && o.priority < w.priority) return false;
  return true;
}

/** The first filter that rules the node out, with its reasons, or undefined when the workload fits. */
function firstFailure(profile: Profile, state: CycleState, node: NodeInfo): { plugin: string; reasons: string[] } | undefined {
  for (const f of profile.filters) {
    const r = f.filter(state, node);
    if (r) return { plugin: f.name, reasons: r };
  }
  return undefined;
}

/** Pods the budgets would not let go, split from those they would (kube-scheduler's filterPodsWithPDBViolation); both keep their order. */
export function splitByBudget(pods: Workload[], pdbs: PdbInfo[]): { violating: Workload[]; nonViolating: Workload[] } {
  const allowed = pdbs.map((p) => p.disruptionsAllowed);
  const violating: Workload[] = [];
  const nonViolating: Workload[] = [];
  for (const p of pods) {
    let violated = false;
    if (Object.keys(p.labels).length) {
      pdbs.forEach((pdb, i) => {
        if (pdb.namespace !== p.namespace) return;
        // For preemption a budget with a null or empty selector matches nothing, as in kube-scheduler.
        const sel = pdb.selector;
        if (isEmptySelector(sel)) return;
        if (!selectorMatches(sel, p.labels)) return;
        if (pdb.disruptedPods && p.name in pdb.disruptedPods) return;
        allowed[i]--;
        if (allowed[i] < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

/**
 * The fewest victims on `node` that let `w` fit (kube-scheduler's
 * selectVictimsOnNode), or why there are none. Leaves the node as it found it.
 */
export function selectVictimsOnNode(w: Workload, node: NodeInfo, state: CycleState, profile: Profile, pdbs: PdbInfo[]): Candidate | string {
  const failed = firstFailure(profile, state, node);
  // It fits as it is (space held for a nominated workload moved meanwhile): nothing to preempt here.
  if (!failed) return NOT_HELPFUL;
  if (UNRESOLVABLE.has(failed.plugin) || failed.reasons.some((r) => UNRESOLVABLE_REASONS.has(r))) return NOT_HELPFUL;
  const lower = (o: Workload): boolean => o.kind === 'Pod' && o.uid !== w.uid && !o.terminating && o.priority < w.priority;
  // Most failed attempts find nothing lower anywhere (everything at priority 0): answer those without allocating.
  let any = false;
  for (const o of node.workloads.values())
    if (lower(o)) {
      any = true;
      break;
    }
  if (!any) return NO_VICTIMS;
  const potential = [...node.workloads.values()].filter(lower).sort(byImportance);
  // Filters that look across workloads (pod affinity, spreading) computed their view once per cycle: redo it as the node changes.
  const crossWorkload = Boolean(w.affinity.podAffinity || w.affinity.podAntiAffinity || w.spread.length || state.cache.antiAffinity.size);
  const fits = (): boolean => {
    if (crossWorkload) for (const f of profile.filters) f.prepare?.(state);
    return firstFailure(profile, state, node) === undefined;
  };
  for (const v of potential) node.remove(v.uid);
  const victims: Workload[] = [];
  let pdbViolations = 0;
  try {
    if (!fits()) return NO_VICTIMS;
    const { violating, nonViolating } = splitByBudget(potential, pdbs);
    const reprieve = (v: Workload): boolean => {
      node.add(v);
      if (fits()) return true;
      node.remove(v.uid);
      victims.push(v);
      return false;
    };
    for (const v of violating) if (!reprieve(v)) pdbViolations++;
    for (const v of nonViolating) reprieve(v);
  } finally {
    for (const v of potential) node.add(v);
    if (crossWorkload) for (const f of profile.filters) f.prepare?.(state);
  }
  return { node: node.name, victims: victims.sort(byImportance), pdbViolations };
}

const MAX_INT32 = 2 ** 31 - 1;

/** kube-scheduler's pickOneNodeForPreemption, without its start-time tie-break: the first candidate left wins. */
export function pickOneNode(candidates: Candidate[]): Candidate | undefined {
  let left = candidates;
  const keepMin = (score: (c: Candidate) => number): void => {
    if (left.length <= 1) return;
    let min = Infinity;
    for (const c of left) min = Math.min(min, score(c));
    left = left.filter((c) => score(c) === min);
  };
  keepMin((c) => c.pdbViolations);
  keepMin((c) => (c.victims.length ? c.victims[0].priority : -Infinity));
  // Each priority shifted to be positive, so more victims of negative priority do not look cheaper.
  keepMin((c) => c.victims.reduce((s, v) => s + v.priority + MAX_INT32 + 1, 0));
  keepMin((c) => c.victims.length);
  return left[0];
}

/** Candidates on every node where removing Pods helps, and the one to preempt on. */
export function findPreemption(w: Workload, cache: SchedulerCache, profile: Profile, pdbs: PdbInfo[]): PreemptionResult {
  const reasons = new Map<string, number>();
  const state = new CycleState(w, cache);
  for (const f of profile.filters) f.prepare?.(state);
  const candidates: Candidate[] = [];
  for (const name of cache.nodeNames()) {
    const node = cache.nodes.get(name)!;
    const r = selectVictimsOnNode(w, node, state, profile, pdbs);
    if (typeof r === 'string') reasons.set(r, (reasons.get(r) ?? 0) + 1);
    else if (r.victims.length === 0) {
      // Fits with nobody removed after all: no preemption needed there.
      reasons.set(NOT_HELPFUL, (reasons.get(NOT_HELPFUL) ?? 0) + 1);
    } else candidates.push(r);
  }
  return { candidate: pickOneNode(candidates), reasons };
}

/** "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling." */
export function preemptionMessage(totalNodes: number, reasons: Map<string, number>): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `preemption: 0/${totalNodes} nodes are available: ${parts.join(', ')}.`;
}
