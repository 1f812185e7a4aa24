// The Instances (virtual machines, system containers) bound to a node being
// drained. Live migration does not exist yet (it comes with multi-host), so
// drain cannot move them: it refuses while any still runs there, unless
// --stop-instances, which stops each as `lodge stop` does (runStrategy
// Halted, the strategy it replaces kept in lodge.dev/lastRunStrategy so
// `lodge start` brings it back) and waits until its node reports it Stopped.
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { KubeClient, KubeList } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { INSTANCES } from '../../client/refs.js';
import { stopPatch } from '../instance-stop-patch.js';
import type { Output } from './evict.js';
import { formatGoDuration } from './go-duration.js';
import { sleep } from '../../util/sleep.js';

export const instanceKey = (i: Instance): string => `${i.metadata.namespace}/${i.metadata.name}`;

/** The Instances bound to the node (all namespaces), leaving out those being deleted. */
export async function instancesOnNode(client: KubeClient, node: string): Promise<Instance[]> {
  const list = await client.list<KubeList<Instance>>(INSTANCES, { fieldSelector: `status.nodeName=${node}` });
  return list.items.filter((i) => !i.metadata.deletionTimestamp);
}

/** Not held stopped: it runs, or may start again by itself (drain must stop it). */
export const needsStop = (i: Instance): boolean => i.spec?.runStrategy !== 'Halted';

/** Held stopped, as `lodge stop` leaves it once its node has stopped it. */
const stopped = (i: Instance): boolean => i.spec?.runStrategy === 'Halted' && i.status?.phase === 'Stopped' && i.status.reason === 'Halted';

/** kubectl-drain-style refusal naming the Instances, or undefined when none runs. */
export function instanceRefusal(node: string, running: Instance[]): string | undefined {
  if (!running.length) return undefined;
  return `cannot drain: ${running.length} instance(s) run on ${node} and cannot be migrated yet: ${running.map(instanceKey).join(', ')}; stop them or pass --stop-instances`;
}

export interface StopOptions {
  /** Seconds; negative = the Instance's own terminationGracePeriodSeconds. */
  gracePeriodSeconds: number;
  serverDryRun: boolean;
  deadline: number;
  timeoutMs: number;
  pollMs?: number;
}

/** Poll until the node reports the Instance stopped (or it is gone, or no longer on this node). */
async function waitStopped(client: KubeClient, i: Instance, node: string, o: StopOptions, output: Output): Promise<void> {
  const { namespace, name, uid } = i.metadata;
  for (;;) {
    let now: Instance | undefined;
    try {
      now = await client.get<Instance>(INSTANCES, String(name), { namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!now || now.metadata.uid !== uid || now.status?.nodeName !== node || stopped(now)) {
      output.out(`instance.lodge.dev/${name} stopped`);
      return;
    }
    if (now.status?.phase === 'Failed') {
      throw new Error(`instance "${namespace}/${name}" failed while stopping: ${now.status.reason ?? 'Failed'}${now.status.message ? `: ${now.status.message}` : ''}`);
    }
    if (Date.now() >= o.deadline) throw new Error(`drain did not complete within ${formatGoDuration(o.timeoutMs)}`);
    await sleep(Math.min(o.pollMs ?? 500, o.deadline - Date.now()));
  }
}

/**
 * Stop each Instance that still runs (and wait for those already stopping),
 * all at once. Resolves with the failures.
 */
export async function stopInstances(client: KubeClient, node: string, instances: Instance[], o: StopOptions, output: Output): Promise<string[]> {
  const one = async (i: Instance): Promise<void> => {
    if (needsStop(i)) {
      output.out(`stopping instance ${instanceKey(i)}${o.serverDryRun ? ' (server dry run)' : ''}`);
      try {
        await client.patch(INSTANCES, String(i.metadata.name), stopPatch(i, o.gracePeriodSeconds), 'application/merge-patch+json', { namespace: i.metadata.namespace, dryRun: o.serverDryRun });
      } catch (e) {
        if (isNotFound(e)) return;
        throw new Error(`error when stopping instance ${JSON.stringify(instanceKey(i))}: ${(e as Error).message}`, { cause: e });
      }
    }
    if (!o.serverDryRun) await waitStopped(client, i, node, o, output);
  };
  const results = await Promise.allSettled(instances.filter((i) => needsStop(i) || !stopped(i)).map(one));
  return results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message ?? String(r.reason)] : []));
}
