// Deployments: roll a pod template out through ReplicaSets. Each distinct
// template gets a ReplicaSet named NAME-<pod-template-hash>; the controller
// grows the new one and shrinks the old ones within maxSurge/maxUnavailable
// (RollingUpdate) or stops all old Pods first (Recreate), keeps
// revisionHistoryLimit old sets for rollback, and writes the status and
// conditions `kubectl rollout status` reads. Level-triggered: every sync
// decides from the stored Deployment and ReplicaSets alone, so a restarted
// control plane carries a rollout on where it was. Every ReplicaSet write is
// pinned to the version the decision was made on: a stale cache costs a
// conflict, never an overshoot.
import type { Workload } from '../apis/apps/v1/workload.js';
import type { KubeObject } from '../apis/types.js';
import type { Pod } from '../apis/core/v1/types.js';
import { jsonEqual } from '../apis/core/v1/equality.js';
import { selectorMatches } from '../apis/core/v1/label-selector.js';
import { claim, controllerRefTo } from './claim.js';
import { HASH_LABEL, podTemplateHash, withoutHash } from './deployment/hash.js';
import { isScalingEvent, proportionalSizes } from './deployment/proportional.js';
import { inheritedAnnotations, maxRevision, newReplicaSetAnnotations, REVISION, revisionOf, DESIRED_REPLICAS, MAX_REPLICAS } from './deployment/revision.js';
import { byCreation, desired, fenceposts, newReplicaSetSize, oldReplicaSetSizes, specReplicas } from './deployment/rolling.js';
import { computeStatus, isComplete } from './deployment/status.js';
import type { DeploymentCondition, DeploymentObject } from './deployment/types.js';
import { controllerOf } from './replicaset/pods.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';
import { serviceEventRecorder } from '../events/index.js';

const MANAGER = 'deployment-controller';

export interface DeploymentControllerOptions {
  now?: () => number;
}

/** A write lost a race with another writer: the informer brings the news and the key runs again. */
class Stale extends Error {}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;

function staleOn409(e: unknown): never {
  const code = (e as { code?: number }).code;
  if (code === 409 || code === 404) throw new Stale((e as Error).message);
  throw e;
}

export async function runDeploymentController(ctx: ControllerContext, o: DeploymentControllerOptions = {}): Promise<void> {
  const depType = ctx.registry.resource('apps', 'v1', 'deployments');
  const rsType = ctx.registry.resource('apps', 'v1', 'replicasets');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  if (!depType || !rsType || !podType) return;
  const now = o.now ?? Date.now;
  const log = ctx.log.child({ controller: 'deployment' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const deployments = ctx.informers.for(depType);
  const sets = ctx.informers.for(rsType);
  const pods = ctx.informers.for(podType);
  const write = controllerWrite(MANAGER);
  const recorder = serviceEventRecorder(ctx.svc, { component: MANAGER, log, signal: ctx.signal });
  /** Kubernetes' ScalingReplicaSet event, in its 1.29+ wording. */
  const scaled = (d: DeploymentObject, rs: string, from: number, to: number): void =>
    recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs} from ${from} to ${to}`);

  const deploymentOf = (rs: KubeObject): string | undefined => {
    const ref = controllerOf(rs);
    if (ref?.kind !== 'Deployment') return undefined;
    const key = `${rs.metadata.namespace}/${ref.name}`;
    return deployments.cache.get(key)?.metadata.uid === ref.uid ? key : undefined;
  };
  const enqueueForSet = (rs: KubeObject): void => {
    const key = deploymentOf(rs);
    if (key) return queue.add(key);
    if (controllerOf(rs)) return;
    // An orphan: whichever Deployment selects it may adopt it.
    for (const d of deployments.list() as DeploymentObject[])
      if (d.metadata.namespace === rs.metadata.namespace && selectorMatches(d.spec?.selector, rs.metadata.labels)) queue.add(keyOf(d));
  };
  deployments.addHandlers({ onAdd: (d) => queue.add(keyOf(d)), onUpdate: (_o, d) => queue.add(keyOf(d)), onDelete: (d) => queue.add(keyOf(d)) });
  sets.addHandlers({ onAdd: enqueueForSet, onUpdate: (old, rs) => (enqueueForSet(rs), deploymentOf(old) !== deploymentOf(rs) && enqueueForSet(old)), onDelete: enqueueForSet });
  // Recreate waits for old Pods to be gone: their deletion is the event that lets it go on.
  pods.addHandlers({
    onDelete: (p) => {
      const ref = controllerOf(p);
      const rs = ref?.kind === 'ReplicaSet' ? sets.cache.get(`${p.metadata.namespace}/${ref.name}`) : undefined;
      if (rs) enqueueForSet(rs);
    },
  });
  await Promise.all([deployments.hasSynced, sets.hasSynced, pods.hasSynced]);

  /** Resize a ReplicaSet (and record the Deployment size it was sized for). */
  const scaleSet = async (d: DeploymentObject, rs: Workload, replicas: number): Promise<Workload> => {
    const annotations = { ...(rs.metadata.annotations ?? {}), [DESIRED_REPLICAS]: String(desired(d)), [MAX_REPLICAS]: String(desired(d) + fenceposts(d).surge) };
    if (specReplicas(rs) === replicas && jsonEqual(annotations, rs.metadata.annotations ?? {})) return rs;
    const next = { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas } };
    log.info('scaling replicaset', { deployment: keyOf(d), replicaset: rs.metadata.name, from: specReplicas(rs), to: replicas });
    const stored = await ctx.svc.update(rsType, rs.metadata.namespace, rs.metadata.name as string, next, write).catch(staleOn409);
    if (specReplicas(rs) !== replicas) scaled(d, String(rs.metadata.name), specReplicas(rs), replicas);
    return stored.stored.obj as Workload;
  };

  /** The new ReplicaSet (template equal to the Deployment's), created when asked and missing; revisions brought up to date. */
  const newReplicaSet = async (d: DeploymentObject, owned: Workload[], create: boolean): Promise<{ d: DeploymentObject; newRS?: Workload; old: Workload[]; created: boolean }> => {
    const template = d.spec?.template;
    const matching = owned.filter((rs) => jsonEqual(withoutHash(rs.spec?.template), template ?? {})).sort(byCreation);
    let newRS: Workload | undefined = matching[0];
    const old = owned.filter((rs) => rs !== newRS);
    const revision = maxRevision(old) + 1;
    let created = false;
    if (newRS) {
      const annotations = newReplicaSetAnnotations(d, newRS, revision, desired(d), desired(d) + fenceposts(d).surge);
      const minReady = d.spec?.minReadySeconds;
      if (annotations || newRS.spec?.minReadySeconds !== minReady) {
        const next = { ...newRS, metadata: { ...newRS.metadata, annotations: annotations ?? newRS.metadata.annotations }, spec: { ...newRS.spec, minReadySeconds: minReady } };
        if (minReady === undefined) delete next.spec.minReadySeconds;
        newRS = (await ctx.svc.update(rsType, d.metadata.namespace, newRS.metadata.name as string, next, write).catch(staleOn409)).stored.obj as Workload;
      }
    } else if (create) {
      const hash = podTemplateHash(template, d.status?.collisionCount);
      const tmpl = structuredClone(template ?? {});
      tmpl.metadata = { ...tmpl.metadata, labels: { ...tmpl.metadata?.labels, [HASH_LABEL]: hash } };
      const sel = d.spec?.selector ?? {};
      const body = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels: tmpl.metadata.labels,
          annotations: { ...inheritedAnnotations(d), [REVISION]: String(revision), [DESIRED_REPLICAS]: String(desired(d)), [MAX_REPLICAS]: String(desired(d) + fenceposts(d).surge) },
          ownerReferences: [controllerRefTo(d)],
        },
        spec: {
          replicas: newReplicaSetSize(d, owned, undefined),
          ...(d.spec?.minReadySeconds !== undefined ? { minReadySeconds: d.spec.minReadySeconds } : {}),
          selector: { ...sel, matchLabels: { ...sel.matchLabels, [HASH_LABEL]: hash } },
          template: tmpl,
        },
      };
      try {
        newRS = (await ctx.svc.create(rsType, d.metadata.namespace, body, write)).obj as Workload;
        created = true;
        if (body.spec.replicas > 0) scaled(d, body.metadata.name, 0, body.spec.replicas);
        log.info('created replicaset', { deployment: keyOf(d), replicaset: body.metadata.name, revision, replicas: body.spec.replicas });
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
        const existing = (await ctx.svc.tryGet(rsType, d.metadata.namespace, body.metadata.name))?.obj as Workload | undefined;
        // Ours with this template: the cache was behind. Anything else: a hash collision, so the next name is tried.
        if (existing && controllerOf(existing)?.uid === d.metadata.uid && jsonEqual(withoutHash(existing.spec?.template), template ?? {})) throw new Stale('new replicaset not in cache yet');
        const status = { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
        await ctx.svc.update(depType, d.metadata.namespace, d.metadata.name as string, { ...d, status }, write, 'status').catch(staleOn409);
        throw new Stale(`replicaset name ${body.metadata.name} collides; collisionCount now ${status.collisionCount}`);
      }
    }
    // The Deployment carries the revision of its new set.
    if (newRS && d.metadata.annotations?.[REVISION] !== String(revisionOf(newRS))) {
      const next = { ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [REVISION]: String(revisionOf(newRS)) } } };
      d = (await ctx.svc.update(depType, d.metadata.namespace, d.metadata.name as string, next, write).catch(staleOn409)).stored.obj as DeploymentObject;
    }
    return { d, newRS, old, created };
  };

  /** Old sets beyond revisionHistoryLimit that run nothing are deleted, oldest revision first. */
  const cleanup = async (d: DeploymentObject, old: Workload[]): Promise<void> => {
    const limit = d.spec?.revisionHistoryLimit;
    if (limit === undefined) return;
    const alive = old.filter((rs) => !rs.metadata.deletionTimestamp);
    const excess = alive.length - limit;
    if (excess <= 0) return;
    const candidates = alive.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    let deleted = 0;
    for (const rs of candidates) {
      if (deleted >= excess) break;
      if (specReplicas(rs) !== 0 || (rs.status?.replicas ?? 0) !== 0) continue;
      await ctx.svc.delete(rsType, rs.metadata.namespace, rs.metadata.name as string, { preconditions: { uid: rs.metadata.uid } }).catch(staleOn409);
      log.info('deleted old replicaset', { deployment: keyOf(d), replicaset: rs.metadata.name, revision: revisionOf(rs) });
      deleted++;
    }
  };

  const writeStatus = async (key: string, d: DeploymentObject, all: Workload[], newRS: Workload | undefined, created: boolean): Promise<void> => {
    const { status, recheckInMs } = computeStatus({ d, all, newRS, created, now: now() });
    if (recheckInMs !== undefined) queue.addAfter(key, recheckInMs + 1000);
    if (jsonEqual(d.status ?? {}, status)) return;
    await ctx.svc.update(depType, d.metadata.namespace, d.metadata.name as string, { ...d, status }, write, 'status').catch(staleOn409);
    pauseEvent(d, d.status?.conditions, status.conditions);
  };

  /** DeploymentPaused / DeploymentResumed, when the Progressing condition just turned to one of them. */
  const pauseEvent = (d: DeploymentObject, before: DeploymentCondition[] | undefined, after: DeploymentCondition[] | undefined): void => {
    const was = before?.find((c) => c.type === 'Progressing')?.reason;
    const now = after?.find((c) => c.type === 'Progressing');
    if (now?.reason && now.reason !== was && (now.reason === 'DeploymentPaused' || now.reason === 'DeploymentResumed')) recorder.event(d, 'Normal', now.reason, String(now.message ?? ''));
  };

  /** Old Pods still exist (Recreate starts new ones only after every old one is gone, terminating ones included). */
  const oldPodsRunning = (old: Workload[]): boolean => {
    if (old.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
    const uids = new Set(old.map((rs) => rs.metadata.uid));
    return (pods.list() as Pod[]).some((p) => uids.has(controllerOf(p)?.uid ?? '') && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
  };

  const sync = async (key: string): Promise<void> => {
    let d = deployments.cache.get(key) as DeploymentObject | undefined;
    // A deleted Deployment's sets go with it: the garbage collector follows their ownerReferences.
    if (!d || d.metadata.deletionTimestamp) return;
    const ns = d.metadata.namespace;
    const candidates = (sets.list() as Workload[]).filter((rs) => rs.metadata.namespace === ns);
    const owned = await claim({ ctx, rt: rsType, ownerType: depType, owner: d, selector: d.spec?.selector, manager: MANAGER }, candidates);
    const recreate = d.spec?.strategy?.type === 'Recreate';

    // Paused, or resized: only sizes change, no rollout step.
    if (d.spec?.paused || isScalingEvent(d, owned)) {
      const r = await newReplicaSet(d, owned, false);
      d = r.d;
      const sizes = proportionalSizes(d, r.newRS, owned);
      // Every active set is stamped with the new size, resized or not: else the scaling event would never end.
      for (const rs of owned) if (sizes.has(rs) || specReplicas(rs) > 0) await scaleSet(d, rs, sizes.get(rs) ?? specReplicas(rs));
      if (d.spec?.paused) await cleanup(d, r.old);
      // Sizes just written show up as events; the status follows from them.
      return writeStatus(key, d, owned, r.newRS, false);
    }

    if (recreate) {
      let r = await newReplicaSet(d, owned, false);
      d = r.d;
      const activeOld = r.old.filter((rs) => specReplicas(rs) > 0);
      for (const rs of activeOld) await scaleSet(d, rs, 0);
      if (activeOld.length || oldPodsRunning(r.old)) return writeStatus(key, d, owned, r.newRS, false);
      if (!r.newRS) r = await newReplicaSet(d, owned, true);
      d = r.d;
      const all = r.newRS && !owned.includes(r.newRS) ? [r.newRS, ...r.old] : owned;
      if (r.newRS && !r.created) await scaleSet(d, r.newRS, desired(d));
      await writeStatus(key, d, all, r.newRS, r.created);
      if (isComplete(d, d.status ?? {})) await cleanup(d, r.old);
      return;
    }

    const r = await newReplicaSet(d, owned, true);
    d = r.d;
    const newRS = r.newRS as Workload;
    const all = owned.includes(newRS) ? owned : [newRS, ...r.old];
    if (!r.created) {
      const target = newReplicaSetSize(d, all, newRS);
      if (target !== specReplicas(newRS)) {
        await scaleSet(d, newRS, target);
        return writeStatus(key, d, all, newRS, false);
      }
      const cuts = oldReplicaSetSizes(d, all, newRS, r.old);
      for (const [rs, n] of cuts) await scaleSet(d, rs, n);
      if (cuts.size) return writeStatus(key, d, all, newRS, false);
    }
    await writeStatus(key, d, all, newRS, r.created);
    if (isComplete(d, computeStatus({ d, all, newRS, created: false, now: now() }).status)) await cleanup(d, r.old);
  };

  await queue.run(
    async (key) => {
      try {
        await sync(key);
      } catch (e) {
        if (e instanceof Stale) return log.info('deployment sync raced another write; waiting for its event', { deployment: key, reason: e.message });
        throw e;
      }
    },
    (key, err) => log.warn('deployment sync failed', { deployment: key, error: (err as Error).message }),
    2,
  );
  await recorder.flush();
}
