// Cordon and uncordon: spec.unschedulable on the Node, as kubectl's
// CordonHelper sets it, with its messages ("node/NAME cordoned", "already
// cordoned", "uncordoned"). The scheduler places nothing new on a cordoned
// node; DaemonSet Pods tolerate it (node.kubernetes.io/unschedulable).
import type { NodeSpec } from '../../apis/core/v1/types.js';
import type { KubeObject } from '../../apis/types.js';
import type { KubeClient } from '../../client/client.js';
import { NODES } from '../../client/refs.js';
import type { Output } from './evict.js';

export type DryRun = 'none' | 'client' | 'server';

export const dryRunSuffix = (d: DryRun): string => (d === 'client' ? ' (dry run)' : d === 'server' ? ' (server dry run)' : '');

/** Set spec.unschedulable (unset it to uncordon) unless it already is; prints kubectl's line. */
export async function setUnschedulable(client: KubeClient, node: string, desired: boolean, dryRun: DryRun, output: Output): Promise<void> {
  const n = await client.get<KubeObject & { spec?: NodeSpec }>(NODES, node);
  const verb = desired ? 'cordoned' : 'uncordoned';
  if (Boolean(n.spec?.unschedulable) === desired) {
    output.out(`node/${node} already ${verb}${dryRunSuffix(dryRun)}`);
    return;
  }
  if (dryRun !== 'client') {
    // false is written as absent, as kubectl's patch (omitempty) leaves it.
    await client.patch(NODES, node, { spec: { unschedulable: desired ? true : null } }, 'application/merge-patch+json', { dryRun: dryRun === 'server' });
  }
  output.out(`node/${node} ${verb}${dryRunSuffix(dryRun)}`);
}
