// `lodge scale deployment/NAME N`: sets spec.replicas through the /scale
// subresource, as `kubectl scale` does, so it works for any kind that has one.
import type { Command } from 'commander';
import { withContext } from './context.js';
import { workloadTarget } from './workload-target.js';

export function registerScale(program: Command): void {
  program
    .command('scale')
    .description('Set the number of replicas of a Deployment or ReplicaSet, e.g. lodge scale deployment/web 3')
    .argument('<target>', 'TYPE/NAME')
    .argument('<replicas>', 'the new number of replicas')
    .action(async (target: string, replicas: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const n = Number(replicas);
        if (!Number.isInteger(n) || n < 0) throw new Error(`replicas must be a non-negative integer, not ${JSON.stringify(replicas)}`);
        const t = await workloadTarget(ctx, [target], ['Deployment', 'ReplicaSet']);
        await ctx.client.patch(t.ref, t.name, { spec: { replicas: n } }, 'application/merge-patch+json', { namespace: ctx.namespace, subresource: 'scale' });
        process.stdout.write(`${t.label} scaled\n`);
      });
    });
}
