// Leader election through a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection: of all processes running the same component on one store,
// only the holder of the Lease acts. The holder renews it every retry
// period; a holder that cannot renew within the renew deadline stops acting
// before its lease can expire, and another process takes the Lease once it
// has seen no renewal for a whole lease duration (measured on its own clock,
// from when it last saw the record change, so clock skew between hosts does
// not matter). Every write is a compare-and-swap on the Lease's
// resourceVersion, so two candidates can never both win a round.
//
// Two shortcuts Kubernetes also has, in spirit: a holder that stops cleanly
// releases the Lease (the next one starts at once), and a holder that died on
// this very host (its pid gone since this boot) is not waited for — so a
// `lodge up` restarted after SIGKILL does not sit out a lease duration.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../apis/types.js';
import type { ResourceService } from '../../api/resources/resource-service.js';
import { ApiError } from '../../api/status.js';
import { microTime } from '../../api/resources/clock.js';
import type { Logger } from '../../util/log.js';
import { controllerWrite } from './informer-factory.js';
import { sleep } from '../../util/sleep.js';

export interface LeaderElectionTiming {
  /** How long others wait after the last renewal they saw (Kubernetes' default 15 s). */
  leaseDurationMs: number;
  /** How long the holder keeps acting without a successful renewal (default 10 s; less than the duration). */
  renewDeadlineMs: number;
  /** How often to try to acquire or renew (default 2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderElectionConfig {
  svc: ResourceService;
  log: Logger;
  /** The Lease: kube-system/<name>. */
  name: string;
  namespace?: string;
  identity: string;
  timing?: Partial<LeaderElectionTiming>;
}

type LeaseSpec = { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };


let bootId: string | undefined;
function thisBoot(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    } catch {
      bootId = 'noboot';
    }
  }
  return bootId;
}

/** "HOST_BOOT_PID_RANDOM": unique per process, and says whether the holder was a process on this host since this boot. */
export function leaderIdentity(): string {
  return `${hostname()}_${thisBoot()}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** A holder that ran on this host since this boot and whose process is gone will never renew again. */
export function holderIsGone(identity: string): boolean {
  const m = /^(.*)_([^_]+)_(\d+)_([0-9a-f]+)$/.exec(identity);
  if (!m || m[1] !== hostname() || m[2] !== thisBoot()) return false;
  if (Number(m[3]) === process.pid) return false;
  return !existsSync(`/proc/${m[3]}`);
}

export class LeaderElector {
  private readonly timing: LeaderElectionTiming;
  private readonly namespace: string;
  /** The last record seen and when (by this process's clock): expiry is judged from it. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;

  constructor(private readonly cfg: LeaderElectionConfig) {
    this.timing = { ...DEFAULT_TIMING, ...cfg.timing };
    this.namespace = cfg.namespace ?? 'kube-system';
    if (this.timing.renewDeadlineMs >= this.timing.leaseDurationMs) throw new Error(`leader election: the renew deadline (${this.timing.renewDeadlineMs} ms) must be shorter than the lease duration (${this.timing.leaseDurationMs} ms)`);
  }

  /**
   * Campaign until `signal` aborts; while leading, `run` runs with a signal
   * that aborts when leadership is lost (then campaigning starts again).
   */
  async run(signal: AbortSignal, run: (leading: AbortSignal) => Promise<void>): Promise<void> {
    const log = this.cfg.log.child({ component: 'leader-election', lease: `${this.namespace}/${this.cfg.name}`, identity: this.cfg.identity });
    while (!signal.aborted) {
      // Acquire.
      while (!signal.aborted && !(await this.tryAcquireOrRenew(log))) await sleep(this.timing.retryPeriodMs, signal);
      if (signal.aborted) break;
      log.info('became leader');
      const term = new AbortController();
      const stopTerm = (): void => term.abort();
      signal.addEventListener('abort', stopTerm, { once: true });
      const running = run(term.signal).catch((e: Error) => log.error('leader work failed', { error: e.message }));
      // Renew until the deadline passes without success, or we are told to stop.
      let lastRenew = Date.now();
      while (!signal.aborted && !term.signal.aborted) {
        await sleep(this.timing.retryPeriodMs, signal);
        if (signal.aborted) break;
        if (await this.tryAcquireOrRenew(log)) lastRenew = Date.now();
        else if (Date.now() - lastRenew > this.timing.renewDeadlineMs) {
          log.warn('lost leadership: the lease could not be renewed in time');
          break;
        }
      }
      term.abort();
      signal.removeEventListener('abort', stopTerm);
      await running;
      if (signal.aborted) await this.release(log);
    }
  }

  private leaseType(): NonNullable<ReturnType<ResourceService['registry']['resource']>> {
    return this.cfg.svc.registry.resource('coordination.k8s.io', 'v1', 'leases')!;
  }

  private async tryAcquireOrRenew(log: Logger): Promise<boolean> {
    const rt = this.leaseType();
    const now = Date.now();
    const durationSeconds = Math.max(1, Math.round(this.timing.leaseDurationMs / 1000));
    const write = controllerWrite('lodge-leader-election');
    try {
      const current = await this.cfg.svc.tryGet(rt, this.namespace, this.cfg.name);
      if (!current) {
        const lease: KubeObject = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.cfg.name, namespace: this.namespace },
          spec: { holderIdentity: this.cfg.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        };
        await this.cfg.svc.create(rt, this.namespace, lease, write);
        this.observed = { holder: this.cfg.identity, renewTime: String(lease.spec!.renewTime), at: now };
        return true;
      }
      const spec = (current.obj.spec ?? {}) as LeaseSpec;
      const holder = spec.holderIdentity ?? '';
      const renewTime = spec.renewTime ?? '';
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) this.observed = { holder, renewTime, at: now };
      const mine = holder === this.cfg.identity;
      if (holder && !mine) {
        const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
        const expired = this.observed.at + duration < now;
        if (!expired && !holderIsGone(holder)) return false;
        log.info('taking over the lease', { from: holder, reason: expired ? 'expired' : 'its process is gone' });
      }
      const next: KubeObject = {
        ...current.obj,
        spec: {
          ...spec,
          holderIdentity: this.cfg.identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: microTime(now),
          acquireTime: mine ? spec.acquireTime : microTime(now),
          leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + (holder ? 1 : 0),
        },
      };
      // Pinned to the version read: a competitor's write in between makes this one fail.
      await this.cfg.svc.update(rt, this.namespace, this.cfg.name, next, write);
      this.observed = { holder: this.cfg.identity, renewTime: microTime(now), at: now };
      return true;
    } catch (e) {
      if (e instanceof ApiError && (e.code === 409 || e.code === 404)) return false;
      log.warn('lease update failed', { error: (e as Error).message });
      return false;
    }
  }

  /** Give the Lease up on a clean stop, so a standby takes over at once (client-go's ReleaseOnCancel). */
  private async release(log: Logger): Promise<void> {
    const rt = this.leaseType();
    try {
      const current = await this.cfg.svc.tryGet(rt, this.namespace, this.cfg.name);
      const spec = (current?.obj.spec ?? {}) as LeaseSpec;
      if (!current || spec.holderIdentity !== this.cfg.identity) return;
      const next: KubeObject = { ...current.obj, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } };
      await this.cfg.svc.update(rt, this.namespace, this.cfg.name, next, controllerWrite('lodge-leader-election'));
      log.info('released the lease');
    } catch (e) {
      log.warn('could not release the lease', { error: (e as Error).message });
    }
  }
}
