// QEMU's own cgroup. Unlike runc, QEMU does not make one, so the driver
// creates cgroupsPath in every hierarchy the host has (cgroup v1 controllers
// and v2), writes the limits, and has QEMU start inside it (see launch.ts):
// the memory QEMU touches while it sets up is charged there from the first
// page. Reading and removal reuse the container driver's cgroup code.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cgroupDir, hierarchies, type Hierarchy } from '../container/cgroups.js';

export interface VmCgroupLimits {
  /** The whole QEMU process: guest RAM plus QEMU's own overhead. */
  memoryBytes: number;
  /** vCPUs: the CFS quota is this many full CPUs. */
  cpus: number;
  pids: number;
}

const CFS_PERIOD_US = 100_000;

/**
 * cpuset is left out: a new v1 cpuset cgroup starts with no CPUs and no
 * memory nodes, and a process cannot join it until both are copied down
 * from every ancestor. QEMU stays in its parent's cpuset.
 */
function wanted(h: Hierarchy): boolean {
  return !(h.version === 1 && h.controllers.length === 1 && h.controllers[0] === 'cpuset');
}

async function write(file: string, value: string, id: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (e) {
    throw new Error(`vm ${id}: cannot write ${value} to ${file}: ${(e as Error).message}`);
  }
}

/** On cgroup v2 a controller's files appear in a child only when every ancestor enables it in cgroup.subtree_control. */
async function enableV2Controllers(h: Hierarchy, dir: string, controllers: string[]): Promise<void> {
  const want = controllers.filter((c) => h.controllers.includes(c));
  if (!want.length) return;
  const chain: string[] = [];
  for (let d = dirname(dir); d.startsWith(h.mountPoint) && d.length >= h.mountPoint.length; d = dirname(d)) {
    chain.unshift(d);
    if (d === h.mountPoint) break;
  }
  for (const d of chain) {
    const enabled = (await readFile(join(d, 'cgroup.subtree_control'), 'utf8').catch(() => '')).split(/\s+/);
    const missing = want.filter((c) => !enabled.includes(c));
    // Best effort: a cgroup with processes of its own cannot delegate (v2's no-internal-processes rule); limits then simply do not apply.
    if (missing.length) await writeFile(join(d, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' ')).catch(() => undefined);
  }
}

/**
 * Make cgroupsPath in every hierarchy and write the limits. Returns the
 * cgroup.procs files QEMU's launcher must write its pid into.
 */
export async function createVmCgroup(id: string, cgroupsPath: string, limits: VmCgroupLimits): Promise<string[]> {
  const hs = (await hierarchies()).filter(wanted);
  const v1Has = (c: string): boolean => hs.some((h) => h.version === 1 && h.controllers.includes(c));
  const procs: string[] = [];
  for (const h of hs) {
    const dir = cgroupDir(h, cgroupsPath);
    if (!dir) continue;
    if (h.version === 2) await enableV2Controllers(h, dir, ['cpu', 'memory', 'pids'].filter((c) => !v1Has(c)));
    await mkdir(dir, { recursive: true });
    procs.push(join(dir, 'cgroup.procs'));
    const has = (c: string): boolean => h.controllers.includes(c) && (h.version === 1 || !v1Has(c));
    const quota = String(Math.round(limits.cpus * CFS_PERIOD_US));
    if (h.version === 1) {
      if (has('memory')) await write(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes), id);
      if (has('cpu')) {
        await write(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US), id);
        await write(join(dir, 'cpu.cfs_quota_us'), quota, id);
      }
      if (has('pids')) await write(join(dir, 'pids.max'), String(limits.pids), id);
    } else {
      if (has('memory')) await write(join(dir, 'memory.max'), String(limits.memoryBytes), id);
      if (has('cpu')) await write(join(dir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`, id);
      if (has('pids')) await write(join(dir, 'pids.max'), String(limits.pids), id);
    }
  }
  if (!procs.length) throw new Error(`vm ${id}: no cgroup hierarchy shows ${cgroupsPath}`);
  return procs;
}
