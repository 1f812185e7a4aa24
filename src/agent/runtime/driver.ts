// The one interface both runtimes implement (DESIGN.md, "Node agent and
// drivers"): the agent drives containers (runc under conmon) and virtual
// machines (QEMU) through it and never touches a runtime itself. Workloads
// outlive the agent, so every method works from the workload's state
// directory and re-adopts what already runs.
import type { Duplex, Readable, Writable } from 'node:stream';

/** A root filesystem as data (containerd's snapshotters return mounts, not mounted paths). */
export interface RootfsSpec {
  /** Read-only image layers, topmost first: overlayfs lowerdirs. */
  lowerDirs: string[];
  /**
   * A writable layer the caller owns (a system container's disk): mounted as
   * the overlay's upper layer and kept when the workload is deleted, so a
   * restart (delete + create) keeps what the guest wrote. When unset the
   * driver makes a throwaway one (a Pod's container). workDir must be on the
   * same filesystem.
   */
  upperDir?: string;
  workDir?: string;
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

/** A stop signal: a Node signal name or SIGRTMIN+n, which Node does not name. */
export type StopSignal = NodeJS.Signals | `SIGRTMIN+${number}`;

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
  /**
   * Resolves once what the workload joins exists (a Pod's network namespace,
   * made meanwhile): the driver prepares the root filesystem and its monitor
   * in parallel and creates the runtime's container only then.
   */
  ready?: Promise<void>;
  /** Extra bind mounts (emptyDir volumes). */
  mounts: Array<{ source: string; destination: string; readOnly?: boolean }>;
  /** Where stdout/stderr go, in CRI log format (a VM: its serial console log). */
  logPath: string;
  /**
   * Give the process a terminal (a system container's console, as a VM's
   * serial port): conmon holds the pty master, logs what is written to it and
   * lets console() attach. Pods' containers have none (kubectl logs sees two
   * streams, as in Kubernetes).
   */
  terminal?: boolean;
  /**
   * Keep the process's stdin open for attaching clients (a Pod container's
   * `stdin: true`): what they write reaches it. Without it stdin is
   * /dev/null (a terminal still takes what they type).
   */
  stdin?: boolean;
  /** With stdin: close it when the first attached client is done with it (the container's `stdinOnce`). */
  stdinOnce?: boolean;
  /**
   * The signal that asks the workload's PID 1 to shut down (default
   * SIGTERM). systemd ignores SIGTERM as PID 1 and halts on SIGRTMIN+3, as
   * `docker stop` of a systemd container needs STOPSIGNAL SIGRTMIN+3.
   */
  stopSignal?: StopSignal;
  /**
   * PID 1 is systemd (a system container's): the container driver gives it
   * what it needs beyond a plain container: a writable name=systemd cgroup
   * hierarchy, tmpfs /run, /run/lock and /tmp, and CAP_SYS_ADMIN (see
   * oci-spec.ts for the trade-off).
   */
  systemd?: boolean;
  /**
   * Bring the workload back from a checkpoint (a CRIU image dir written by
   * the container driver's checkpoint()) instead of running args fresh: the
   * processes continue where they were dumped, with the same pids inside
   * their PID namespace, and the workload is running as soon as create()
   * returns (start() is then a no-op). The rest of the spec must be the
   * one the checkpoint was taken with, and rootfs must hold the same upper
   * dir contents: the images have the processes, not the filesystem.
   * Containers only.
   */
  restoreFrom?: string;
  /** A virtual machine (the vm driver): its boot files, disk and size. The container fields above (rootfs, args, env, cwd, mounts) do not apply then. */
  vm?: VmSpec;
}

/** What the vm driver boots: a kernel directly (no firmware), with the root filesystem on a disk. */
export interface VmSpec {
  /** Uncompressed kernel (vmlinux, booted through its PVH entry) or a bzImage. */
  kernel: string;
  initrd?: string;
  /** Kernel command line from the image (the driver adds its console and root settings). */
  cmdline: string;
  /** The image's disk: the VM writes to its own qcow2 overlay backed by it, never to it. */
  baseDisk: { path: string; format: 'qcow2' | 'raw' };
  /**
   * Where the VM's writable disk lives when the caller owns it (an
   * Instance's root disk): the overlay on baseDisk is made there when
   * missing and used as it is when present, and delete() keeps it, so what
   * the guest wrote survives stop, start and restart (delete + create), as
   * a system container's upper layer does. Unset: a throwaway overlay in the
   * driver's state dir.
   */
  persistentDisk?: string;
  /** Grow the overlay to this size (bytes); the image's size when unset. */
  diskSizeBytes?: number;
  cpus: number;
  memoryBytes: number;
  /**
   * The cloud-init NoCloud seed (an ISO 9660 image labelled cidata), attached
   * read-only as the second virtio disk. Made by the instance layer, which
   * owns the Instance's cloud-init data; the driver only attaches it.
   */
  seed?: { path: string; format: 'raw' };
  /**
   * Resume from a memory+device state file (VmDriver.saveState) instead of
   * booting: QEMU is created waiting for it (-incoming defer) and start()
   * loads it and runs the guest from where it was saved. The VM must have
   * the devices, cpus and memory of the one that saved it, and a disk in the
   * state the save left (an overlay on the snapshot layer taken with it).
   */
  incomingState?: string;
  /**
   * Network interfaces: a virtio-net NIC on each tap (made and plugged into
   * the bridge by the node network beforehand; QEMU opens it by name). None:
   * the VM has no network. A saved state loads only into a VM with the same
   * NICs (MACs included), which the same Instance always gets.
   */
  nics?: Array<{ tap: string; mac: string }>;
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
  /** Added to the workload's own environment (later entries win). */
  env?: string[];
  /** Defaults to the workload's working directory. */
  cwd?: string;
  tty: boolean;
  /** Give the process a writable stdin; otherwise it reads /dev/null. */
  stdin?: boolean;
}

/** A process started inside a running workload (`kubectl exec`). */
export interface ExecProcess {
  /** Present when ExecOptions.stdin was set; ending it closes the process's stdin (not with a tty: a terminal has no EOF but ^D). */
  stdin?: Writable;
  /** With a tty: the terminal's output, stderr included. */
  stdout: Readable;
  /** Absent with a tty: a terminal has one output stream. */
  stderr?: Readable;
  /** Set the terminal size; best effort, a no-op without a tty. */
  resize(cols: number, rows: number): void;
  /**
   * Resolves when the process has exited and its output is drained; rejects
   * (ExecFailedError) when the runtime could not start it at all.
   */
  wait(): Promise<{ exitCode: number }>;
  /** Kill the process (SIGKILL); a no-op once it has exited. */
  kill(): void;
}

/** The runtime could not start the process (no such executable, workload not running): there is no exit code. */
export class ExecFailedError extends Error {
  constructor(
    readonly id: string,
    readonly reason: string,
  ) {
    super(`exec in ${id}: ${reason}`);
  }
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
  /** Freeze a running workload (cgroup freezer; a VM's vCPUs stop); state() says paused. */
  pause(id: string): Promise<void>;
  /** Thaw a paused workload; a no-op when it runs. */
  resume(id: string): Promise<void>;
  /** Run a process in a running workload, with its environment and working dir. Throws WorkloadNotFoundError for an unknown id. */
  exec(id: string, opts: ExecOptions): Promise<ExecProcess>;
  /**
   * The workload's console, both ways (`lodge console`): a VM's serial port, a
   * system container's terminal (created with `terminal`). Ending the stream
   * detaches; the workload goes on. Throws WorkloadNotFoundError for an unknown id.
   */
  console?(id: string): Promise<Duplex>;
  /**
   * Attach to a running workload's main process (pods/attach): its output
   * from now on, and with opts.stdin its input (the workload must have been
   * created with `stdin` for that to reach the process). Ending the stdin
   * stream is the client being done with input; kill() detaches and the
   * workload goes on; wait() resolves when either the workload ended or the
   * session was detached. Throws WorkloadNotFoundError for an unknown id,
   * ExecFailedError when it is not running.
   */
  attach?(id: string, opts: { stdin: boolean }): Promise<ExecProcess>;
  /** Set the console's size (a terminal's rows and columns); a no-op where the console has none (a VM's serial port). */
  resizeConsole?(id: string, cols: number, rows: number): Promise<void>;
}
