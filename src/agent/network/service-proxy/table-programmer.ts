// Keeps the proxy's part of one nft table equal to a desired Ruleset. The
// first sync reads the table back (after an agent restart the rules are
// there already and stay); later syncs diff against the in-memory copy of
// what was applied and send only the difference: first what adds, which
// takes effect at once, then what removes (plan.ts says why two). A failed
// transaction changes nothing in the kernel, so the copy is dropped and the
// next sync reads the table again.
import { serialized } from '../serial.js';
import { runNft } from './nft-run.js';
import { planRuleset, type Plan } from './plan.js';
import { appliedFromListing, listTable } from './read-table.js';
import type { AppliedRuleset, Ruleset } from './ruleset.js';

const TABLE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export interface SyncResult {
  stats: Plan['stats'];
  /** Script lines sent in the first transaction (0: nothing to add or change). */
  lines: number;
  /** Lines of the second (removals), running when sync resolves. */
  retireLines: number;
  /** Resolves once the removals are done; rejects (with the script) if they failed, and the next sync then reads the table back. */
  retired: Promise<void>;
  /** Whether the table was read back first. */
  readBack: boolean;
}

export class TableProgrammer {
  #applied: AppliedRuleset | undefined;

  constructor(readonly table: string) {
    if (!TABLE.test(table)) throw new Error(`nft table name ${JSON.stringify(table)}: must match ${TABLE.source}`);
  }

  /** Make the table hold `want` (only the proxy's objects; nat.ts's chains are left alone). Resolves once the new rules are in effect. */
  sync(want: Ruleset): Promise<SyncResult> {
    return new Promise<SyncResult>((resolve, reject) => {
      // Same key as nat.ts: the two never interleave a read-back with the other's write. Held through the removals,
      // so the next sync plans from a table that has had them.
      void serialized(`nft:${this.table}`, async () => {
        let retireDone!: () => void;
        let retireFailed!: (e: Error) => void;
        const retired = new Promise<void>((res, rej) => ((retireDone = res), (retireFailed = rej)));
        // Nobody may wait for it (a caller that only needs the rules in effect): no unhandled rejection for that.
        retired.catch(() => undefined);
        let plan: Plan;
        let readBack: boolean;
        try {
          readBack = !this.#applied;
          const applied = this.#applied ?? appliedFromListing(await listTable(this.table));
          this.#applied = undefined;
          plan = planRuleset(this.table, applied, want);
          if (plan.lines.length) await this.#nft(plan.lines, 'applying');
        } catch (e) {
          reject(e as Error);
          return;
        }
        resolve({ stats: plan.stats, lines: plan.lines.length, retireLines: plan.retire.length, retired, readBack });
        try {
          if (plan.retire.length) await this.#nft([`add table inet ${this.table}`, ...plan.retire], 'removing');
          this.#applied = plan.next;
          retireDone();
        } catch (e) {
          // The new rules are in; only leftovers (never reached) remain. The next sync reads the table back and removes them.
          retireFailed(e as Error);
        }
      });
    });
  }

  async #nft(lines: string[], what: string): Promise<void> {
    try {
      await runNft(['-f', '-'], lines.join('\n') + '\n');
    } catch (e) {
      const preview = lines.length > 40 ? [...lines.slice(0, 40), `… ${lines.length - 40} more lines`] : lines;
      throw new Error(`nft table inet ${this.table}: ${what} ${lines.length} changes failed: ${(e as Error).message}\nscript:\n${preview.join('\n')}`);
    }
  }

  /** Forget the applied copy: the next sync reads the table again. */
  invalidate(): void {
    this.#applied = undefined;
  }
}
