// The status a hollow kubelet reports for a Pod bound to one of its nodes:
// Running and Ready at once (every container "started", none probed), or,
// for a run-to-completion Pod of a Job, Succeeded after a pretend run. The
// shape is the kubelet's, so controllers (ReplicaSet availability, Job
// completion, Endpoints) treat hollow Pods like real ones.
import type { KubeObject } from '../apis/types.js';
import { rfc3339 } from '../api/resources/clock.js';
import { HOLLOW_RUNTIME } from './node-objects.js';

/** How long a Job's Pod pretends to run before it succeeds: long enough to be seen Running, short enough for Job tests. */
export const PRETEND_RUN_MS = 1000;

type Condition = { type: string; status: string; lastTransitionTime: string; reason?: string };
type ContainerSpec = { name: string; image?: string; restartPolicy?: string };

/**
 * A Pod of a Job that does not restart its containers (restartPolicy Never or
 * OnFailure) runs to completion: hollow nodes report it Succeeded after
 * PRETEND_RUN_MS so Jobs complete. Every other Pod runs until deleted.
 */
export function runsToCompletion(pod: KubeObject): boolean {
  const policy = pod.spec?.restartPolicy as string | undefined;
  const ofJob = (pod.metadata.ownerReferences ?? []).some((r) => r.kind === 'Job' && r.controller);
  return ofJob && (policy === 'Never' || policy === 'OnFailure');
}

export interface PodPlacement {
  hostIP: string;
  podIP: string;
}

function conditions(pod: KubeObject, ready: boolean, now: string): Condition[] {
  const old = (pod.status?.conditions as Condition[] | undefined) ?? [];
  const cond = (type: string, ok: boolean, reason?: string): Condition => {
    const status = ok ? 'True' : 'False';
    const was = old.find((c) => c.type === type);
    return { type, status, lastTransitionTime: was?.status === status && was.lastTransitionTime ? was.lastTransitionTime : now, ...(!ok && reason ? { reason } : {}) };
  };
  return [cond('PodReadyToStartContainers', true), cond('Initialized', true), cond('Ready', ready, 'PodCompleted'), cond('ContainersReady', ready, 'PodCompleted'), cond('PodScheduled', true)];
}

function containerStatus(pod: KubeObject, c: ContainerSpec, state: Record<string, unknown>, ready: boolean): Record<string, unknown> {
  return {
    name: c.name,
    state,
    lastState: {},
    ready,
    restartCount: 0,
    image: c.image ?? '',
    imageID: `${HOLLOW_RUNTIME}${c.image ?? ''}`,
    containerID: `${HOLLOW_RUNTIME}${String(pod.metadata.uid)}-${c.name}`,
    started: Boolean(state.running),
  };
}

/** The whole status: Running (done = false) or Succeeded (done = true), other status fields (qosClass) kept. */
export function hollowPodStatus(pod: KubeObject, at: PodPlacement, done: boolean): Record<string, unknown> {
  const now = rfc3339();
  const old = pod.status ?? {};
  // When the containers started: kept from the status once reported.
  const start = (pod.status?.startTime as string | undefined) ?? now;
  const running = { running: { startedAt: start } };
  const completed = { terminated: { exitCode: 0, reason: 'Completed', startedAt: start, finishedAt: now } };
  type Reported = Array<{ name: string; state?: Record<string, unknown> }> | undefined;
  const oldTerminated = (list: unknown, name: string): Record<string, unknown> | undefined => ((list as Reported) ?? []).find((s) => s.name === name && s.state?.terminated)?.state;
  const containers = (pod.spec?.containers as ContainerSpec[] | undefined) ?? [];
  const inits = (pod.spec?.initContainers as ContainerSpec[] | undefined) ?? [];
  return {
    ...old,
    phase: done ? 'Succeeded' : 'Running',
    conditions: conditions(pod, !done, now),
    hostIP: at.hostIP,
    hostIPs: [{ ip: at.hostIP }],
    podIP: at.podIP,
    podIPs: [{ ip: at.podIP }],
    startTime: start,
    // Init containers have finished (sidecars, restartPolicy Always, keep running).
    ...(inits.length ? { initContainerStatuses: inits.map((c) => (c.restartPolicy === 'Always' && !done ? containerStatus(pod, c, running, true) : containerStatus(pod, c, oldTerminated(old.initContainerStatuses, c.name) ?? completed, true))) } : {}),
    // A finished container keeps its first finishedAt, so a re-sync writes nothing new.
    containerStatuses: containers.map((c) => (done ? containerStatus(pod, c, oldTerminated(old.containerStatuses, c.name) ?? completed, false) : containerStatus(pod, c, running, true))),
  };
}
