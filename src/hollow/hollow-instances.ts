// The Instances (lodge.dev) of the hollow nodes: one list+watch of the
// bound Instances (status.nodeName set, by the scheduler), filtered here to
// the ones on a node of this process. A bound Instance gets the agent's
// finalizer, then the status a real agent would report once its workload
// runs (Running; Stopped for runStrategy Halted, Paused for spec.paused); a
// deleted one has its finalizer removed at once (nothing to stop).
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import { INSTANCE_FINALIZER } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/client.js';
import { ClientInformer, objectKey } from '../client/informer.js';
import { INSTANCES } from '../client/refs.js';
import { WorkQueue } from '../controllers/runtime/workqueue.js';
import { buildStatus, type Observed } from '../agent/instances/instance-status.js';
import { runStrategyOf } from '../agent/instances/run-strategy.js';
import { rfc3339 } from '../api/resources/clock.js';
import type { Logger } from '../util/log.js';
import type { HollowNodes } from './hollow-nodes.js';
import type { PodAddresses } from './pod-addresses.js';
import { sameStatus, writeWithRetry } from './status-write.js';

export interface HollowInstancesOptions {
  client: KubeClient;
  log: Logger;
  nodes: HollowNodes;
  addresses: PodAddresses;
  signal: AbortSignal;
  maxInFlight: number;
}

/** What the Instance would be doing on a real node. */
function observed(i: Instance): Observed {
  const restartCount = i.status?.restartCount ?? 0;
  if (runStrategyOf(i.spec?.runStrategy) === 'Halted') return { phase: 'Stopped', reason: 'Halted', message: 'runStrategy is Halted', restartCount };
  const startedAt = i.status?.startedAt ?? rfc3339();
  if (i.spec?.paused) return { phase: 'Paused', startedAt, restartCount };
  return { phase: 'Running', startedAt, restartCount };
}

export async function startHollowInstances(o: HollowInstancesOptions): Promise<void> {
  const informer = new ClientInformer(o.client, INSTANCES, { fieldSelector: 'status.nodeName!=' }, o.log);
  const queue = new WorkQueue();
  /** The hollow node the Instance is bound to, if it is one of ours. */
  const nodeOf = (i: Instance): string | undefined => {
    const node = i.status?.nodeName;
    return node && o.nodes.names.has(node) ? node : undefined;
  };
  const consider = (obj: KubeObject): void => {
    if (nodeOf(obj as Instance)) queue.add(objectKey(obj));
  };
  informer.addHandlers({ onAdd: consider, onUpdate: (_old, obj) => consider(obj), onDelete: (obj) => o.addresses.release(String(obj.metadata.uid)) });

  const sync = async (key: string): Promise<void> => {
    const i = informer.cache.get(key) as Instance | undefined;
    const node = i && nodeOf(i);
    if (!i || !node) return;
    const finalizers = i.metadata.finalizers ?? [];
    if (i.metadata.deletionTimestamp) {
      // Nothing to stop or tear down: let the Instance go.
      await writeWithRetry(o.client, INSTANCES, i, (cur) => {
        const has = cur.metadata.finalizers ?? [];
        return has.includes(INSTANCE_FINALIZER) ? { ...cur, metadata: { ...cur.metadata, finalizers: has.filter((f) => f !== INSTANCE_FINALIZER) } } : undefined;
      });
      return;
    }
    if (!finalizers.includes(INSTANCE_FINALIZER)) {
      // As the real agent: a bound Instance's deletion waits for its node (the watch brings the next step).
      await writeWithRetry(o.client, INSTANCES, i, (cur) => {
        const has = cur.metadata.finalizers ?? [];
        return has.includes(INSTANCE_FINALIZER) || cur.metadata.deletionTimestamp ? undefined : { ...cur, metadata: { ...cur.metadata, finalizers: [...has, INSTANCE_FINALIZER] } };
      });
      return;
    }
    const ip = o.addresses.assign(node, String(i.metadata.uid), i.status?.ip);
    await writeWithRetry(o.client, INSTANCES, i, (cur) => {
      const c = cur as Instance;
      if (c.metadata.uid !== i.metadata.uid || c.metadata.deletionTimestamp || c.status?.nodeName !== node) return undefined;
      const status = { ...buildStatus(c, node, observed(c)), ...(ip ? { ip, ips: [ip] } : {}) };
      return sameStatus(status, c.status) ? undefined : ({ ...c, status } as KubeObject);
    }, 'status');
  };

  o.signal.addEventListener('abort', () => queue.stop(), { once: true });
  await Promise.all([
    informer.run(o.signal),
    queue.run(sync, (key, e) => o.log.warn('hollow instance sync failed', { instance: key, error: (e as Error).message }), o.maxInFlight),
  ]);
}
