// `lodge describe TYPE [NAME...]`: metadata, the kind's own describe lines
// (from the kind descriptors in src/apis) and the object's Events.
import type { Command } from 'commander';
import { registry } from '../apis/registry.js';
import type { KubeObject } from '../apis/types.js';
import type { KubeList } from '../client/client.js';
import type { DiscoveredResource } from '../client/discovery.js';
import { withContext, type CliContext } from './context.js';
import { reportError } from './errors.js';
import { describeObject, type EventLike } from './print/describe.js';
import { parseTypeArgs, resolveRequests } from './targets.js';
import { apiVersionOfRef } from '../client/paths.js';

interface DescribeOptions {
  selector?: string;
  allNamespaces?: boolean;
}

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .description('Show details of objects, with their events')
    .argument('<type>', 'resource type, or TYPE/NAME')
    .argument('[names...]', 'names (all objects of the type when omitted)')
    .option('-l, --selector <selector>', 'describe the objects matching this label selector')
    .option('-A, --all-namespaces', 'across all namespaces')
    .action(async (type: string, names: string[], opts: DescribeOptions, cmd: Command) => {
      await withContext(cmd, (ctx) => runDescribe(ctx, [type, ...names], opts));
    });
}

/** The kind's describe() lines, or undefined to use the generic fallback. */
function kindLines(obj: KubeObject): string[] | undefined {
  try {
    return registry().kind(obj.apiVersion, obj.kind)?.describe?.(obj);
  } catch (err) {
    // A describer bug should cost its section, not the whole description.
    return [`(describing ${obj.kind} failed: ${(err as Error).message})`];
  }
}

async function eventsFor(ctx: CliContext, obj: KubeObject): Promise<EventLike[] | string> {
  if (!obj.metadata.uid) return '<none>';
  try {
    const events = await ctx.resolve('events');
    // Events of cluster-scoped objects may live in any namespace.
    const list = await ctx.client.list<KubeList<EventLike & KubeObject>>(events, {
      namespace: obj.metadata.namespace,
      fieldSelector: `involvedObject.uid=${obj.metadata.uid}`,
    });
    return list.items;
  } catch (err) {
    return `<unable to list events: ${(err as Error).message}>`;
  }
}

async function objectsFor(ctx: CliContext, ref: DiscoveredResource, names: string[], opts: DescribeOptions): Promise<KubeObject[]> {
  const namespace = opts.allNamespaces ? undefined : ctx.namespace;
  if (names.length) {
    const out: KubeObject[] = [];
    for (const name of names) {
      try {
        out.push(await ctx.client.get<KubeObject>(ref, name, { namespace }));
      } catch (err) {
        reportError(err);
      }
    }
    return out;
  }
  const list = await ctx.client.list<KubeList>(ref, { namespace, labelSelector: opts.selector });
  return list.items;
}

export async function runDescribe(ctx: CliContext, args: string[], opts: DescribeOptions): Promise<void> {
  const reqs = await resolveRequests(ctx, parseTypeArgs(args));
  const texts: string[] = [];
  for (const r of reqs) {
    for (const obj of await objectsFor(ctx, r.resource, r.names, opts)) {
      obj.apiVersion ||= apiVersionOfRef(r.resource);
      obj.kind ||= r.resource.kind;
      texts.push(describeObject(obj, kindLines(obj), await eventsFor(ctx, obj)));
    }
  }
  if (texts.length === 0 && reqs.every((r) => r.names.length === 0)) {
    process.stderr.write(reqs[0]?.resource.namespaced && !opts.allNamespaces ? `No resources found in ${ctx.namespace} namespace.\n` : 'No resources found\n');
  }
  process.stdout.write(texts.join('\n\n'));
}
