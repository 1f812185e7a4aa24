// Init containers, as the kubelet runs them: one after another, each to a
// successful exit, before any app container starts. A failing one is retried
// with the same back-off as app containers unless the Pod's restartPolicy is
// Never (then the Pod fails). Level-triggered like the rest of the agent: an
// init container whose status (or the driver's record) says it exited 0 is
// done and never run again, so a restarted agent picks up where it was.
// This file holds the sequencing and the Pod-level outcome; running one
// container is the PodWorker's syncContainer, passed in.
import type { PodContainer } from './container-spec.js';
import type { ContainerStatus } from './pod-worker.js';

export interface InitResult {
  statuses: ContainerStatus[];
  /** Every init container has exited 0: the app containers may start. */
  done: boolean;
  /** One failed for good (restartPolicy Never): the Pod has failed. */
  failed: boolean;
}

/** Init containers restart on failure unless the Pod says Never; they never restart after success. */
export function initRestartPolicy(podPolicy: string): string {
  return podPolicy === 'Never' ? 'Never' : 'OnFailure';
}

const succeeded = (s: ContainerStatus | undefined): boolean => (s?.state.terminated as { exitCode?: number } | undefined)?.exitCode === 0;

/** The status of a container that has not been started because the Pod is still initializing. */
export function initializingStatus(c: PodContainer, prev: ContainerStatus | undefined): ContainerStatus {
  return {
    name: c.name,
    state: { waiting: { reason: 'PodInitializing' } },
    lastState: prev?.lastState ?? {},
    ready: false,
    restartCount: prev?.restartCount ?? 0,
    image: c.image,
    imageID: prev?.imageID ?? '',
    started: false,
  };
}

export async function syncInitContainers(
  inits: PodContainer[],
  prev: ContainerStatus[],
  sync: (c: PodContainer, prev: ContainerStatus | undefined) => Promise<ContainerStatus>,
): Promise<InitResult> {
  const statuses: ContainerStatus[] = [];
  let blocked = false;
  let failed = false;
  for (const c of inits) {
    const old = prev.find((s) => s.name === c.name);
    if (blocked) {
      statuses.push(initializingStatus(c, old));
      continue;
    }
    // Finished earlier (possibly before an agent restart or a reboot that lost the workload): not run again.
    const s = succeeded(old) ? old! : await sync(c, old);
    // An init container is "ready" once it has completed, never while it runs.
    if (succeeded(s)) {
      statuses.push({ ...s, ready: true, started: false });
      continue;
    }
    statuses.push({ ...s, ready: false });
    blocked = true;
    // Terminated but not succeeded and not in back-off: syncContainer leaves it so only when it will not restart.
    if (s.state.terminated) failed = true;
  }
  return { statuses, done: !blocked, failed };
}
