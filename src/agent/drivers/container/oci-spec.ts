// config.json for runc (OCI runtime spec 1.0), generated from a WorkloadSpec.
// Only the fields Lodge sets are typed here. The defaults follow what runc's
// own `runc spec` and the common engines use, with the host rules of
// HOST-NOTES.md: an explicit cgroupsPath always (runc otherwise nests the
// container under the caller's cgroups) and never CAP_SYS_RESOURCE (it is
// not in this host's bounding set, so asking for it fails the start).
import type { ResourceLimits, WorkloadSpec } from '../../runtime/driver.js';
import { cgroupDir, type Hierarchy } from './cgroups.js';

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
  /** The host's cgroup v1 name=systemd hierarchy, when it has one (hybrid and legacy hosts). */
  systemdHierarchy?: Hierarchy;
}

// What systemd as PID 1 needs on top of the defaults. CAP_SYS_ADMIN: it
// mounts (its /run/user, /dev/mqueue, private /tmp and the sandboxing of
// units: ProtectSystem=, PrivateTmp=), sets hostnames and makes cgroups;
// without it PID 1 fails early ("Failed to mount ..."). The trade-off is
// that of Incus/LXD privileged containers: root in the container is root on
// the host (no user namespace) with the capability that allows most escape
// routes (mount, remount of read-only paths, bpf, keyctl); the container is
// isolated by namespaces, the cgroup and the masked and read-only paths, not
// by privilege. Only the system containers whose image's init is systemd
// get it; busybox system containers and Pods keep the Docker default set.
// Running them in an unprivileged user namespace (the container's root
// mapped to an unprivileged host uid) is the later step that removes most
// of that risk. The others: CAP_NET_ADMIN for the container's own network
// namespace (loopback, addresses), CAP_SYS_PTRACE for systemd to inspect its
// services' processes, CAP_SYS_BOOT for reboot(2), which in a pid namespace
// only ends the container, and CAP_AUDIT_CONTROL, CAP_SYS_NICE,
// CAP_IPC_LOCK, CAP_LEASE, which services' units commonly ask for. Not
// CAP_SYS_TIME (the clock stays the host's) nor CAP_SYS_MODULE.
export const SYSTEMD_EXTRA_CAPABILITIES = ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_AUDIT_CONTROL', 'CAP_SYS_NICE', 'CAP_IPC_LOCK', 'CAP_LEASE', 'CAP_SYS_BOOT'];

export function buildOciSpec(spec: WorkloadSpec, cgroupsPath: string, host: SpecHost): OciSpec {
  const caps = spec.systemd ? [...DEFAULT_CAPABILITIES, ...SYSTEMD_EXTRA_CAPABILITIES] : DEFAULT_CAPABILITIES;
  const namespaces: OciSpec['linux']['namespaces'] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }, spec.netnsPath ? { type: 'network', path: spec.netnsPath } : { type: 'network' }];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.terminal ?? false,
      user: spec.user ?? { uid: 0, gid: 0 },
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
      // conmon sets its own oom_score_adj to -999 and the container would
      // inherit it; put the container back to neutral so the OOM killer
      // prefers it over the monitor that records its exit.
      oomScoreAdj: 0,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: (spec.hostname ?? spec.id).slice(0, 63),
    mounts: [...defaultMounts(), ...(spec.systemd ? systemdMounts(cgroupsPath, host) : []), ...spec.mounts.map(bindMount)],
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

/**
 * systemd's mounts, after the defaults (runc mounts in order). /sys/fs/cgroup
 * stays the read-only cgroup mount (runc mounts the container's own cgroups,
 * under the cgroup namespace each hierarchy's root is the container's
 * cgroup), and only the name=systemd hierarchy is made writable by binding
 * the container's own cgroup there (as LXC's cgroup:mixed does): systemd
 * makes its unit cgroups in it, while the resource controllers stay
 * read-only, so the container cannot raise its own memory, cpu or pids
 * limits through them. runc has made the cgroup (in every hierarchy,
 * name=systemd included) before its init does the mounts. /run, /run/lock
 * and /tmp are tmpfs as on a booted Debian: systemd expects /run empty at
 * boot and a writable, non-persistent /run/lock.
 */
function systemdMounts(cgroupsPath: string, host: SpecHost): OciMount[] {
  const out: OciMount[] = [
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] },
    { destination: '/run/lock', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=5120k'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
  ];
  const own = host.systemdHierarchy && cgroupDir(host.systemdHierarchy, cgroupsPath);
  if (!own) throw new Error('systemd as init needs a cgroup v1 name=systemd hierarchy on the host, and this host has none (a pure cgroup v2 host is not supported yet)');
  out.push({ destination: '/sys/fs/cgroup/systemd', type: 'bind', source: own, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] });
  return out;
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
