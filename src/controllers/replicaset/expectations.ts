// Kubernetes' ControllerExpectations: how many Pod creations and which Pod
// deletions a controller has asked for and not yet seen in its informer.
// While any are outstanding the controller must not act on its cache again,
// or a burst of events would make it create (or delete) the same Pods twice
// from a cache that does not show its own writes yet. Expectations expire,
// so a lost event cannot stall a ReplicaSet for ever.
const TTL_MS = 5 * 60_000;

interface Expectation {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(private readonly now: () => number = Date.now) {}

  /** No outstanding creations or deletions (or they were set too long ago to trust). */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    return (e.adds <= 0 && e.deletes.size === 0) || this.now() - e.at > TTL_MS;
  }

  expectCreations(key: string, n: number): void {
    this.expect(key, n, []);
  }

  expectDeletions(key: string, uids: string[]): void {
    this.expect(key, 0, uids);
  }

  /** Creations and deletions asked for in one sync (a DaemonSet's may do both at once). */
  expect(key: string, adds: number, uids: string[]): void {
    this.byKey.set(key, { adds, deletes: new Set(uids), at: this.now() });
  }

  /** A creation was seen in the informer, or failed (it will never be seen). */
  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.adds--;
  }

  /** A deletion was seen (deletionTimestamp set or gone), or failed. */
  deletionObserved(key: string, uid: string): void {
    this.byKey.get(key)?.deletes.delete(uid);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
