// The one interface both runtimes implement (DESIGN.md, "Node agent and
// drivers"): the agent drives containers (runc under conmon) and virtual
// machines (QEMU) through it and never touches a runtime itself. Workloads
// outlive the agent, so every method works from the workload's state
// directory and re-adopts what already runs.

/** A root filesystem as data (containerd's snapshotters return mounts, not mounted paths). */
export interface RootfsSpec {
  /** Read-only image layers, topmost first: overlayfs lowerdirs. */
  lowerDirs: string[];
}

/** What an image says about how to run it (OCI image config). */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

export interface ResourceLimits {
  /** CPU limit in millicores (cfs quota); undefined = unlimited. */
  cpuMillis?: number;
  /** CPU request in millicores (shares / weight). */
  cpuRequestMillis?: number;
  memoryBytes?: number;
  pids?: number;
}

export interface WorkloadSpec {
  /** Unique on the node: e.g. "pod-<uid>-<container>" or "inst-<uid>". */
  id: string;
  /** Node the workload belongs to (every interface carries it; a cluster has many). */
  node: string;
  rootfs: RootfsSpec;
  /** argv to run (already resolved from the image config and the Pod spec). */
  args: string[];
  env: string[];
  cwd: string;
  user?: { uid: number; gid: number };
  hostname?: string;
  limits: ResourceLimits;
  /** cgroup path relative to the cgroup root, set explicitly (runc otherwise nests under the caller's). */
  cgroupsPath: string;
  /** Join an existing network namespace (a Pod's), by path. */
  netnsPath?: string;
  /** Extra bind mounts (emptyDir volumes). */
  mounts: Array<{ source: string; destination: string; readOnly?: boolean }>;
  /** Where stdout/stderr go, in CRI log format. */
  logPath: string;
}

/**
 * 'unknown': the driver holds traces of the workload (its state dir) but the
 * runtime does not know it — a create that died half-way, or a reboot that
 * wiped the runtime's state. The agent deletes it and creates it anew.
 */
export type WorkloadStatus = 'created' | 'running' | 'paused' | 'stopped' | 'unknown';

export interface WorkloadState {
  id: string;
  status: WorkloadStatus;
  pid?: number;
  exitCode?: number;
  /** RFC 3339. */
  startedAt?: string;
  finishedAt?: string;
  /** Killed by the kernel's OOM killer. */
  oomKilled?: boolean;
}

export interface WorkloadStats {
  cpuUsageNanos: number;
  memoryBytes: number;
  pids: number;
  /** CFS periods in which the workload hit its cpu limit (cpu.stat nr_throttled): a CPU limit that bites shows here. */
  cpuThrottledPeriods?: number;
  /** Kills by the kernel's OOM killer inside the workload's memory cgroup. */
  oomKills?: number;
}

export interface ExecOptions {
  args: string[];
  env?: string[];
  cwd?: string;
  tty: boolean;
}

/** The driver has no workload by that id (never created, or deleted). */
export class WorkloadNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`workload ${id} not found`);
  }
}

/** create() was called for an id that already has a workload; the agent deletes first (a restart is a new workload). */
export class WorkloadExistsError extends Error {
  constructor(readonly id: string) {
    super(`workload ${id} already exists`);
  }
}

export interface InstanceDriver {
  readonly kind: 'container' | 'vm';
  /** Prepare everything (root filesystem, bundle, cgroup) without starting; undone on failure. */
  create(spec: WorkloadSpec): Promise<void>;
  /** Start a created workload; a no-op when it already runs. A stopped one is not restarted: delete and create again. */
  start(id: string): Promise<void>;
  /** Graceful stop: signal (SIGTERM / ACPI), wait up to timeoutMs, then kill. Resolves once it has stopped (exit recorded). */
  stop(id: string, timeoutMs: number): Promise<void>;
  /** Send a signal; a no-op when the workload no longer runs. */
  kill(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Remove the workload and everything it left: process, mounts, cgroup, state. Idempotent. */
  delete(id: string): Promise<void>;
  /** Throws WorkloadNotFoundError for an unknown id. */
  state(id: string): Promise<WorkloadState>;
  /** Throws WorkloadNotFoundError for an unknown id. */
  stats(id: string): Promise<WorkloadStats>;
  /** Every workload this driver finds on the node (after an agent restart). */
  list(): Promise<WorkloadState[]>;
}
