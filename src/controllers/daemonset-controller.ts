// DaemonSets: one Pod of the template on every node that qualifies (node
// selector, required node affinity, tolerated taints), as Kubernetes'
// daemonset controller. Each Pod is owned by its DaemonSet, pinned to its
// node by a matchFields node affinity (the scheduler binds it there), and
// labelled with the ControllerRevision it was made from. Each distinct
// template is kept as a ControllerRevision NAME-<hash> (kubectl's rollout
// history and undo read them); a template change replaces Pods node by node
// within maxUnavailable/maxSurge (RollingUpdate), or only as the user deletes
// them (OnDelete). Level-triggered: every sync decides from the stored
// DaemonSet, nodes, Pods and revisions alone, so a restarted controller goes
// on where it was; its own creations and deletions are remembered as
// expectations until the Pod informer shows them, so a burst of events never
// doubles a Pod.
import type { DaemonSet } from '../apis/apps/v1/daemonset.js';
import type { ControllerRevision } from '../apis/apps/v1/controllerrevision.js';
import type { Pod } from '../apis/core/v1/types.js';
import type { KubeObject } from '../apis/types.js';
import { jsonEqual } from '../apis/core/v1/equality.js';
import { ownedPodHandlers } from './owned-pod-handlers.js';
import { selectorMatches } from '../apis/core/v1/label-selector.js';
import { claim, controllerRefTo } from './claim.js';
import { daemonPodTemplate, HASH_LABEL, pinnedToNode } from './daemonset/daemon-pod.js';
import { podsByNode } from './daemonset/daemon-pods.js';
import { FailedPodBackoff } from './daemonset/failed-backoff.js';
import { isCurrent, maxRevision, revisionData, revisionName, revisionNumber, revisionsToPrune } from './daemonset/history.js';
import { planNodes } from './daemonset/manage.js';
import { nodeFit, type Node, type NodeFit } from './daemonset/node-fit.js';
import { rollingPlan } from './daemonset/rolling.js';
import { computeStatus } from './daemonset/status.js';
import { podTemplateHash } from './deployment/hash.js';
import { Expectations } from './replicaset/expectations.js';
import { controllerOf } from './replicaset/pods.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { slowStart } from './runtime/slow-start.js';
import { WorkQueue } from './runtime/workqueue.js';
import { serviceEventRecorder } from '../events/index.js';

const MANAGER = 'daemonset-controller';
/** Most Pods created or deleted in one sync, as Kubernetes' burstReplicas for DaemonSets. */
const BURST = 250;

export interface DaemonSetControllerOptions {
  now?: () => number;
}

/** A write lost a race with another writer, or the cache is behind: the informer brings the news and the key runs again. */
class Stale extends Error {}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;
const codeOf = (e: unknown): number | undefined => (e as { code?: number }).code;

function staleOnConflict(e: unknown): never {
  if (codeOf(e) === 409 || codeOf(e) === 404) throw new Stale((e as Error).message);
  throw e;
}

export async function runDaemonSetController(ctx: ControllerContext, o: DaemonSetControllerOptions = {}): Promise<void> {
  const dsType = ctx.registry.resource('apps', 'v1', 'daemonsets');
  const crType = ctx.registry.resource('apps', 'v1', 'controllerrevisions');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  const nodeType = ctx.registry.resource('', 'v1', 'nodes');
  if (!dsType || !crType || !podType || !nodeType) return;
  const now = o.now ?? Date.now;
  const log = ctx.log.child({ controller: 'daemonset' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const expectations = new Expectations(now);
  const backoff = new FailedPodBackoff();
  const sets = ctx.informers.for(dsType);
  const revisions = ctx.informers.for(crType);
  const pods = ctx.informers.for(podType);
  const nodes = ctx.informers.for(nodeType);
  const write = controllerWrite(MANAGER);
  // Kubernetes' daemon set controller reports as "daemonset-controller": SuccessfulCreate, FailedCreate, SuccessfulDelete, FailedDelete, FailedDaemonPod.
  const recorder = serviceEventRecorder(ctx.svc, { component: MANAGER, log, signal: ctx.signal });

  /** The DaemonSet an object's controller reference names, if it is the one in the cache (same uid). */
  const ownerKey = (obj: KubeObject): string | undefined => {
    const ref = controllerOf(obj);
    if (ref?.kind !== 'DaemonSet') return undefined;
    const key = `${obj.metadata.namespace}/${ref.name}`;
    return sets.cache.get(key)?.metadata.uid === ref.uid ? key : undefined;
  };
  /** An orphan may be adopted by any DaemonSet whose selector matches it. */
  const enqueueMatching = (obj: KubeObject): void => {
    for (const ds of sets.list() as DaemonSet[])
      if (ds.metadata.namespace === obj.metadata.namespace && selectorMatches(ds.spec?.selector, obj.metadata.labels)) queue.add(keyOf(ds));
  };
  const enqueueOwnerOrMatching = (obj: KubeObject): void => {
    const key = ownerKey(obj);
    if (key) queue.add(key);
    else if (!controllerOf(obj)) enqueueMatching(obj);
  };
  const enqueueAll = (): void => {
    for (const ds of sets.list()) queue.add(keyOf(ds));
  };

  sets.addHandlers({
    onAdd: (ds) => queue.add(keyOf(ds)),
    onUpdate: (_old, ds) => queue.add(keyOf(ds)),
    onDelete: (ds) => {
      expectations.forget(keyOf(ds));
      queue.add(keyOf(ds));
    },
  });
  pods.addHandlers(ownedPodHandlers({ ownerKey, enqueue: (key) => queue.add(key), enqueueMatching, expectations }));
  revisions.addHandlers({ onAdd: enqueueOwnerOrMatching, onUpdate: (_old, r) => enqueueOwnerOrMatching(r), onDelete: enqueueOwnerOrMatching });
  // Only what decides where daemons run: heartbeats and status do not move Pods.
  const placementOf = (n: KubeObject): unknown => [n.metadata.labels ?? {}, (n as Node).spec?.taints ?? [], (n as Node).spec?.unschedulable ?? false];
  nodes.addHandlers({
    onAdd: enqueueAll,
    onUpdate: (old, n) => !jsonEqual(placementOf(old), placementOf(n)) && enqueueAll(),
    onDelete: enqueueAll,
  });
  await Promise.all([sets.hasSynced, revisions.hasSynced, pods.hasSynced, nodes.hasSynced]);

  /** A new revision of the current template; on a name taken by another template, the collision count moves on and the next sync tries the next name. */
  const snapshot = async (ds: DaemonSet, revision: number): Promise<ControllerRevision> => {
    const hash = podTemplateHash(ds.spec?.template, ds.status?.collisionCount);
    const body = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: revisionName(ds.metadata.name as string, hash),
        namespace: ds.metadata.namespace,
        labels: { ...ds.spec?.template?.metadata?.labels, [HASH_LABEL]: hash },
        ...(ds.metadata.annotations ? { annotations: { ...ds.metadata.annotations } } : {}),
        ownerReferences: [controllerRefTo(ds)],
      },
      data: revisionData(ds),
      revision,
    };
    try {
      const created = (await ctx.svc.create(crType, ds.metadata.namespace, body, write)).obj as ControllerRevision;
      log.info('created controllerrevision', { daemonset: keyOf(ds), revision: body.metadata.name, number: revision });
      return created;
    } catch (e) {
      if (codeOf(e) !== 409) throw e;
      const existing = (await ctx.svc.tryGet(crType, ds.metadata.namespace, body.metadata.name))?.obj as ControllerRevision | undefined;
      // Ours with this template: the cache was behind.
      if (existing && controllerOf(existing)?.uid === ds.metadata.uid && isCurrent(ds, existing)) return existing;
      const status = { ...ds.status, collisionCount: (ds.status?.collisionCount ?? 0) + 1 };
      await ctx.svc.update(dsType, ds.metadata.namespace, ds.metadata.name as string, { ...ds, status }, write, 'status').catch(staleOnConflict);
      throw new Stale(`controllerrevision name ${body.metadata.name} collides; collisionCount now ${status.collisionCount}`);
    }
  };

  /** The revision of the current template (made, or renumbered to be the newest) and the old ones (Kubernetes' constructHistory). */
  const history = async (ds: DaemonSet): Promise<{ current: ControllerRevision; old: ControllerRevision[] }> => {
    const ns = ds.metadata.namespace;
    const candidates = (revisions.list() as ControllerRevision[]).filter((r) => r.metadata.namespace === ns);
    const owned = (await claim({ ctx, rt: crType, ownerType: dsType, owner: ds, selector: ds.spec?.selector, manager: MANAGER }, candidates)).filter((r) => !r.metadata.deletionTimestamp);
    const matching = owned.filter((r) => isCurrent(ds, r)).sort((a, b) => revisionNumber(b) - revisionNumber(a));
    const old = owned.filter((r) => !matching.includes(r));
    const want = maxRevision(old) + 1;
    // Two revisions of one template (a name collision raced a restart): the newest stays.
    for (const dup of matching.slice(1))
      await ctx.svc.delete(crType, ns, dup.metadata.name as string, { preconditions: { uid: dup.metadata.uid } }).catch(staleOnConflict);
    let current = matching[0];
    if (!current) current = await snapshot(ds, want);
    else if (revisionNumber(current) < want) {
      // A template rolled back to is the newest revision again.
      current = (await ctx.svc.update(crType, ns, current.metadata.name as string, { ...current, revision: want }, write).catch(staleOnConflict)).stored.obj as ControllerRevision;
      log.info('renumbered controllerrevision', { daemonset: keyOf(ds), revision: current.metadata.name, number: want });
    }
    return { current, old };
  };

  const createPod = async (ds: DaemonSet, hash: string, node: string): Promise<void> => {
    const t = daemonPodTemplate(ds, hash);
    const meta = t.metadata ?? {};
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace,
        labels: meta.labels,
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ...(meta.finalizers ? { finalizers: meta.finalizers } : {}),
        ownerReferences: [controllerRefTo(ds)],
      },
      spec: pinnedToNode(t.spec ?? {}, node),
    };
    try {
      const created = await ctx.svc.create(podType, ds.metadata.namespace, body, write);
      recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.obj.metadata.name}`);
    } catch (e) {
      recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  };

  /** Carry out a plan: expectations first, then creations in slow-start batches and deletions (Kubernetes' syncNodes). */
  const syncNodes = async (key: string, ds: DaemonSet, hash: string, podsToDelete: Pod[], nodesToCreate: string[]): Promise<Error | undefined> => {
    const create = nodesToCreate.slice(0, BURST);
    const victims = podsToDelete.slice(0, BURST);
    expectations.expect(key, create.length, victims.map((p) => p.metadata.uid as string));
    let error: Error | undefined;
    const deletions = Promise.all(
      victims.map(async (p) => {
        try {
          await ctx.svc.delete(podType, p.metadata.namespace, p.metadata.name as string, { preconditions: { uid: p.metadata.uid } });
          log.info('deleted daemon pod', { daemonset: key, pod: p.metadata.name });
          recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (e) {
          expectations.deletionObserved(key, p.metadata.uid as string);
          if (codeOf(e) === 404) return;
          error ??= new Error(`deleting pod ${p.metadata.name}: ${(e as Error).message}`);
          recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        }
      }),
    );
    const r = await slowStart(create.length, (i) => createPod(ds, hash, create[i]));
    // Creations that failed or were never tried will never be observed.
    for (let i = r.created; i < create.length; i++) expectations.creationObserved(key);
    if (r.created) log.info('created daemon pods', { daemonset: key, nodes: create.slice(0, r.created) });
    await deletions;
    return r.error ? new Error(`creating pod: ${r.error.message}`) : error;
  };

  /** Old revisions beyond revisionHistoryLimit that no Pod still runs. */
  const cleanupHistory = async (ds: DaemonSet, old: ControllerRevision[], owned: Pod[]): Promise<void> => {
    const live = new Set(owned.map((p) => p.metadata.labels?.[HASH_LABEL] ?? '').filter(Boolean));
    for (const r of revisionsToPrune(old, ds.spec?.revisionHistoryLimit ?? 10, live)) {
      await ctx.svc.delete(crType, r.metadata.namespace, r.metadata.name as string, { preconditions: { uid: r.metadata.uid } }).catch(staleOnConflict);
      log.info('deleted old controllerrevision', { daemonset: keyOf(ds), revision: r.metadata.name, number: revisionNumber(r) });
    }
  };

  const sync = async (key: string): Promise<void> => {
    const ds = sets.cache.get(key) as DaemonSet | undefined;
    if (!ds) {
      expectations.forget(key);
      return;
    }
    // A deleted DaemonSet's Pods and revisions go with it: the garbage collector follows their ownerReferences.
    if (ds.metadata.deletionTimestamp) return;
    const { current, old } = await history(ds);
    const hash = current.metadata.labels?.[HASH_LABEL] ?? podTemplateHash(ds.spec?.template, ds.status?.collisionCount);
    const template = daemonPodTemplate(ds, hash).spec ?? {};
    const fits = new Map<string, NodeFit>();
    const fit = (n: Node): NodeFit => {
      const name = n.metadata.name as string;
      let f = fits.get(name);
      if (!f) fits.set(name, (f = nodeFit(template, n)));
      return f;
    };
    const nodeList = nodes.list() as Node[];
    // Read before listing Pods: the Pods seen then include every creation it counted.
    const satisfied = expectations.satisfied(key);
    const ns = ds.metadata.namespace;
    const inNs = (pods.list() as Pod[]).filter((p) => p.metadata.namespace === ns);
    const owned = await claim({ ctx, rt: podType, ownerType: dsType, owner: ds, selector: ds.spec?.selector, manager: MANAGER }, inNs);
    const t = now();
    let error: Error | undefined;
    const live = podsByNode(owned, false);
    if (satisfied) {
      const plan = planNodes({ ds, nodes: nodeList, byNode: podsByNode(owned, true), fit, hash, backoff, now: t });
      for (const f of plan.failedPods) recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${f.pod.metadata.namespace}/${f.pod.metadata.name} on node ${f.node}, will try to kill it`);
      if (plan.retryAfterMs !== undefined) queue.addAfter(key, plan.retryAfterMs + 50);
      if (plan.nodesNeedingPods.length || plan.podsToDelete.length) error = await syncNodes(key, ds, hash, plan.podsToDelete, plan.nodesNeedingPods);
      else if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        // Only once the nodes are as they should be: the rollout steps from a settled state.
        const step = rollingPlan({ ds, nodes: nodeList, byNode: live, fit, hash, now: t });
        if (step.podsToDelete.length || step.nodesToCreate.length) error = await syncNodes(key, ds, hash, step.podsToDelete, step.nodesToCreate);
      }
    }
    await cleanupHistory(ds, old, owned);
    const { status, nextAvailableAt } = computeStatus({ ds, nodes: nodeList, byNode: live, fit, hash, now: t });
    if (nextAvailableAt !== undefined) queue.addAfter(key, Math.max(0, nextAvailableAt - now()) + 50);
    if (!jsonEqual(ds.status ?? {}, status)) {
      // Pinned to the cached version: if the spec moved meanwhile, the informer brings it and this key runs again.
      await ctx.svc.update(dsType, ns, ds.metadata.name as string, { ...ds, status }, write, 'status').catch(staleOnConflict);
    }
    backoff.gc(t);
    if (error) throw error;
  };

  await queue.run(
    async (key) => {
      try {
        await sync(key);
      } catch (e) {
        if (e instanceof Stale) return log.info('daemonset sync raced another write; waiting for its event', { daemonset: key, reason: e.message });
        throw e;
      }
    },
    (key, err) => log.warn('daemonset sync failed', { daemonset: key, error: (err as Error).message }),
    2,
  );
  await recorder.flush();
}
