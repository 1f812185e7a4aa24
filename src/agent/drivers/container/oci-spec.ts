// config.json for runc (OCI runtime spec 1.0), generated from a WorkloadSpec.
// Only the fields Lodge sets are typed here. The defaults follow what runc's
// own `runc spec` and the common engines use, with the host rules of
// HOST-NOTES.md: an explicit cgroupsPath always (runc otherwise nests the
// container under the caller's cgroups) and never CAP_SYS_RESOURCE (it is
// not in this host's bounding set, so asking for it fails the start).
import type { ResourceLimits, WorkloadSpec } from '../../runtime/driver.js';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]>;
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    cgroupsPath: string;
    namespaces: Array<{ type: string; path?: string }>;
    resources: {
      devices: Array<{ allow: boolean; access: string }>;
      memory?: { limit: number; swap?: number };
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

// The capabilities Docker and containerd give a container by default. Enough
// for an init system and package managers, without CAP_SYS_ADMIN and,
// deliberately, without CAP_SYS_RESOURCE (see above).
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

// Kernel interfaces a container must not read or change (runc's defaults).
const MASKED_PATHS = ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

// The CFS period the kubelet uses; quota is a share of it.
export const CPU_PERIOD_US = 100_000;

export interface SpecHost {
  /** Whether the memory cgroup accounts swap (v1 memory.memsw.*): only then can swap be capped with memory. */
  swapAccounting: boolean;
}

export function buildOciSpec(spec: WorkloadSpec, cgroupsPath: string, host: SpecHost): OciSpec {
  const namespaces: OciSpec['linux']['namespaces'] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }, spec.netnsPath ? { type: 'network', path: spec.netnsPath } : { type: 'network' }];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.terminal ?? false,
      user: spec.user ?? { uid: 0, gid: 0 },
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd || '/',
      capabilities: { bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES },
      noNewPrivileges: false,
      // conmon sets its own oom_score_adj to -999 and the container would
      // inherit it; put the container back to neutral so the OOM killer
      // prefers it over the monitor that records its exit.
      oomScoreAdj: 0,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: (spec.hostname ?? spec.id).slice(0, 63),
    mounts: [...defaultMounts(), ...spec.mounts.map(bindMount)],
    linux: {
      cgroupsPath,
      namespaces,
      // Deny every device; runc then allows the standard ones it creates in /dev.
      resources: { devices: [{ allow: false, access: 'rwm' }], ...cgroupResources(spec.limits, host) },
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

function bindMount(m: WorkloadSpec['mounts'][number]): OciMount {
  if (!m.destination.startsWith('/')) throw new Error(`mount destination ${JSON.stringify(m.destination)} must be absolute`);
  // rprivate: mounts made later on the host under the source do not leak in, nor the container's out.
  return { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', 'rprivate', ...(m.readOnly ? ['ro'] : [])] };
}

/** Kubernetes' conversion of requests/limits into cgroup settings; runc maps them to v1 files or v2 (weight, max) itself. */
export function cgroupResources(limits: ResourceLimits, host: SpecHost): Pick<OciSpec['linux']['resources'], 'memory' | 'cpu' | 'pids'> {
  const out: Pick<OciSpec['linux']['resources'], 'memory' | 'cpu' | 'pids'> = {};
  if (limits.memoryBytes !== undefined) {
    if (!(limits.memoryBytes > 0)) throw new Error(`memory limit ${limits.memoryBytes} must be positive`);
    // swap = memory+swap total in the OCI spec: equal to the limit means no swap,
    // so a memory limit is a hard limit even on a host with swap.
    out.memory = { limit: limits.memoryBytes, ...(host.swapAccounting ? { swap: limits.memoryBytes } : {}) };
  }
  const request = limits.cpuRequestMillis ?? limits.cpuMillis;
  if (request !== undefined || limits.cpuMillis !== undefined) {
    out.cpu = {};
    // A request becomes a relative weight: 1024 shares per CPU, at least 2 (the kernel minimum).
    if (request !== undefined) out.cpu.shares = Math.max(2, Math.round((request * 1024) / 1000));
    // A limit becomes a hard quota per period; the kernel refuses less than 1 ms.
    if (limits.cpuMillis !== undefined) {
      if (!(limits.cpuMillis > 0)) throw new Error(`cpu limit ${limits.cpuMillis}m must be positive`);
      out.cpu.quota = Math.max(1000, Math.round((limits.cpuMillis * CPU_PERIOD_US) / 1000));
      out.cpu.period = CPU_PERIOD_US;
    }
  }
  if (limits.pids !== undefined) out.pids = { limit: limits.pids };
  return out;
}
