// Hold the scheduler off through its own leader election, so a bench can
// build a backlog of Pods and then measure the scheduler alone working it
// off: the bench takes the Lease kube-system/lodge-scheduler (a CAS write
// through the API, renewed while held), the scheduler in `lodge up` finds
// it cannot renew and stands down after its renew deadline, and giving the
// Lease back (holder "", duration 1 s) lets it take over at its next try.
// Needs `lodge up` with short leader-election timings (see SCHEDULER_HOLD_ARGS).
import type { KubeObject } from '../../src/apis/types.js';
import type { KubeClient } from '../../src/client/client.js';
import { LEASES } from '../../src/client/refs.js';
import { hasStatus } from '../../src/client/errors.js';
import { microTime } from '../../src/api/resources/clock.js';
import { sleep } from './stats.js';

/** Timings for `lodge up` that make a hand-over take about a second instead of Kubernetes' 15 s. */
export const SCHEDULER_HOLD_ARGS = ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '250ms'];
/** After this, a scheduler that could not renew has stood down (renew deadline + a retry period + margin). */
const STAND_DOWN_MS = 3000;
const HOLDER = 'lodge-bench-backlog-hold';


export class SchedulerHold {
  private held = true;
  private readonly renewing: Promise<void>;

  private constructor(private readonly client: KubeClient) {
    this.renewing = this.renew();
  }

  /** Take the scheduler's Lease and wait until the scheduler has stood down. */
  static async take(client: KubeClient): Promise<SchedulerHold> {
    const h = new SchedulerHold(client);
    await sleep(STAND_DOWN_MS);
    return h;
  }

  private async write(holder: string, durationSeconds: number): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const lease = await this.client.get<KubeObject>(LEASES, 'lodge-scheduler', { namespace: 'kube-system' });
      const next = { ...lease, spec: { ...lease.spec, holderIdentity: holder, leaseDurationSeconds: durationSeconds, renewTime: microTime() } };
      try {
        await this.client.update(LEASES, next);
        return;
      } catch (e) {
        // The scheduler renewed in between (a 409): read again.
        if (!hasStatus(e, 409)) throw e;
      }
    }
    throw new Error('could not write the scheduler Lease (20 conflicts)');
  }

  private async renew(): Promise<void> {
    while (this.held) {
      await this.write(HOLDER, 60);
      await sleep(500);
    }
  }

  /** Give the Lease back: the scheduler takes it at its next retry and works off the backlog. */
  async release(): Promise<void> {
    this.held = false;
    await this.renewing;
    await this.write('', 1);
  }
}
