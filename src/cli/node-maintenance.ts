// `lodge cordon|uncordon|drain NODE`: node maintenance as kubectl has it
// (cordon and uncordon set spec.unschedulable; drain cordons, then evicts
// the node's Pods through the pods/eviction subresource, retrying those a
// disruption budget holds back), plus Lodge's Instances, which drain stops
// with --stop-instances until live migration exists. See drain/.
import { InvalidArgumentError, type Command } from 'commander';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { setUnschedulable, type DryRun } from './drain/cordon.js';
import { drainNode } from './drain/drain.js';
import type { Output } from './drain/evict.js';

const stdio: Output = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/** kubectl's --dry-run: none, client (also a bare --dry-run), server. */
export function parseDryRun(v: string | boolean | undefined): DryRun {
  if (v === undefined || v === false) return 'none';
  if (v === true) return 'client';
  if (v === 'none' || v === 'client' || v === 'server') return v;
  throw new InvalidArgumentError(`Invalid dry-run value (${v}). Must be "none", "server", or "client".`);
}

function parseGracePeriod(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`grace period must be a whole number of seconds, not ${JSON.stringify(v)}`);
  return n;
}

interface DrainFlags {
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  gracePeriod: number;
  timeout: string;
  disableEviction?: boolean;
  dryRun?: string | boolean;
  podSelector?: string;
  stopInstances?: boolean;
}

export function registerNodeMaintenance(program: Command): void {
  for (const [verb, desired] of [['cordon', true], ['uncordon', false]] as const) {
    program
      .command(verb)
      .description(desired ? 'Mark a node unschedulable: nothing new is placed on it' : 'Mark a node schedulable again')
      .argument('<node>', 'the node')
      .option('--dry-run [strategy]', 'none, client (print only) or server (the server checks, changes nothing)')
      .action(async (node: string, opts: { dryRun?: string | boolean }, cmd: Command) => {
        const dryRun = parseDryRun(opts.dryRun);
        await withContext(cmd, async (ctx) => setUnschedulable(ctx.client, node, desired, dryRun, stdio));
      });
  }
  program
    .command('drain')
    .description('Cordon a node and evict its Pods (and, with --stop-instances, stop its Instances: they cannot be migrated yet)')
    .argument('<node>', 'the node')
    .option('--ignore-daemonsets', 'leave DaemonSet-managed Pods (their controller ignores the cordon anyway)')
    .option('--delete-emptydir-data', 'evict Pods with emptyDir volumes, whose data is lost')
    .option('--force', 'also evict Pods no controller manages (they are not recreated)')
    .option('--grace-period <seconds>', "seconds each Pod gets to terminate (negative: the Pod's own)", parseGracePeriod, -1)
    .option('--timeout <duration>', 'give up after this long, e.g. 5m (0 = no limit)', '0')
    .option('--disable-eviction', 'delete Pods instead of evicting them: disruption budgets are not consulted')
    .option('--dry-run [strategy]', 'none, client (print what would be evicted) or server (the server checks, changes nothing)')
    .option('--pod-selector <selector>', 'only Pods with these labels, e.g. app=web')
    .option('--stop-instances', 'stop the Instances on the node, as lodge stop does (they are stopped, not moved: there is no live migration yet)')
    .action(async (node: string, opts: DrainFlags, cmd: Command) => {
      const dryRun = parseDryRun(opts.dryRun);
      const timeoutMs = parseDuration(opts.timeout);
      await withContext(cmd, async (ctx) =>
        drainNode(
          ctx.client,
          node,
          {
            ignoreDaemonSets: Boolean(opts.ignoreDaemonsets),
            deleteEmptyDirData: Boolean(opts.deleteEmptydirData),
            force: Boolean(opts.force),
            gracePeriodSeconds: opts.gracePeriod,
            timeoutMs,
            disableEviction: Boolean(opts.disableEviction),
            dryRun,
            podSelector: opts.podSelector,
            stopInstances: Boolean(opts.stopInstances),
          },
          stdio,
        ),
      );
    });
}
