// `lodge drain NODE`, kubectl drain's sequence: cordon the node, sort its
// Pods through kubectl's filters (refusing, with kubectl's messages, when a
// Pod could not come back or a flag is missing), evict the rest and wait
// until they are gone. Lodge adds Instances: they cannot be migrated yet, so
// drain refuses while one runs on the node, or stops them (--stop-instances).
// Nothing is evicted or stopped when any check refuses.
import type { Pod } from '../../apis/core/v1/types.js';
import type { KubeClient, KubeList } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { PODS } from '../../client/refs.js';
import { setUnschedulable, dryRunSuffix, type DryRun } from './cordon.js';
import { evictOrDeletePods, podApi, type Output, type PodApi } from './evict.js';
import { deletionErrors, deletionWarnings, podKey, podsForDeletion, podsToDelete, type DaemonSetLookup, type FilterOptions, type PodDelete } from './filters.js';
import { instanceKey, instanceRefusal, instancesOnNode, needsStop, stopInstances } from './instances.js';

const DAEMONSETS = { group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true, kind: 'DaemonSet' } as const;

export interface DrainOptions extends FilterOptions {
  /** Seconds; negative = each Pod's (and Instance's) own grace period. */
  gracePeriodSeconds: number;
  /** 0 = no limit. */
  timeoutMs: number;
  disableEviction: boolean;
  dryRun: DryRun;
  /** Label selector: only these Pods are drained. */
  podSelector?: string;
  stopInstances: boolean;
  /** Tests shorten kubectl's 5 s retry and 1 s poll. */
  retryMs?: number;
  pollMs?: number;
}

/** Thrown once the refusal or failure has been printed kubectl's way; its message is the error list. */
export class DrainError extends Error {}

function daemonSetLookup(client: KubeClient): DaemonSetLookup {
  return async (namespace, name) => {
    try {
      await client.get(DAEMONSETS, name, { namespace });
      return 'found';
    } catch (e) {
      if (isNotFound(e)) return 'not-found';
      throw e;
    }
  };
}

async function podsOnNode(client: KubeClient, node: string, selector: string | undefined): Promise<Pod[]> {
  const list = await client.list<KubeList<Pod>>(PODS, { fieldSelector: `spec.nodeName=${node}`, labelSelector: selector || undefined });
  return list.items;
}

async function sortPods(client: KubeClient, node: string, o: DrainOptions): Promise<PodDelete[]> {
  return podsForDeletion(await podsOnNode(client, node, o.podSelector), o, daemonSetLookup(client));
}

/** kubectl's "unable to drain node" report; the DrainError carries the errors for the final "error:" line. */
function refuse(node: string, errors: string[], output: Output): never {
  const agg = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
  output.err(`error: unable to drain node ${JSON.stringify(node)} due to error: ${agg}, continuing command...`);
  output.err('There are pending nodes to be drained:');
  output.err(` ${node}`);
  throw new DrainError(errors.join('\n'));
}

export async function drainNode(client: KubeClient, node: string, o: DrainOptions, output: Output, api: PodApi = podApi(client)): Promise<void> {
  await setUnschedulable(client, node, true, o.dryRun, output);

  const list = await sortPods(client, node, o);
  const instances = await instancesOnNode(client, node);
  const running = instances.filter(needsStop);
  const errors = deletionErrors(list);
  const refusal = o.stopInstances ? undefined : instanceRefusal(node, running);
  if (refusal) errors.push(refusal);
  if (errors.length) refuse(node, errors, output);

  const warnings = deletionWarnings(list);
  if (warnings) output.err(`Warning: ${warnings}`);
  const pods = podsToDelete(list);

  if (o.dryRun === 'client') {
    for (const p of pods) output.out(`evicting pod ${podKey(p)} (dry run)`);
    for (const i of running) output.out(`stopping instance ${instanceKey(i)} (dry run)`);
    output.out(`node/${node} drained (dry run)`);
    return;
  }

  const deadline = o.timeoutMs > 0 ? Date.now() + o.timeoutMs : Infinity;
  const serverDryRun = o.dryRun === 'server';
  const [podErrors, instanceErrors] = await Promise.all([
    evictOrDeletePods(api, pods, { ...o, serverDryRun, deadline }, output),
    stopInstances(client, node, instances, { gracePeriodSeconds: o.gracePeriodSeconds, serverDryRun, deadline, timeoutMs: o.timeoutMs, pollMs: o.pollMs }, output),
  ]);
  const failures = [...podErrors, ...instanceErrors];
  if (failures.length) {
    const agg = failures.length === 1 ? failures[0] : `[${failures.join(', ')}]`;
    // As kubectl: which Pods are still there, then the node as pending.
    const pending = podsToDelete(await sortPods(client, node, o).catch(() => []));
    if (pending.length) {
      output.err(`There are pending pods in node ${JSON.stringify(node)} when an error occurred: ${agg}`);
      for (const p of pending) output.err(`pod/${p.metadata.name}`);
    }
    refuse(node, failures, output);
  }
  output.out(`node/${node} drained${dryRunSuffix(o.dryRun)}`);
}
