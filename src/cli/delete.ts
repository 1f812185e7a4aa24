// `lodge delete TYPE NAME... | TYPE/NAME... | -f FILE | TYPE -l SEL | TYPE --all | INSTANCE`.
// Deletes each object, prints `pod "x" deleted`, then (by default, like
// kubectl) waits until every deleted object is really gone: finalizers
// and graceful termination can keep it around for a while.
import { InvalidArgumentError, type Command } from 'commander';
import type { KubeObject } from '../apis/types.js';
import type { KubeList } from '../client/client.js';
import type { DiscoveredResource } from '../client/discovery.js';
import { isNotFound, isStatus } from '../client/errors.js';
import { withContext, type CliContext } from './context.js';
import { parseDuration } from './duration.js';
import { reportError, withContext as errorContext } from './errors.js';
import { collect, parseBool, parseInteger } from './flags.js';
import { readManifests } from './manifests.js';
import { kindLabel } from './print/objects.js';
import { parseTypeArgs, resolveRequests } from './targets.js';
import { waitForDeletion } from './wait.js';

interface DeleteCommandOptions {
  filename?: string[];
  recursive?: boolean;
  selector?: string;
  all?: boolean;
  wait: boolean;
  cascade: 'Background' | 'Foreground' | 'Orphan';
  gracePeriod: number;
  force?: boolean;
  ignoreNotFound?: boolean;
  timeout?: string;
}

export function parseCascade(value: string | undefined): DeleteCommandOptions['cascade'] {
  switch ((value ?? 'background').toLowerCase()) {
    case 'background':
    case 'true': // kubectl's old boolean spelling
      return 'Background';
    case 'foreground':
      return 'Foreground';
    case 'orphan':
    case 'false':
      return 'Orphan';
    default:
      throw new InvalidArgumentError(`"${value}" is not background, foreground or orphan`);
  }
}

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('Delete objects by type and name, by selector, or from files')
    .argument('[args...]', 'TYPE NAME..., TYPE/NAME... or TYPE with -l/--all')
    .option('-f, --filename <path>', 'delete the objects in these files (repeatable)', collect)
    .option('-R, --recursive', 'descend into subdirectories of -f directories')
    .option('-l, --selector <selector>', 'delete the objects matching this label selector')
    .option('--all', 'delete all objects of the type in the namespace')
    .option('--wait [bool]', 'wait until the objects are gone', parseBool, true)
    .option('--cascade [mode]', 'background|foreground|orphan: what happens to dependents', parseCascade, 'Background')
    .option('--grace-period <seconds>', 'seconds to let the object terminate; -1 = its default', parseInteger, -1)
    .option('--force', 'with --grace-period=0, remove immediately without waiting for termination')
    .option('--ignore-not-found', 'treat objects that do not exist as deleted')
    .option('--timeout <duration>', 'give up waiting after this long (0 = wait as long as it takes)', '0')
    .action(async (args: string[], opts: DeleteCommandOptions, cmd: Command) => {
      await withContext(cmd, (ctx) => runDelete(ctx, args, opts));
    });
}

interface Target {
  ref: DiscoveredResource;
  name: string;
  namespace?: string;
  /** Where the reference came from, for error context. */
  source?: string;
}

async function collectTargets(ctx: CliContext, args: string[], opts: DeleteCommandOptions): Promise<Target[]> {
  if (opts.filename?.length) {
    if (args.length) throw new Error('give either -f or resource arguments, not both');
    const targets: Target[] = [];
    for (const m of await readManifests(opts.filename, opts.recursive)) {
      const ref = await ctx.client.discovery.forKind(m.object.apiVersion, m.object.kind);
      const name = m.object.metadata.name;
      if (!name) throw new Error(`"${m.source}": a ${m.object.kind} without metadata.name cannot be deleted`);
      let namespace: string | undefined;
      try {
        namespace = ctx.namespaceFor(ref, m.object.metadata.namespace);
      } catch (err) {
        throw errorContext(err, `error when deleting "${m.source}"`);
      }
      targets.push({ ref, name, namespace, source: m.source });
    }
    return targets;
  }
  // `lodge delete NAME` (one word that is no resource type) deletes the Instance NAME, as `incus delete` does.
  if (args.length === 1 && !args[0]!.includes('/') && !opts.selector && !opts.all) {
    const isType = await ctx.resolve(args[0]!).then(
      () => true,
      () => false,
    );
    if (!isType) return [{ ref: await ctx.resolve('instances.lodge.dev'), name: args[0]!, namespace: ctx.namespace }];
  }
  const reqs = await resolveRequests(ctx, parseTypeArgs(args));
  const targets: Target[] = [];
  for (const r of reqs) {
    const namespace = r.resource.namespaced ? ctx.namespace : undefined;
    if (r.names.length) {
      if (opts.selector || opts.all) throw new Error('names cannot be combined with --selector or --all');
      targets.push(...r.names.map((name) => ({ ref: r.resource, name, namespace })));
    } else if (opts.selector || opts.all) {
      const list = await ctx.client.list<KubeList>(r.resource, { namespace, labelSelector: opts.selector });
      targets.push(...list.items.map((o) => ({ ref: r.resource, name: o.metadata.name ?? '', namespace })));
    } else {
      throw new Error('resource(s) were provided, but no name was specified; give names, -l SELECTOR or --all');
    }
  }
  return targets;
}

export async function runDelete(ctx: CliContext, args: string[], opts: DeleteCommandOptions): Promise<void> {
  // kubectl's rules: 0 means "now" only with --force; otherwise it becomes 1s.
  let grace = opts.gracePeriod;
  if (opts.force && grace < 0) grace = 0;
  if (grace === 0 && !opts.force) grace = 1;
  if (opts.force) process.stderr.write('warning: Immediate deletion does not wait for confirmation that the running resource has been terminated.\n');
  const timeoutMs = parseDuration(opts.timeout ?? '0');

  const targets = await collectTargets(ctx, args, opts);
  if (targets.length === 0) {
    if (!opts.ignoreNotFound) process.stderr.write('No resources found\n');
    return;
  }
  const pending: Array<{ t: Target; uid?: string }> = [];
  for (const t of targets) {
    try {
      const res = await ctx.client.delete(t.ref, t.name, {
        namespace: t.namespace,
        propagationPolicy: opts.cascade,
        gracePeriodSeconds: grace >= 0 ? grace : undefined,
      });
      process.stdout.write(`${kindLabel(t.ref.kind, t.ref.group)} "${t.name}" deleted\n`);
      // A Status means the object is already gone; an object may still be terminating.
      if (!isStatus(res)) pending.push({ t, uid: (res as KubeObject).metadata?.uid });
    } catch (err) {
      if (opts.ignoreNotFound && isNotFound(err)) continue;
      reportError(t.source ? errorContext(err, `error when deleting "${t.source}"`) : err);
    }
  }
  if (!opts.wait || (opts.force && grace === 0)) return;
  const results = await Promise.allSettled(
    pending.map(({ t, uid }) => waitForDeletion(ctx.client, t.ref, { namespace: t.namespace, name: t.name, uid, timeoutMs })),
  );
  for (const r of results) if (r.status === 'rejected') reportError(r.reason);
}
