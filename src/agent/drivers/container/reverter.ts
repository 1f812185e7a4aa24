// Incus-style reverter: a multi-step operation registers an undo for each
// step as it completes; on failure the undos run newest first, so a half-done
// create leaves nothing behind. On success the caller calls success() and the
// undos are forgotten. (Lives here until a second driver needs it.)
import type { Logger } from '../../../util/log.js';

type Undo = { what: string; run: () => Promise<void> | void };

export class Reverter {
  private undos: Undo[] = [];
  private done = false;

  constructor(private readonly log: Logger) {}

  /** Register how to undo the step that just succeeded. */
  add(what: string, run: () => Promise<void> | void): void {
    this.undos.push({ what, run });
  }

  /** The operation completed: keep everything it did. */
  success(): void {
    this.done = true;
    this.undos = [];
  }

  /**
   * Undo every registered step, newest first. An undo that fails is logged and
   * the rest still run: leaving less behind beats stopping at the first error.
   * Call it from `finally`; it does nothing after success().
   */
  async fail(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const undos = this.undos.reverse();
    this.undos = [];
    for (const u of undos) {
      try {
        await u.run();
      } catch (e) {
        this.log.warn('revert step failed', { step: u.what, error: (e as Error).message });
      }
    }
  }
}
