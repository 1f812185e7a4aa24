// Command-line object references: "pods", "pods,svc", "pod web-1 web-2",
// "pod/web-1 svc/web".
import type { DiscoveredResource } from '../client/discovery.js';
import type { CliContext } from './context.js';

export interface TypeRequest {
  typed: string;
  names: string[];
}

/** Split TYPE[,TYPE] NAME... or TYPE/NAME... into per-type requests, keeping order. */
export function parseTypeArgs(args: string[]): TypeRequest[] {
  if (args.length === 0) throw new Error('you must specify the type of resource, e.g. "pods" or "instances"');
  if (args[0].includes('/')) {
    const out: TypeRequest[] = [];
    for (const a of args) {
      const slash = a.indexOf('/');
      if (slash <= 0 || slash === a.length - 1) throw new Error(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got "${a}")`);
      const typed = a.slice(0, slash);
      const name = a.slice(slash + 1);
      const existing = out.find((r) => r.typed === typed);
      if (existing) existing.names.push(name);
      else out.push({ typed, names: [name] });
    }
    return out;
  }
  const [types, ...names] = args;
  const typeList = types.split(',').filter(Boolean);
  if (names.length && typeList.length > 1) throw new Error('names cannot be given with several resource types; use TYPE/NAME instead');
  return typeList.map((typed) => ({ typed, names: [...names] }));
}

export interface ResolvedRequest {
  resource: DiscoveredResource;
  names: string[];
}

/** Resolve the types; "all" is every resource in the "all" category, as in kubectl. */
export async function resolveRequests(ctx: CliContext, reqs: TypeRequest[]): Promise<ResolvedRequest[]> {
  const out: ResolvedRequest[] = [];
  for (const r of reqs) {
    if (r.typed.toLowerCase() === 'all') {
      const all = (await ctx.client.discovery.resources()).filter((d) => d.categories.includes('all'));
      for (const resource of all) out.push({ resource, names: r.names });
    } else {
      out.push({ resource: await ctx.resolve(r.typed), names: r.names });
    }
  }
  return out;
}
