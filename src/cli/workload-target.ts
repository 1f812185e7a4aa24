// "deployment/NAME" or "deployment NAME" for scale and rollout, resolved
// through discovery like every other command.
import type { DiscoveredResource } from '../client/discovery.js';
import type { CliContext } from './context.js';

export interface WorkloadTarget {
  ref: DiscoveredResource;
  name: string;
  /** kubectl's way of naming it in messages: deployment.apps/NAME. */
  label: string;
}

export async function workloadTarget(ctx: CliContext, args: string[], allowed: string[]): Promise<WorkloadTarget> {
  const [first, second] = args;
  const [type, name] = first?.includes('/') ? first.split('/', 2) : [first, second];
  if (!type || !name) throw new Error('a resource is required, as TYPE/NAME or TYPE NAME (e.g. deployment/web)');
  const ref = await ctx.resolve(type);
  if (!allowed.includes(ref.kind)) throw new Error(`no ${allowed.join(' or ')} named by ${JSON.stringify(first)}: ${ref.kind} is not supported here`);
  return { ref, name, label: `${ref.singular || ref.kind.toLowerCase()}${ref.group ? `.${ref.group}` : ''}/${name}` };
}
