// The disruption controller (Kubernetes' PodDisruptionBudget controller):
// for every PodDisruptionBudget it counts the Pods the budget covers, how
// many are expected (the Pods themselves for an integer minAvailable, the
// replicas of their controllers — ReplicaSet, Deployment, anything with a
// scale subresource — for maxUnavailable or a percentage), how many must stay
// healthy and how many are, and writes status.disruptionsAllowed with the
// DisruptionAllowed condition through the status subresource. The eviction
// subresource reads that number, decrements it and records the evicted Pod
// in status.disruptedPods; this controller drops those entries once the Pod
// is being deleted or gone, or after two minutes. A Pod left with a
// DisruptionTarget condition its deletion never followed has it reset to
// False after two minutes (disruption/stale-disruption.ts).
//
// Level-triggered: the queue holds budget keys; Pods, ReplicaSets and
// Deployments queue the budgets of their namespace that they may affect.
import { jsonEqual } from '../apis/core/v1/equality.js';
import type { Pod } from '../apis/core/v1/types.js';
import type { PodDisruptionBudget } from '../apis/policy/v1/poddisruptionbudget.js';
import type { KubeObject, OwnerReference } from '../apis/types.js';
import { pathValue } from '../apis/columns.js';
import { rfc3339 } from '../api/resources/clock.js';
import { budgetSelects, budgetStatus, countHealthy, expectedCounts, failSafeStatus, pendingDisruptions, podsOfBudget } from './disruption/budget.js';
import { staleDisruptionAt, withDisruptionReset } from './disruption/stale-disruption.js';
import { controllerOf } from './replicaset/pods.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';
import { serviceEventRecorder } from '../events/index.js';

export const MANAGER = 'disruption-controller';

export interface DisruptionControllerOptions {
  now?: () => number;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;
const replicasOf = (o: KubeObject, path = 'spec.replicas'): number => {
  const v = pathValue(o, path);
  return typeof v === 'number' ? v : 1;
};

export async function runDisruptionController(ctx: ControllerContext, o: DisruptionControllerOptions = {}): Promise<void> {
  const pdbType = ctx.registry.resource('policy', 'v1', 'poddisruptionbudgets');
  const podType = ctx.registry.resource('', 'v1', 'pods');
  const rsType = ctx.registry.resource('apps', 'v1', 'replicasets');
  const deployType = ctx.registry.resource('apps', 'v1', 'deployments');
  if (!pdbType || !podType || !rsType || !deployType) return;
  const now = o.now ?? Date.now;
  const log = ctx.log.child({ controller: 'disruption' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const budgets = ctx.informers.for(pdbType);
  const pods = ctx.informers.for(podType);
  const sets = ctx.informers.for(rsType);
  const deployments = ctx.informers.for(deployType);
  const write = controllerWrite(MANAGER);
  // Kubernetes' disruption controller reports as "controllermanager": NoPods, NoControllerRef, NoControllers, CalculateExpectedPodCountFailed.
  const recorder = serviceEventRecorder(ctx.svc, { component: 'controllermanager', log, signal: ctx.signal });

  const budgetsIn = (ns: string | undefined): PodDisruptionBudget[] => (budgets.list() as PodDisruptionBudget[]).filter((b) => b.metadata.namespace === ns);
  /** The budgets a Pod's change may move: those that select it, before or after. */
  const queueForPod = (p: KubeObject, old?: KubeObject): void => {
    for (const b of budgetsIn(p.metadata.namespace)) if (budgetSelects(b, p.metadata.labels) || (old && budgetSelects(b, old.metadata.labels))) queue.add(keyOf(b));
  };
  /** A controller's scale changed: every budget of its namespace may count it. */
  const queueForScale = (old: KubeObject | undefined, o: KubeObject): void => {
    if (old && replicasOf(old) === replicasOf(o)) return;
    for (const b of budgetsIn(o.metadata.namespace)) queue.add(keyOf(b));
  };

  budgets.addHandlers({
    onAdd: (b) => queue.add(keyOf(b)),
    onUpdate: (_old, b) => queue.add(keyOf(b)),
  });
  /** Pods whose DisruptionTarget condition no deletion followed (yet): reset once stale. */
  const stale = new WorkQueue();
  ctx.signal.addEventListener('abort', () => stale.stop());
  const watchStale = (p: KubeObject): void => {
    if (staleDisruptionAt(p as Pod) !== undefined) stale.add(keyOf(p));
  };
  pods.addHandlers({
    onAdd: (p) => (queueForPod(p), watchStale(p)),
    onUpdate: (old, p) => (queueForPod(p, old), watchStale(p)),
    onDelete: (p) => queueForPod(p),
  });
  for (const inf of [sets, deployments])
    inf.addHandlers({ onAdd: (x) => queueForScale(undefined, x), onUpdate: (old, x) => queueForScale(old, x), onDelete: (x) => queueForScale(undefined, x) });
  await Promise.all([budgets.hasSynced, pods.hasSynced, sets.hasSynced, deployments.hasSynced]);

  /** The controller of a Pod and its desired scale (Kubernetes' finders), or undefined when it has none Lodge knows. */
  const controllerScale = async (ref: OwnerReference, ns: string): Promise<{ uid: string; scale: number } | undefined> => {
    if (ref.kind === 'ReplicaSet' && ref.apiVersion === 'apps/v1') {
      const rs = sets.cache.get(`${ns}/${ref.name}`);
      if (!rs || rs.metadata.uid !== ref.uid) return undefined;
      const up = controllerOf(rs);
      if (up?.kind !== 'Deployment') return { uid: ref.uid, scale: replicasOf(rs) };
      const d = deployments.cache.get(`${ns}/${up.name}`);
      return d && d.metadata.uid === up.uid ? { uid: up.uid, scale: replicasOf(d) } : undefined;
    }
    if (ref.kind === 'Deployment' && ref.apiVersion === 'apps/v1') {
      const d = deployments.cache.get(`${ns}/${ref.name}`);
      return d && d.metadata.uid === ref.uid ? { uid: ref.uid, scale: replicasOf(d) } : undefined;
    }
    // Anything else with a scale subresource.
    const rt = ctx.registry.kind(ref.apiVersion, ref.kind);
    if (!rt?.scale) return undefined;
    const obj = (await ctx.svc.tryGet(rt, rt.namespaced ? ns : undefined, ref.name))?.obj;
    return obj && obj.metadata.uid === ref.uid ? { uid: ref.uid, scale: replicasOf(obj, rt.scale.specReplicasPath) } : undefined;
  };

  /** The sum of the scales of the covered Pods' controllers; throws (to SyncFailed) when a Pod has none. */
  const expectedScale = async (pdb: PodDisruptionBudget, selected: Pod[]): Promise<number> => {
    const scales = new Map<string, number>();
    const fail = (reason: string, message: string): never => {
      recorder.event(pdb, 'Warning', reason, message);
      throw new Error(message);
    };
    for (const p of selected) {
      const ref = controllerOf(p);
      if (!ref) fail('NoControllerRef', `found no controller ref for pod "${p.metadata.name}"`);
      if (scales.has(ref!.uid)) continue;
      const found = await controllerScale(ref!, String(p.metadata.namespace));
      if (!found) fail('NoControllers', `found no controllers for pod "${p.metadata.name}"`);
      scales.set(found!.uid, found!.scale);
    }
    let total = 0;
    for (const n of scales.values()) total += n;
    return total;
  };

  const sync = async (key: string): Promise<void> => {
    const pdb = budgets.cache.get(key) as PodDisruptionBudget | undefined;
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const t = now();
    const nowIso = rfc3339(t);
    const selected = podsOfBudget(pdb, pods.list());
    if (!selected.length) recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    let status;
    try {
      const needsScale = pdb.spec?.maxUnavailable != null || typeof pdb.spec?.minAvailable === 'string';
      const scale = needsScale ? await expectedScale(pdb, selected) : 0;
      const { expectedCount, desiredHealthy } = expectedCounts(pdb, selected, () => scale);
      const { disrupted, recheckAt } = pendingDisruptions(pdb, selected, t);
      if (recheckAt !== undefined) queue.addAfter(key, Math.max(0, recheckAt - t) + 50);
      status = budgetStatus(pdb, { expectedCount, desiredHealthy, currentHealthy: countHealthy(selected, disrupted), disrupted }, nowIso);
    } catch (e) {
      log.warn('disruption budget sync failed', { pdb: key, error: (e as Error).message });
      recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(e as Error).message}`);
      status = failSafeStatus(pdb, (e as Error).message, nowIso);
    }
    if (jsonEqual(pdb.status ?? {}, status)) return;
    // Pinned to the cached version: an eviction's decrement meanwhile is a conflict, and the informer brings it back here.
    await ctx.svc.update(pdbType, pdb.metadata.namespace, String(pdb.metadata.name), { ...pdb, status }, write, 'status').catch((e: unknown) => {
      const code = (e as { code?: number }).code;
      if (code !== 409 && code !== 404) throw e;
    });
  };
  const resetStale = async (key: string): Promise<void> => {
    const p = pods.cache.get(key) as Pod | undefined;
    const at = p && staleDisruptionAt(p);
    if (!p || at === undefined) return;
    const t = now();
    if (at > t) return stale.addAfter(key, at - t + 50);
    // Pinned to the cached version: a concurrent status write wins, and this key comes round again.
    await ctx.svc.update(podType, p.metadata.namespace, String(p.metadata.name), { ...p, status: withDisruptionReset(p, rfc3339(t)) }, write, 'status').catch((e: unknown) => {
      const code = (e as { code?: number }).code;
      if (code !== 409 && code !== 404) throw e;
    });
  };
  await Promise.all([
    queue.run(sync, (key, err) => log.warn('disruption sync failed', { pdb: key, error: (err as Error).message }), 2),
    stale.run(resetStale, (key, err) => log.warn('cannot reset a stale DisruptionTarget condition', { pod: key, error: (err as Error).message })),
  ]);
  await recorder.flush();
}
