// `lodge apply -f`: server-side apply of every object in the manifests, one
// PATCH (application/apply-patch+yaml) per object, reporting per object
// whether it was created, configured or unchanged as kubectl does. A GET
// before the patch tells "created" apart; comparing the object before and
// after tells "configured" from "unchanged" (the server does not write a no-op
// apply, and a write that only records field ownership changes nothing a user
// configured).
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import type { KubeObject } from '../apis/types.js';
import type { DiscoveredResource } from '../client/discovery.js';
import { isNotFound } from '../client/errors.js';
import { withContext, type CliContext } from './context.js';
import { reportError, withContext as errorContext } from './errors.js';
import { readManifests, type Manifest } from './manifests.js';
import { kindLabel } from './print/objects.js';
import { collect, parseBool } from './flags.js';

interface ApplyOptions {
  filename?: string[];
  recursive?: boolean;
  serverSide: boolean;
  forceConflicts?: boolean;
  fieldManager: string;
  dryRun?: string;
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('Create or update objects from files (server-side apply)')
    .requiredOption('-f, --filename <path>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'descend into subdirectories of -f directories')
    .option('--server-side [bool]', 'use server-side apply (default); false = create or merge-patch from the client', parseBool, true)
    .option('--force-conflicts', 'take ownership of fields other managers own (server-side apply)')
    .option('--field-manager <name>', 'name of the manager that owns the applied fields', 'lodge')
    .option('--dry-run <mode>', 'none|server: with server, nothing is persisted')
    .action(async (opts: ApplyOptions, cmd: Command) => {
      await withContext(cmd, (ctx) => runApply(ctx, opts));
    });
}

type Outcome = 'created' | 'configured' | 'unchanged';

/** Fields the server owns; sending them in an apply would be rejected or fight the server. */
function applyBody(obj: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

async function applyOne(ctx: CliContext, m: Manifest, ref: DiscoveredResource, opts: ApplyOptions, dryRun: boolean): Promise<{ outcome: Outcome; name: string }> {
  const obj = m.object;
  const name = obj.metadata.name;
  if (!name) throw new Error(`error validating "${m.source}": ${obj.kind} has no metadata.name${obj.metadata.generateName ? ' (apply cannot use generateName; use create)' : ''}`);
  const namespace = ctx.namespaceFor(ref, obj.metadata.namespace);
  if (namespace) obj.metadata.namespace = namespace;

  let before: KubeObject | undefined;
  try {
    before = await ctx.client.get<KubeObject>(ref, name, { namespace });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }

  let after: KubeObject;
  if (opts.serverSide) {
    after = await ctx.client.patch<KubeObject>(ref, name, applyBody(obj), 'application/apply-patch+yaml', {
      namespace,
      fieldManager: opts.fieldManager,
      force: opts.forceConflicts,
      dryRun,
    });
  } else if (!before) {
    after = await ctx.client.create<KubeObject>(ref, applyBody(obj), { namespace, fieldManager: opts.fieldManager, dryRun });
  } else {
    // Without last-applied bookkeeping this cannot remove fields; server-side apply can.
    after = await ctx.client.patch<KubeObject>(ref, name, applyBody(obj), 'application/merge-patch+json', { namespace, fieldManager: opts.fieldManager, dryRun });
  }
  const outcome: Outcome = !before ? 'created' : sameConfiguration(before, after) ? 'unchanged' : 'configured';
  return { outcome, name };
}

/**
 * Whether an apply left the object as it was, bookkeeping aside. The first
 * apply to an object without managedFields records a "before-first-apply"
 * owner: a write, a new resourceVersion, but nothing configured.
 */
function sameConfiguration(before: KubeObject, after: KubeObject): boolean {
  if (before.metadata.resourceVersion === after.metadata?.resourceVersion) return true;
  const strip = (o: KubeObject): unknown => {
    const { managedFields: _m, resourceVersion: _rv, ...metadata } = o.metadata ?? {};
    return { ...o, metadata };
  };
  return isDeepStrictEqual(strip(before), strip(after));
}

export async function runApply(ctx: CliContext, opts: ApplyOptions): Promise<void> {
  if (opts.dryRun && opts.dryRun !== 'none' && opts.dryRun !== 'server') throw new Error(`--dry-run must be "none" or "server", not "${opts.dryRun}"`);
  const dryRun = opts.dryRun === 'server';
  const manifests = await readManifests(opts.filename ?? [], opts.recursive);
  if (manifests.length === 0) throw new Error('no objects passed to apply');
  for (const m of manifests) {
    try {
      const ref = await ctx.client.discovery.forKind(m.object.apiVersion, m.object.kind);
      const { outcome, name } = await applyOne(ctx, m, ref, opts, dryRun);
      process.stdout.write(`${kindLabel(ref.kind, ref.group)}/${name} ${outcome}${dryRun ? ' (server dry run)' : ''}\n`);
    } catch (err) {
      // Like kubectl: report and go on with the other objects; exit 1 at the end.
      reportError(errorContext(err, `error when applying "${m.source}"`));
    }
  }
}
