// One probe (liveness, readiness or startup) of one run of one container,
// timed as the kubelet's probe worker: the first run once initialDelaySeconds
// have passed since the container started, then one every periodSeconds
// (never two at once: a slow probe delays the next), each bounded by
// timeoutSeconds. The result flips only after successThreshold consecutive
// successes or failureThreshold consecutive failures. Liveness and startup
// probes go on hold once they failed (the container is being killed); a new
// run of the container gets a new worker.
import type { Logger } from '../../util/log.js';
import { runProbe, type ProbeResult, type ProbeSpec, type ProbeTarget } from './handlers.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes' defaults; admission defaults absent fields, and a 0 means the default as it does in Kubernetes' defaulting. */
export function probeTiming(p: ProbeSpec): ProbeTiming {
  const pos = (v: number | undefined, def: number): number => (v !== undefined && v > 0 ? v : def);
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: pos(p.periodSeconds, 10) * 1000,
    timeoutMs: pos(p.timeoutSeconds, 1) * 1000,
    successThreshold: pos(p.successThreshold, 1),
    failureThreshold: pos(p.failureThreshold, 3),
  };
}

export interface ProbeWorkerOptions {
  type: ProbeType;
  probe: ProbeSpec;
  target: ProbeTarget;
  /** When this run of the container started (ms since the epoch): initialDelaySeconds count from there. */
  startedAtMs: number;
  /** The result changed (after the thresholds); failed liveness and startup workers are on hold from then on. */
  onChange(success: boolean, last: ProbeResult): void;
  /** Each failed probe (before thresholds): the kubelet's Unhealthy event. */
  onFailure?(last: ProbeResult): void;
  log: Logger;
}

export class ProbeWorker {
  /**
   * The thresholded result, from the kubelet's initial values: readiness starts failed (so a failure is no
   * change), liveness succeeded, startup unknown (so its first failureThreshold failures are a change: the kill).
   */
  private result: boolean | undefined;
  private lastOutcome: 'success' | 'failure' | undefined;
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private onHold = false;
  /** A probe that errors (gRPC, say) would log every period: once per worker is enough. */
  private warnedError = false;
  /** The failure last logged in the current streak of failures: logged again only when the reason changes. */
  private loggedFailure: string | undefined;
  private readonly timing: ProbeTiming;

  constructor(private readonly o: ProbeWorkerOptions) {
    this.result = o.type === 'liveness' ? true : o.type === 'readiness' ? false : undefined;
    this.timing = probeTiming(o.probe);
  }

  get success(): boolean {
    return this.result === true;
  }

  start(): void {
    const first = this.o.startedAtMs + this.timing.initialDelayMs - Date.now();
    this.schedule(Math.max(0, first));
  }

  /** No more probes; a probe in flight has its result dropped. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.onHold) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    // Probes never keep the agent's process alive on their own.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    const began = Date.now();
    let r: ProbeResult;
    try {
      r = await runProbe(this.o.probe, this.o.target, this.timing.timeoutMs);
    } catch (e) {
      // A bug or a host problem (cannot spawn): the kubelet's "probe error", which changes nothing.
      r = { outcome: 'unknown', message: (e as Error).message };
    }
    if (this.stopped) return;
    this.record(r);
    this.schedule(Math.max(0, began + this.timing.periodMs - Date.now()));
  }

  private record(r: ProbeResult): void {
    const log = { container: this.o.target.container, probe: this.o.type };
    if (r.outcome === 'unknown') {
      if (!this.warnedError) this.o.log.warn('probe errored; result ignored', { ...log, error: r.message });
      this.warnedError = true;
      return;
    }
    this.streak = r.outcome === this.lastOutcome ? this.streak + 1 : 1;
    this.lastOutcome = r.outcome;
    const ok = r.outcome === 'success';
    if (!ok) this.o.onFailure?.(r);
    const threshold = ok ? this.timing.successThreshold : this.timing.failureThreshold;
    // A failure is also logged (the Unhealthy event goes through onFailure), once per streak of failures and
    // reason: a readiness probe that never passes would otherwise log every period.
    if (ok) this.loggedFailure = undefined;
    else if (this.streak >= threshold && this.loggedFailure !== r.message) {
      this.loggedFailure = r.message;
      this.o.log.warn('probe failed', { ...log, failures: this.streak, message: r.message });
    }
    if (this.streak < threshold || ok === this.result) return;
    this.result = ok;
    if (!ok && this.o.type !== 'readiness') {
      // The container is killed for this; probing it further would only count more failures of the same run.
      this.onHold = true;
      this.stop();
    }
    if (ok) this.o.log.info('probe succeeded', { ...log });
    this.o.onChange(ok, r);
  }
}
