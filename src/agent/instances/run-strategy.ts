// runStrategy, decided on what the driver reports (KubeVirt's meanings):
//  Always: keep it running: restart after any exit, a clean poweroff included.
//  RerunOnFailure: restart after a crash (non-zero exit, a signal, the OOM
//    killer); a clean shutdown from inside stays off.
//  Manual: start it when asked (created, started with `lodge start`,
//    restarted), never by itself: an exit is left as it is.
//  Halted: keep it stopped (its process, mounts and cgroup gone; its disk kept).
// Restarts by the strategy back off while the guest keeps dying quickly, so
// a broken init does not spin the host.
import type { WorkloadState } from '../runtime/driver.js';

export type RunStrategy = 'Always' | 'RerunOnFailure' | 'Manual' | 'Halted';

export function runStrategyOf(v: string | undefined): RunStrategy {
  return v === 'RerunOnFailure' || v === 'Manual' || v === 'Halted' ? v : 'Always';
}

export function failed(st: WorkloadState): boolean {
  return Boolean(st.oomKilled) || (st.exitCode ?? 137) !== 0;
}

export function restartsAfterExit(strategy: RunStrategy, st: WorkloadState): boolean {
  return strategy === 'Always' || (strategy === 'RerunOnFailure' && failed(st));
}

/** A run that lasted this long was healthy: the next restart is immediate. */
const HEALTHY_RUN_MS = 60_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/** How long to wait before restarting, counted from the exit. */
export function restartDelayMs(st: WorkloadState, consecutive: number): number {
  const started = st.startedAt ? Date.parse(st.startedAt) : NaN;
  const finished = st.finishedAt ? Date.parse(st.finishedAt) : NaN;
  if (Number.isFinite(started) && Number.isFinite(finished) && finished - started >= HEALTHY_RUN_MS) return 0;
  if (consecutive <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (consecutive - 1));
}
