// ReplicaSets: keep spec.replicas Pods of the template running. The
// controller owns Pods through controller ownerReferences (adopting matching
// orphans, releasing Pods relabelled away), creates or deletes Pods toward the
// desired count, and writes the ReplicaSet's status. Its own creations and
// deletions are remembered as expectations until the Pod informer shows them:
// until then the cache is behind and acting on it again would overshoot.
import type { Pod } from '../apis/core/v1/types.js';
import type { Workload } from '../apis/apps/v1/workload.js';
import type { KubeObject } from '../apis/types.js';
import { jsonEqual } from '../apis/core/v1/equality.js';
import { ownedPodHandlers } from './owned-pod-handlers.js';
import { selectorMatches } from '../apis/core/v1/label-selector.js';
import { claim, controllerRefTo } from './claim.js';
import { Expectations } from './replicaset/expectations.js';
import { controllerOf, deletionOrder, isActive } from './replicaset/pods.js';
import { computeStatus } from './replicaset/status.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { slowStart } from './runtime/slow-start.js';
import { WorkQueue } from './runtime/workqueue.js';
import { serviceEventRecorder } from '../events/index.js';

const MANAGER = 'replicaset-controller';
/** Most Pods created or deleted in one sync, as Kubernetes' burstReplicas. */
const BURST = 500;

export interface ReplicaSetControllerOptions {
  now?: () => number;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;

export async function runReplicaSetController(ctx: ControllerContext, o: ReplicaSetControllerOptions = {}): Promise<void> {
  const rsType = ctx.registry.resource('apps', 'v1', 'replicasets');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  if (!rsType || !podType) return;
  const now = o.now ?? Date.now;
  const log = ctx.log.child({ controller: 'replicaset' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const expectations = new Expectations(now);
  const sets = ctx.informers.for(rsType);
  const pods = ctx.informers.for(podType);
  const write = controllerWrite(MANAGER);
  const recorder = serviceEventRecorder(ctx.svc, { component: MANAGER, log, signal: ctx.signal });

  /** The ReplicaSet a Pod's controller reference names, if it is the one in the cache (same uid). */
  const ownerKey = (p: KubeObject): string | undefined => {
    const ref = controllerOf(p);
    if (ref?.kind !== 'ReplicaSet') return undefined;
    const key = `${p.metadata.namespace}/${ref.name}`;
    return sets.cache.get(key)?.metadata.uid === ref.uid ? key : undefined;
  };
  /** An orphan may be adopted by any ReplicaSet whose selector matches it. */
  const enqueueMatching = (p: KubeObject): void => {
    for (const rs of sets.list() as Workload[])
      if (rs.metadata.namespace === p.metadata.namespace && selectorMatches(rs.spec?.selector, p.metadata.labels)) queue.add(keyOf(rs));
  };

  sets.addHandlers({
    onAdd: (rs) => queue.add(keyOf(rs)),
    onUpdate: (_old, rs) => queue.add(keyOf(rs)),
    onDelete: (rs) => {
      expectations.forget(keyOf(rs));
      queue.add(keyOf(rs));
    },
  });
  pods.addHandlers(ownedPodHandlers({ ownerKey, enqueue: (key) => queue.add(key), enqueueMatching, expectations }));
  await Promise.all([sets.hasSynced, pods.hasSynced]);

  const createPod = async (rs: Workload): Promise<void> => {
    const t = rs.spec?.template ?? {};
    const meta = t.metadata ?? {};
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        ...(meta.labels ? { labels: { ...meta.labels } } : {}),
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ...(meta.finalizers ? { finalizers: meta.finalizers } : {}),
        ownerReferences: [controllerRefTo(rs)],
      },
      spec: structuredClone(t.spec ?? {}),
    };
    try {
      const created = await ctx.svc.create(podType, rs.metadata.namespace, body, write);
      recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.obj.metadata.name}`);
    } catch (e) {
      recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  };

  /** Create or delete toward spec.replicas; the error (if any) goes into the ReplicaFailure condition. */
  const manage = async (key: string, rs: Workload, active: Pod[]): Promise<Error | undefined> => {
    const diff = active.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      expectations.expectCreations(key, n);
      const r = await slowStart(n, () => createPod(rs));
      // Creations that failed or were never tried will never be observed.
      for (let i = r.created; i < n; i++) expectations.creationObserved(key);
      if (r.error) log.warn('creating pods failed', { replicaset: key, created: r.created, wanted: n, error: r.error.message });
      return r.error;
    }
    if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, BURST));
      expectations.expectDeletions(key, victims.map((p) => p.metadata.uid as string));
      let error: Error | undefined;
      await Promise.all(
        victims.map(async (p) => {
          try {
            await ctx.svc.delete(podType, p.metadata.namespace, p.metadata.name as string, { preconditions: { uid: p.metadata.uid } });
            recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (e) {
            expectations.deletionObserved(key, p.metadata.uid as string);
            if ((e as { code?: number }).code !== 404) {
              error = new Error(`deleting pod ${p.metadata.name}: ${(e as Error).message}`);
              recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
            }
          }
        }),
      );
      return error;
    }
    return undefined;
  };

  const sync = async (key: string): Promise<void> => {
    const rs = sets.cache.get(key) as Workload | undefined;
    if (!rs) {
      expectations.forget(key);
      return;
    }
    const ns = rs.metadata.namespace as string;
    // Read before listing Pods: the Pods seen then include every creation it counted.
    const needsSync = expectations.satisfied(key);
    const inNs = (pods.list() as Pod[]).filter((p) => p.metadata.namespace === ns && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const owned = await claim({ ctx, rt: podType, ownerType: rsType, owner: rs, selector: rs.spec?.selector, manager: MANAGER }, inNs);
    const active = owned.filter(isActive);
    const terminating = owned.length - active.length;
    const manageError = needsSync && !rs.metadata.deletionTimestamp ? await manage(key, rs, active) : undefined;
    const { status, nextAvailableAt } = computeStatus(rs, active, terminating, manageError, now());
    if (nextAvailableAt !== undefined) queue.addAfter(key, Math.max(0, nextAvailableAt - now()) + 50);
    if (!jsonEqual(rs.status ?? {}, status)) {
      // Pinned to the cached version: if the spec moved meanwhile, the informer brings it and this key runs again.
      await ctx.svc.update(rsType, ns, rs.metadata.name as string, { ...rs, status }, write, 'status').catch((e: unknown) => {
        const code = (e as { code?: number }).code;
        if (code !== 409 && code !== 404) throw e;
      });
    }
    if (manageError) throw manageError;
  };
  await queue.run(sync, (key, err) => log.warn('replicaset sync failed', { replicaset: key, error: (err as Error).message }), 2);
  await recorder.flush();
}
