// `lodge logs POD [-c C] [-f] [--tail N] [--previous]`: a container's log
// from the pods/log subresource, streamed to stdout as it arrives.
import type { Command } from 'commander';
import { withContext, type CliContext } from './context.js';
import { parseDuration } from './duration.js';
import { parseInteger } from './flags.js';

interface LogsOptions {
  container?: string;
  follow?: boolean;
  tail: number;
  previous?: boolean;
  timestamps?: boolean;
  since?: string;
  limitBytes?: number;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("Print the logs of a container in a Pod")
    .argument('<pod>', 'POD or pod/POD')
    .option('-c, --container <name>', 'the container (needed when the Pod has more than one)')
    .option('-f, --follow', 'keep streaming new lines until the Pod goes (Ctrl-C to stop)')
    .option('--tail <lines>', 'only the last N lines (-1 = all)', parseInteger, -1)
    .option('-p, --previous', "the previous run's log (before the last restart)")
    .option('--timestamps', 'prefix each line with its RFC3339 time')
    .option('--since <duration>', 'only lines newer than this, e.g. 5s, 2m, 3h')
    .option('--limit-bytes <n>', 'stop after this many bytes', parseInteger)
    .action(async (pod: string, opts: LogsOptions, cmd: Command) => {
      await withContext(cmd, (ctx) => runLogs(ctx, pod, opts));
    });
}

export function podName(arg: string): string {
  const m = /^(?:pods?|po)\/(.+)$/.exec(arg);
  if (m) return m[1];
  if (arg.includes('/')) throw new Error(`logs works on Pods only, not ${JSON.stringify(arg)}`);
  return arg;
}

export async function runLogs(ctx: CliContext, pod: string, opts: LogsOptions): Promise<void> {
  const name = podName(pod);
  const sinceMs = opts.since ? parseDuration(opts.since) : undefined;
  const res = await ctx.client.requestStream({
    path: `/api/v1/namespaces/${encodeURIComponent(ctx.namespace)}/pods/${encodeURIComponent(name)}/log`,
    accept: 'text/plain, */*',
    timeoutMs: opts.follow ? 0 : undefined,
    query: {
      container: opts.container,
      follow: opts.follow ? 'true' : undefined,
      tailLines: opts.tail >= 0 ? opts.tail : undefined,
      previous: opts.previous ? 'true' : undefined,
      timestamps: opts.timestamps ? 'true' : undefined,
      sinceSeconds: sinceMs !== undefined ? Math.max(1, Math.ceil(sinceMs / 1000)) : undefined,
      limitBytes: opts.limitBytes,
    },
  });
  for await (const chunk of res.body) {
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
}
