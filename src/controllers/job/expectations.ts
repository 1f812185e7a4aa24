// Kubernetes' controller expectations, small: Pods this controller created
// or deleted that its informer has not shown yet. While a Job has any, its
// Pods are not managed, so a cache that lags behind our own writes never
// makes the controller create (or delete) the same Pods twice. An entry
// older than EXPIRE_MS is given up on, as Kubernetes does after 5 minutes.
const EXPIRE_MS = 60_000;

export class Expectations {
  private readonly pending = new Map<string, Map<string, { at: number; deletion: boolean }>>();

  /** A Pod was created (`deletion` false) or deleted by this controller. */
  expect(job: string, pod: string, deletion: boolean): void {
    let m = this.pending.get(job);
    if (!m) this.pending.set(job, (m = new Map()));
    m.set(pod, { at: Date.now(), deletion });
  }

  /** The informer showed this Pod; `going`: deleting or deleted. A deletion is seen only as such, not as an older update. */
  observed(job: string, pod: string, going: boolean): void {
    const m = this.pending.get(job);
    const e = m?.get(pod);
    if (!e || (e.deletion && !going)) return;
    m?.delete(pod);
    if (m?.size === 0) this.pending.delete(job);
  }

  satisfied(job: string): boolean {
    const m = this.pending.get(job);
    if (!m) return true;
    const cutoff = Date.now() - EXPIRE_MS;
    for (const [pod, e] of m) if (e.at < cutoff) m.delete(pod);
    if (m.size === 0) this.pending.delete(job);
    return !this.pending.has(job);
  }

  forget(job: string): void {
    this.pending.delete(job);
  }
}
