// The READY, STATUS and RESTARTS cells of `kubectl get pods`, computed the
// way kubectl does: a pod's STATUS is the most telling container reason, not
// just its phase.
import { humanDuration } from '../../columns.js';
import type { ContainerState, ContainerStatus, Pod } from './types.js';

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

function exitDescription(t: NonNullable<ContainerState['terminated']>): string {
  if (t.reason) return t.reason;
  return t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`;
}

function lastRestart(s: ContainerStatus): number | undefined {
  const at = s.lastState?.terminated?.finishedAt;
  return at ? Date.parse(at) : undefined;
}

export function summarizePod(pod: Pod, now: number): PodSummary {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  let reason = status.reason || status.phase || '';
  const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'SchedulingGated') reason = 'SchedulingGated';

  // Sidecars (init containers with restartPolicy Always) count as containers.
  const sidecars = new Set((spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const total = (spec.containers ?? []).length + sidecars.size;
  let ready = 0;
  let restarts = 0;
  let restartedAt: number | undefined;
  const noteRestart = (s: ContainerStatus): void => {
    restarts += s.restartCount ?? 0;
    const t = lastRestart(s);
    if (t !== undefined && (restartedAt === undefined || t > restartedAt)) restartedAt = t;
  };

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  const initCount = (spec.initContainers ?? []).length;
  for (let i = 0; i < initStatuses.length; i++) {
    const s = initStatuses[i];
    noteRestart(s);
    const sidecar = sidecars.has(s.name);
    if (sidecar && s.started) {
      if (s.ready) ready++;
      continue;
    }
    const t = s.state?.terminated;
    if (t && t.exitCode === 0) continue;
    initializing = true;
    if (t) reason = `Init:${exitDescription(t)}`;
    else if (s.state?.waiting?.reason && s.state.waiting.reason !== 'PodInitializing') reason = `Init:${s.state.waiting.reason}`;
    else reason = `Init:${i}/${initCount}`;
    break;
  }

  if (!initializing) {
    restarts = 0;
    restartedAt = undefined;
    for (const s of initStatuses) if (sidecars.has(s.name)) noteRestart(s);
    let running = false;
    const statuses = status.containerStatuses ?? [];
    // kubectl walks the statuses backwards so the first container's reason wins.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const s = statuses[i];
      noteRestart(s);
      const st = s.state ?? {};
      if (st.waiting?.reason) reason = st.waiting.reason;
      else if (st.terminated) reason = exitDescription(st.terminated);
      else if (st.running && s.ready) {
        running = true;
        ready++;
      }
    }
    if (reason === 'Completed' && running) {
      const podReady = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = podReady ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata.deletionTimestamp) {
    if (status.reason === 'NodeLost') reason = 'Unknown';
    else if (status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';
  }

  const restartText = restartedAt !== undefined && restarts > 0 ? `${restarts} (${humanDuration(now - restartedAt)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartText };
}
