// The scheduler: places Pods and Instances on nodes. Informers feed the
// cache (nodes, what runs where) and the queue (what waits); one loop takes
// a workload, decides (schedule-one.ts), assumes the placement in the cache
// and binds through the binding subresource in the background, so the next
// decision does not wait for the write. A workload that fits nowhere keeps
// waiting, with a PodScheduled=False (or Scheduled=False) condition and a
// FailedScheduling event saying why, per node. Higher priorities are decided
// first; one that fits nowhere may preempt lower-priority Pods
// (preemption.ts): they are deleted, it is nominated to their node
// (status.nominatedNodeName), and that room is held for it against
// workloads of lower priority until it is placed.
import type { Condition, Pod } from '../apis/core/v1/types.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeObject, ResourceType } from '../apis/types.js';
import { bind } from '../api/binding/binding.js';
import { rfc3339 } from '../api/resources/clock.js';
import { ApiError } from '../api/status.js';
import { controllerWrite, type ControllerContext } from '../controllers/runtime/informer-factory.js';
import type { Informer } from '../controllers/runtime/informer.js';
import { metrics } from '../api/metrics/metrics.js';
import { TimeSlice } from '../util/time-slice.js';
import { SchedulerCache } from './cache.js';
import { fitErrorMessage } from './fit-error.js';
import { defaultProfile, type Profile } from './profile.js';
import { SchedulingQueue } from './queue.js';
import type { NodeInfo } from './node-info.js';
import { scheduleOne } from './schedule-one.js';
import { eligibleToPreempt, findPreemption, preemptionMessage, type PdbInfo } from './preemption.js';
import { disruptPod } from '../controllers/disrupt-pod.js';
import type { LabelSelector } from '../apis/core/v1/types.js';
import { boundNode, DEFAULT_SCHEDULER, holdsResources, instanceWorkload, podWorkload, workloadKey, type Workload, type WorkloadKind } from './workload.js';

export const SCHEDULER_NAME = 'lodge-scheduler';
/**
 * The scheduler's time slice while requests are served: longer than the
 * controllers' 4 ms because a user waits for placements too. Measured on 2
 * cores with 1,000 clients' worth of writes (bench/RESULTS.md, Scale): at 4 ms
 * a burst of 1,000 creates/s left Pods unbound for 4–6 s; at 12 ms they are
 * bound within ~0.5 s, for a higher tail on the API's own writes.
 */
const SCHEDULER_SLICE_MS = 12;
/** kube-scheduler's words on the Pods a preemption deletes (its prepareCandidate). */
const PREEMPTION = { reason: 'PreemptionByScheduler', message: `${DEFAULT_SCHEDULER}: preempting to accommodate a higher priority pod`, manager: SCHEDULER_NAME };

/** kube-scheduler's attempts counter: result scheduled, unschedulable or error. */
const attempts = metrics.counter('scheduler_schedule_attempts_total', 'Number of attempts to schedule pods, by the result.', ['result', 'profile']);
const PROFILE = 'default-scheduler';

/** Where the scheduler reports what it did (an event recorder). */
export interface SchedulerEvents {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface SchedulerOptions {
  events?: SchedulerEvents;
  profile?: Profile;
  /** Bindings in flight at once (default 256: they commit together, one store transaction per turn of the event loop). */
  parallelBinds?: number;
}


/** What a preemption attempt decided: a node and its victims, or why no node would do. */
interface Preempted {
  node?: string;
  victims?: Workload[];
  reasons?: Map<string, number>;
}

interface Kind {
  kind: WorkloadKind;
  rt: ResourceType;
  informer: Informer;
  workload(obj: KubeObject): Workload;
}

export async function runScheduler(ctx: ControllerContext, o: SchedulerOptions = {}): Promise<void> {
  const log = ctx.log.child({ component: 'scheduler' });
  const profile = o.profile ?? defaultProfile;
  const parallel = o.parallelBinds ?? 256;
  const write = controllerWrite(SCHEDULER_NAME);
  const cache = new SchedulerCache();
  /** A waiting workload's priority, from the informers' copy: the queue pops higher first. */
  const priorityOf = (key: string): number => {
    const colon = key.indexOf(':');
    const obj = byKind.get(key.slice(0, colon) as WorkloadKind)?.informer.cache.get(key.slice(colon + 1));
    return Number((obj?.spec as { priority?: number } | undefined)?.priority ?? 0);
  };
  const queue = new SchedulingQueue(priorityOf);
  const nodeType = ctx.registry.resource('', 'v1', 'nodes')!;
  const nsType = ctx.registry.resource('', 'v1', 'namespaces')!;
  const podType = ctx.registry.resource('', 'v1', 'pods')!;
  const instanceType = ctx.registry.resource('lodge.dev', 'v1alpha1', 'instances');
  const kinds: Kind[] = [{ kind: 'Pod', rt: podType, informer: ctx.informers.for(podType), workload: (p) => podWorkload(p as Pod) }];
  if (instanceType) kinds.push({ kind: 'Instance', rt: instanceType, informer: ctx.informers.for(instanceType), workload: (i) => instanceWorkload(i as Instance) });
  const byKind = new Map(kinds.map((k) => [k.kind, k]));
  const podKind = kinds[0];
  const nodes = ctx.informers.for(nodeType);
  const namespaces = ctx.informers.for(nsType);
  const pdbType = ctx.registry.resource('policy', 'v1', 'poddisruptionbudgets');
  const pdbs = pdbType ? ctx.informers.for(pdbType) : undefined;
  /** Workloads nominated to a node by a preemption and not placed yet, by uid: that room is held for them. */
  const nominated = new Map<string, { workload: Workload; node: string }>();
  /** Victims each preemptor waits for, by the preemptor's uid: it does not preempt again while they are still there. */
  const pendingVictims = new Map<string, Set<string>>();

  /** Does this object wait for this scheduler? */
  const waits = (k: Kind, obj: KubeObject): boolean => {
    if (obj.metadata.deletionTimestamp || boundNode(k.kind, obj)) return false;
    if (k.kind === 'Pod') {
      const spec = (obj.spec ?? {}) as Pod['spec'] & object;
      if ((spec.schedulerName || DEFAULT_SCHEDULER) !== DEFAULT_SCHEDULER) return false;
      if (spec.schedulingGates?.length) return false;
      if (!holdsResources(k.kind, obj)) return false;
    }
    return true;
  };

  /** uids whose binding is in flight: their cache placement is an assumption the watch has not confirmed yet. */
  const assumedKeys = new Set<string>();
  const observe = (k: Kind, obj: KubeObject): void => {
    const node = boundNode(k.kind, obj);
    const uid = String(obj.metadata.uid);
    const nominatedTo = (obj.status as { nominatedNodeName?: string } | undefined)?.nominatedNodeName;
    if (node || obj.metadata.deletionTimestamp) {
      nominated.delete(uid);
      pendingVictims.delete(uid);
    } else if (nominatedTo) nominated.set(uid, { workload: k.workload(obj), node: nominatedTo });
    if (node) {
      if (holdsResources(k.kind, obj)) cache.bound(k.workload(obj), node);
      else if (cache.isPlaced(uid)) {
        // Finished: what it held is free for the waiting.
        cache.released(uid);
        queue.moveAllToActive();
      }
    } else if (!assumedKeys.has(uid)) cache.released(uid);
    if (waits(k, obj)) queue.add(workloadKey(k.kind, obj.metadata.namespace, String(obj.metadata.name)));
  };

  for (const k of kinds) {
    k.informer.addHandlers({
      onAdd: (obj) => observe(k, obj),
      onUpdate: (_old, obj) => observe(k, obj),
      onDelete: (obj) => {
        const uid = String(obj.metadata.uid);
        cache.released(uid);
        nominated.delete(uid);
        pendingVictims.delete(uid);
        queue.done(workloadKey(k.kind, obj.metadata.namespace, String(obj.metadata.name)));
        queue.moveAllToActive();
      },
    });
  }
  const schedulingFields = (n: KubeObject): string =>
    JSON.stringify([n.metadata.labels, (n.spec as { taints?: unknown })?.taints, (n.spec as { unschedulable?: unknown })?.unschedulable, (n.status as { allocatable?: unknown })?.allocatable, (n.status as { capacity?: unknown })?.capacity, (n.status as { images?: unknown })?.images]);
  nodes.addHandlers({
    onAdd: (n) => {
      cache.upsertNode(n);
      queue.moveAllToActive();
    },
    onUpdate: (old, n) => {
      // Heartbeats change nodes every few seconds; only what scheduling reads (all NodeInfo keeps) is taken in and wakes the waiting.
      if (schedulingFields(old) === schedulingFields(n)) return;
      cache.upsertNode(n);
      queue.moveAllToActive();
    },
    onDelete: (n) => cache.removeNode(String(n.metadata.name)),
  });
  namespaces.addHandlers({
    onAdd: (ns) => cache.namespaceLabels.set(String(ns.metadata.name), ns.metadata.labels ?? {}),
    onUpdate: (_o, ns) => cache.namespaceLabels.set(String(ns.metadata.name), ns.metadata.labels ?? {}),
    onDelete: (ns) => cache.namespaceLabels.delete(String(ns.metadata.name)),
  });
  await ctx.informers.waitForSync();
  ctx.signal.addEventListener('abort', () => queue.stop());
  log.info('scheduler started', { nodes: cache.nodes.size });

  const lookup = (key: string): { k: Kind; obj: KubeObject } | undefined => {
    const colon = key.indexOf(':');
    const k = byKind.get(key.slice(0, colon) as WorkloadKind);
    const obj = k?.informer.cache.get(key.slice(colon + 1));
    return k && obj ? { k, obj } : undefined;
  };

  /** Conditions already reported as unschedulable, so an unchanged reason is not written again. */
  const reported = new Map<string, string>();
  /** `nominate`: a preemption made room on this node (written in the same status update, as kube-scheduler does); null clears a nomination. */
  const reportUnschedulable = async (k: Kind, obj: KubeObject, message: string, nominate?: string | null): Promise<void> => {
    o.events?.event(obj, 'Warning', 'FailedScheduling', message);
    const uid = String(obj.metadata.uid);
    const status = (obj.status ?? {}) as { conditions?: Condition[]; phase?: string; nominatedNodeName?: string };
    const nominatedNodeName = nominate === undefined ? status.nominatedNodeName : nominate ?? undefined;
    const seen = `${message}\n${nominatedNodeName ?? ''}`;
    if (reported.get(uid) === seen) return;
    const type = k.kind === 'Pod' ? 'PodScheduled' : 'Scheduled';
    const was = status.conditions?.find((c) => c.type === type);
    if (was?.status === 'False' && was.reason === 'Unschedulable' && was.message === message && status.nominatedNodeName === nominatedNodeName) {
      reported.set(uid, seen);
      return;
    }
    const cond: Condition = { type, status: 'False', reason: 'Unschedulable', message, lastTransitionTime: was?.status === 'False' && was.lastTransitionTime ? was.lastTransitionTime : rfc3339() };
    if (k.kind === 'Pod') cond.lastProbeTime = null;
    const { nominatedNodeName: _was, ...rest } = status;
    const next: KubeObject = {
      ...obj,
      status: { ...rest, phase: status.phase ?? 'Pending', conditions: [...(status.conditions ?? []).filter((c) => c.type !== type), cond], ...(nominatedNodeName ? { nominatedNodeName } : {}) },
    };
    try {
      await ctx.svc.update(k.rt, obj.metadata.namespace, String(obj.metadata.name), next, write, 'status');
      reported.set(uid, seen);
    } catch (e) {
      // Changed or gone meanwhile: the next attempt reports again.
      if (!(e instanceof ApiError && (e.code === 409 || e.code === 404))) log.warn('cannot record unschedulable', { workload: `${obj.metadata.namespace}/${String(obj.metadata.name)}`, error: (e as Error).message });
    }
  };

  let inFlight = 0;
  const slotFreed: Array<() => void> = [];
  const bindings = new Set<Promise<void>>();
  const bindInBackground = (k: Kind, obj: KubeObject, w: Workload, node: string, key: string): void => {
    inFlight++;
    assumedKeys.add(w.uid);
    const p = (async () => {
      try {
        await bind(ctx.svc, k.rt, obj.metadata.namespace, { name: w.name, uid: w.uid, nodeName: node }, write, obj);
        attempts.inc({ result: 'scheduled', profile: PROFILE });
        queue.done(key);
        reported.delete(w.uid);
        o.events?.event(obj, 'Normal', 'Scheduled', `Successfully assigned ${w.namespace}/${w.name} to ${node}`);
      } catch (e) {
        cache.forget(w.uid);
        attempts.inc({ result: 'error', profile: PROFILE });
        const code = e instanceof ApiError ? e.code : 0;
        // Gone, or bound by someone else: nothing to retry. Anything else: again after a back-off.
        if (code === 404 || code === 409) queue.done(key);
        else {
          log.warn('binding failed', { workload: `${w.namespace}/${w.name}`, node, error: (e as Error).message });
          queue.retry(key);
        }
      } finally {
        assumedKeys.delete(w.uid);
        inFlight--;
        slotFreed.shift()?.();
      }
    })();
    bindings.add(p);
    void p.finally(() => bindings.delete(p));
  };

  /** Put nominated workloads of at least w's priority on their nodes for this decision; the caller takes them off. */
  const holdNominated = (w: Workload): Array<{ info: NodeInfo; uid: string }> => {
    const held: Array<{ info: NodeInfo; uid: string }> = [];
    for (const [uid, n] of nominated) {
      if (uid === w.uid || n.workload.priority < w.priority || cache.isPlaced(uid)) continue;
      const info = cache.nodes.get(n.node);
      if (!info || info.workloads.has(uid)) continue;
      info.add(n.workload);
      held.push({ info, uid });
    }
    return held;
  };

  const budgets = (): PdbInfo[] =>
    (pdbs?.list() ?? []).map((p) => {
      const spec = (p.spec ?? {}) as { selector?: LabelSelector };
      const status = (p.status ?? {}) as { disruptionsAllowed?: number; disruptedPods?: Record<string, unknown> };
      return { namespace: String(p.metadata.namespace), selector: spec.selector, disruptionsAllowed: status.disruptionsAllowed ?? 0, disruptedPods: status.disruptedPods };
    });

  /**
   * After a workload fit nowhere: undefined when it may not preempt now (its policy is Never, or it waits for the
   * victims of its last preemption to go); else the node and victims chosen, or why there are none.
   */
  const preempt = (w: Workload): Preempted | undefined => {
    const pending = pendingVictims.get(w.uid);
    if (pending) {
      for (const v of pending) if (!cache.isPlaced(v)) pending.delete(v);
      if (pending.size) return undefined;
      pendingVictims.delete(w.uid);
    }
    if (!eligibleToPreempt(w, cache, nominated.get(w.uid)?.node)) return undefined;
    const r = findPreemption(w, cache, profile, budgets());
    if (!r.candidate) return { reasons: r.reasons };
    return { node: r.candidate.node, victims: r.candidate.victims };
  };

  /** Nominate w to the node and delete the victims, in the background. */
  const carryOut = (w: Workload, node: string, victims: Workload[]): void => {
    nominated.set(w.uid, { workload: w, node });
    pendingVictims.set(w.uid, new Set(victims.map((v) => v.uid)));
    // Lower-priority workloads nominated to that node lose the room they were promised.
    for (const [uid, n] of nominated) {
      if (uid === w.uid || n.node !== node || n.workload.priority >= w.priority) continue;
      // Its status keeps the name until its next attempt, which clears or replaces it.
      nominated.delete(uid);
    }
    log.info('preempting', { workload: `${w.namespace}/${w.name}`, priority: w.priority, node, victims: victims.map((v) => `${v.namespace}/${v.name}`) });
    for (const v of victims) {
      const victim = podKind.informer.cache.get(`${v.namespace}/${v.name}`);
      if (!victim || String(victim.metadata.uid) !== v.uid) continue;
      void (async () => {
        try {
          if (await disruptPod(ctx.svc, podType, victim, PREEMPTION))
            o.events?.event(victim, 'Normal', 'Preempted', `Preempted by pod ${w.uid} on node ${node}`);
        } catch (e) {
          log.warn('cannot preempt', { victim: `${v.namespace}/${v.name}`, error: (e as Error).message });
          pendingVictims.get(w.uid)?.delete(v.uid);
        }
      })();
    }
  };

  let start = 0;
  const slice = new TimeSlice(SCHEDULER_SLICE_MS);
  for (;;) {
    const key = await queue.pop();
    if (key === undefined) break;
    const found = lookup(key);
    if (!found || !waits(found.k, found.obj)) {
      queue.done(key);
      continue;
    }
    const { k, obj } = found;
    const w = k.workload(obj);
    if (cache.isPlaced(w.uid)) continue; // its binding is in flight
    // Room nominated to workloads of at least this priority is theirs while this one is decided (and preempts).
    const held = holdNominated(w);
    let d: ReturnType<typeof scheduleOne>;
    let outcome: Preempted | undefined;
    try {
      d = scheduleOne(w, cache, profile, start);
      if (!d.node) outcome = preempt(w);
    } finally {
      for (const h of held) h.info.remove(h.uid);
    }
    start = d.totalNodes ? (start + d.evaluated) % d.totalNodes : 0;
    if (!d.node) {
      attempts.inc({ result: 'unschedulable', profile: PROFILE });
      queue.addUnschedulable(key);
      const message = fitErrorMessage(d.totalNodes, d.reasons);
      if (outcome?.node) {
        carryOut(w, outcome.node, outcome.victims ?? []);
        void reportUnschedulable(k, obj, message, outcome.node);
      } else if (outcome?.reasons) {
        // Preemption found no room: a nomination it had is void (kube-scheduler clears it).
        nominated.delete(w.uid);
        void reportUnschedulable(k, obj, `${message} ${preemptionMessage(d.totalNodes, outcome.reasons)}`, null);
      } else void reportUnschedulable(k, obj, message, nominated.get(w.uid)?.node);
      continue;
    }
    cache.assume(w, d.node);
    while (inFlight >= parallel && !ctx.signal.aborted) await new Promise<void>((r) => slotFreed.push(r));
    bindInBackground(k, obj, w, d.node, key);
    // Let requests, watch events and bindings' completions in between decisions.
    await slice.maybeYield();
  }
  await Promise.allSettled([...bindings]);
  log.info('scheduler stopped');
}
