// `lodge create -f FILE` (POST each object) and `lodge create namespace NAME`.
import type { Command } from 'commander';
import type { KubeObject } from '../apis/types.js';
import { withContext, type CliContext } from './context.js';
import { reportError, withContext as errorContext } from './errors.js';
import { collect } from './flags.js';
import { readManifests } from './manifests.js';
import { kindLabel } from './print/objects.js';

interface CreateOptions {
  filename?: string[];
  recursive?: boolean;
}

export function registerCreate(program: Command): void {
  const create = program
    .command('create')
    .description('Create objects from files, or a namespace by name')
    .option('-f, --filename <path>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'descend into subdirectories of -f directories')
    .action(async (opts: CreateOptions, cmd: Command) => {
      if (!opts.filename?.length) {
        cmd.help({ error: true });
      }
      await withContext(cmd, (ctx) => createFromFiles(ctx, opts));
    });

  create
    .command('namespace')
    .alias('ns')
    .description('Create a namespace')
    .argument('<name>', 'namespace name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, (ctx) => createNamespace(ctx, name));
    });
}

async function createFromFiles(ctx: CliContext, opts: CreateOptions): Promise<void> {
  const manifests = await readManifests(opts.filename ?? [], opts.recursive);
  if (manifests.length === 0) throw new Error('no objects passed to create');
  for (const m of manifests) {
    try {
      const ref = await ctx.client.discovery.forKind(m.object.apiVersion, m.object.kind);
      const namespace = ctx.namespaceFor(ref, m.object.metadata.namespace);
      if (namespace) m.object.metadata.namespace = namespace;
      const created = await ctx.client.create<KubeObject>(ref, m.object, { namespace });
      process.stdout.write(`${kindLabel(ref.kind, ref.group)}/${created.metadata?.name ?? m.object.metadata.name} created\n`);
    } catch (err) {
      reportError(errorContext(err, `error when creating "${m.source}"`));
    }
  }
}

async function createNamespace(ctx: CliContext, name: string): Promise<void> {
  const ref = await ctx.resolve('namespaces');
  await ctx.client.create(ref, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  process.stdout.write(`namespace/${name} created\n`);
}
