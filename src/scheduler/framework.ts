// The scheduler's plugin points, after kube-scheduler's framework: a filter
// says why a node cannot take the workload (or nothing when it can); a score
// rates a feasible node, optionally normalised across all of them. Per-cycle
// work a plugin wants to do once (not once per node) goes in prepare().
import type { SchedulerCache } from './cache.js';
import type { NodeInfo } from './node-info.js';
import type { Workload } from './workload.js';

/** One scheduling attempt of one workload: plugins keep what they computed once here. */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  constructor(
    readonly workload: Workload,
    readonly cache: SchedulerCache,
  ) {}

  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  set(key: string, value: unknown): void {
    this.data.set(key, value);
  }
}

export interface FilterPlugin {
  name: string;
  /** Once per cycle, before any node is looked at. */
  prepare?(state: CycleState): void;
  /** Why `node` cannot take the workload (kube-scheduler's wording), or undefined when it can. */
  filter(state: CycleState, node: NodeInfo): string[] | undefined;
}

export interface ScorePlugin {
  name: string;
  weight: number;
  /** True when the plugin has nothing to say about this workload (every node would score the same): not run. */
  skip?(state: CycleState): boolean;
  prepare?(state: CycleState, feasible: NodeInfo[]): void;
  /** A raw score; 0..100 unless normalize says how to bring it there. */
  score(state: CycleState, node: NodeInfo): number;
  /** "max": scaled so the best node gets 100; "reverse": the best (lowest raw) gets 100. */
  normalize?: 'max' | 'reverse';
}

export const MAX_SCORE = 100;

/** Scale raw scores into 0..100 across the feasible nodes. */
export function normalizeScores(raw: number[], how: 'max' | 'reverse'): number[] {
  let max = 0;
  for (const s of raw) if (s > max) max = s;
  if (max === 0) return raw.map(() => (how === 'reverse' ? MAX_SCORE : 0));
  return raw.map((s) => (how === 'max' ? (s * MAX_SCORE) / max : MAX_SCORE - (s * MAX_SCORE) / max));
}
