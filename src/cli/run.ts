// `lodge run NAME --image IMAGE [-- ARGS...]`: create one Pod, as `kubectl run`
// does. Arguments after `--` become the container's args, or its command with
// --command. Flag values are checked before anything is sent to the server.
import { InvalidArgumentError, type Command } from 'commander';
import type { KubeObject } from '../apis/types.js';
import { withContext, type CliContext } from './context.js';
import { formatObjects, kindLabel, parseOutputFormat } from './print/objects.js';

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
type RestartPolicy = (typeof RESTART_POLICIES)[number];

interface RunOptions {
  image: string;
  restart: RestartPolicy;
  env?: Array<{ name: string; value: string }>;
  labels?: Record<string, string>;
  command?: boolean;
  dryRun?: string;
  output?: string;
}

function parseRestart(value: string): RestartPolicy {
  const p = RESTART_POLICIES.find((r) => r === value);
  if (!p) throw new InvalidArgumentError(`invalid restart policy "${value}": use Always, OnFailure or Never`);
  return p;
}

function parseEnv(value: string, previous: RunOptions['env']): NonNullable<RunOptions['env']> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`invalid env "${value}": use NAME=VALUE`);
  return [...(previous ?? []), { name: value.slice(0, eq), value: value.slice(eq + 1) }];
}

function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid label "${pair}": use key=value[,key=value...]`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function parseDryRun(value: string): string {
  if (value !== 'none' && value !== 'server' && value !== 'client') {
    throw new InvalidArgumentError(`"${value}" is not none, server or client`);
  }
  return value;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Create a Pod running one container: lodge run NAME --image IMAGE [-- ARGS...]')
    .argument('<name>', 'name of the Pod and of its container')
    .argument('[args...]', 'after --: the container\'s args (its command with --command)')
    .requiredOption('--image <image>', 'container image')
    .option('--restart <policy>', 'Always|OnFailure|Never', parseRestart, 'Always' as RestartPolicy)
    .option('--env <NAME=VALUE>', 'environment variable for the container (repeatable)', parseEnv)
    .option('--labels <k=v,...>', 'labels of the Pod (default: run=NAME)', parseLabels)
    .option('--command', 'use the arguments after -- as the command instead of args')
    .option('--dry-run <mode>', 'none|server|client: with server or client, nothing is persisted', parseDryRun)
    .option('-o, --output <format>', 'yaml|json|name: print the object instead of a message')
    .action(async (name: string, args: string[], opts: RunOptions, cmd: Command) => {
      // Check -o before talking to the server, so a bad one creates nothing.
      const format = opts.output ? parseOutputFormat(opts.output) : undefined;
      if (format?.kind === 'table') throw new Error(`--output "${opts.output}" is not supported by run: use yaml, json or name`);
      const pod = buildPod(name, args, opts);
      if (opts.dryRun === 'client') {
        print(pod, format, '(dry run)');
        return;
      }
      await withContext(cmd, (ctx) => createPod(ctx, pod, opts, format));
    });
}

export function buildPod(name: string, args: string[], opts: RunOptions): KubeObject {
  const container: Record<string, unknown> = { name, image: opts.image };
  if (args.length) container[opts.command ? 'command' : 'args'] = args;
  if (opts.env?.length) container.env = opts.env;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: opts.labels ?? { run: name } },
    spec: { containers: [container], restartPolicy: opts.restart },
  } as KubeObject;
}

async function createPod(ctx: CliContext, pod: KubeObject, opts: RunOptions, format: ReturnType<typeof parseOutputFormat> | undefined): Promise<void> {
  const ref = await ctx.resolve('pods');
  const dryRun = opts.dryRun === 'server';
  pod.metadata.namespace = ctx.namespace;
  const created = await ctx.client.create<KubeObject>(ref, pod, { namespace: ctx.namespace, dryRun });
  print(created, format, dryRun ? '(server dry run)' : '');
}

function print(obj: KubeObject, format: ReturnType<typeof parseOutputFormat> | undefined, note: string): void {
  if (format && format.kind !== 'table') {
    process.stdout.write(formatObjects([obj], format, true));
    return;
  }
  process.stdout.write(`${kindLabel('Pod', '')}/${obj.metadata.name} created${note ? ' ' + note : ''}\n`);
}
