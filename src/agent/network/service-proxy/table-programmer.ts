// Keeps the proxy's part of one nft table equal to a desired Ruleset. The
// first sync reads the table back (after an agent restart the rules are
// there already and stay); later syncs diff against the in-memory copy of
// what was applied and send only the difference, in one transaction. A
// failed transaction changes nothing in the kernel, so the copy is dropped
// and the next sync reads the table again.
import { run } from '../../images/run.js';
import { serialized } from '../serial.js';
import { planRuleset, type Plan } from './plan.js';
import { appliedFromListing, listTable } from './read-table.js';
import type { AppliedRuleset, Ruleset } from './ruleset.js';

const TABLE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export interface SyncResult {
  stats: Plan['stats'];
  /** Script lines sent (0: the table was already right). */
  lines: number;
  /** Whether the table was read back first. */
  readBack: boolean;
}

export class TableProgrammer {
  #applied: AppliedRuleset | undefined;

  constructor(readonly table: string) {
    if (!TABLE.test(table)) throw new Error(`nft table name ${JSON.stringify(table)}: must match ${TABLE.source}`);
  }

  /** Make the table hold `want` (only the proxy's objects; nat.ts's chains are left alone). */
  sync(want: Ruleset): Promise<SyncResult> {
    // Same key as nat.ts: the two never interleave a read-back with the other's write.
    return serialized(`nft:${this.table}`, async () => {
      const readBack = !this.#applied;
      const applied = this.#applied ?? appliedFromListing(await listTable(this.table));
      this.#applied = undefined;
      const plan = planRuleset(this.table, applied, want);
      if (plan.lines.length) {
        const script = plan.lines.join('\n') + '\n';
        try {
          await run('nft', ['-f', '-'], { input: script });
        } catch (e) {
          const preview = plan.lines.length > 40 ? [...plan.lines.slice(0, 40), `… ${plan.lines.length - 40} more lines`] : plan.lines;
          throw new Error(`nft table inet ${this.table}: applying ${plan.lines.length} changes failed: ${(e as Error).message}\nscript:\n${preview.join('\n')}`);
        }
      }
      this.#applied = plan.next;
      return { stats: plan.stats, lines: plan.lines.length, readBack };
    });
  }

  /** Forget the applied copy: the next sync reads the table again. */
  invalidate(): void {
    this.#applied = undefined;
  }
}
