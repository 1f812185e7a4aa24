// The cgroups of one container, on whatever mix of hierarchies the host
// has: cgroup v1 (one mount per controller or group of controllers), v2
// (one unified mount), or both ("hybrid", as on the development host: v1
// controllers plus a near-empty v2). runc creates and configures them from
// config.json; the driver only reads them (stats, OOM kills) and removes
// them on delete, in every hierarchy, so nothing is left behind.
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { readMountinfo, type MountEntry } from './mountinfo.js';

export interface Hierarchy {
  version: 1 | 2;
  mountPoint: string;
  /** v1: the controllers of this mount (named hierarchies like name=systemd included); v2: the enabled controllers. */
  controllers: string[];
  /** The cgroup path the mount shows at its root ("/" on a host). */
  root: string;
}

/** "/lodge/pod-x/ctr", never escaping the hierarchy root. */
export function normalizeCgroupsPath(path: string): string {
  if (!path || path.split('/').includes('..')) throw new Error(`cgroupsPath ${JSON.stringify(path)} must be a path without '..'`);
  const p = posix.normalize(`/${path}`).replace(/\/+$/, '');
  if (p === '' || p === '/') throw new Error(`cgroupsPath ${JSON.stringify(path)} names the root cgroup`);
  return p;
}

export async function hierarchies(mounts?: MountEntry[]): Promise<Hierarchy[]> {
  const all = mounts ?? (await readMountinfo());
  const seen = new Set<string>();
  const out: Hierarchy[] = [];
  for (const m of all) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue;
    if (m.fsType === 'cgroup') {
      const controllers = m.superOptions.filter((o) => !['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'clone_children', 'noprefix', 'xattr', 'cpuset_v2_mode'].includes(o) && !o.startsWith('release_agent='));
      const key = `v1:${controllers.sort().join(',')}`;
      if (seen.has(key)) continue; // the same hierarchy mounted twice
      seen.add(key);
      out.push({ version: 1, mountPoint: m.mountPoint, controllers, root: m.root });
    } else {
      if (seen.has('v2')) continue;
      seen.add('v2');
      const enabled = await readFile(join(m.mountPoint, 'cgroup.controllers'), 'utf8').catch(() => '');
      out.push({ version: 2, mountPoint: m.mountPoint, controllers: enabled.split(/\s+/).filter(Boolean), root: m.root });
    }
  }
  return out;
}

/** The directory of cgroupsPath in one hierarchy, or undefined if the mount does not show that part of the tree. */
export function cgroupDir(h: Hierarchy, cgroupsPath: string): string | undefined {
  if (h.root === '/') return join(h.mountPoint, cgroupsPath);
  if (cgroupsPath === h.root || cgroupsPath.startsWith(`${h.root}/`)) return join(h.mountPoint, cgroupsPath.slice(h.root.length));
  return undefined;
}

/** Where a controller's files for cgroupsPath live: its v1 hierarchy if it has one, else v2 if enabled there. */
function controllerDir(hs: Hierarchy[], controller: string, cgroupsPath: string): { dir: string; version: 1 | 2 } | undefined {
  const v1 = hs.find((h) => h.version === 1 && h.controllers.includes(controller));
  const h = v1 ?? hs.find((x) => x.version === 2 && x.controllers.includes(controller));
  const dir = h && cgroupDir(h, cgroupsPath);
  return h && dir ? { dir, version: h.version } : undefined;
}

async function readNumber(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (cpu.stat, memory.stat, memory.events, memory.oom_control). */
async function readKeyed(file: string): Promise<Map<string, number> | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

export interface CgroupStats {
  cpuUsageNanos: number;
  /** Working set, as the kubelet reports it: usage minus inactive file cache (reclaimable). */
  memoryBytes: number;
  pids: number;
  cpuThrottledPeriods?: number;
  oomKills?: number;
}

export async function readCgroupStats(cgroupsPath: string, hs?: Hierarchy[]): Promise<CgroupStats> {
  const all = hs ?? (await hierarchies());
  const stats: CgroupStats = { cpuUsageNanos: 0, memoryBytes: 0, pids: 0 };

  const cpuacct = controllerDir(all, 'cpuacct', cgroupsPath);
  const cpu = controllerDir(all, 'cpu', cgroupsPath);
  if (cpuacct?.version === 1) stats.cpuUsageNanos = (await readNumber(join(cpuacct.dir, 'cpuacct.usage'))) ?? 0;
  const cpuStat = cpu && (await readKeyed(join(cpu.dir, 'cpu.stat')));
  if (cpuStat) {
    if (cpu?.version === 2) stats.cpuUsageNanos = (cpuStat.get('usage_usec') ?? 0) * 1000;
    stats.cpuThrottledPeriods = cpuStat.get('nr_throttled');
  }

  const mem = controllerDir(all, 'memory', cgroupsPath);
  if (mem) {
    const v1 = mem.version === 1;
    const usage = (await readNumber(join(mem.dir, v1 ? 'memory.usage_in_bytes' : 'memory.current'))) ?? 0;
    const memStat = await readKeyed(join(mem.dir, 'memory.stat'));
    const inactive = memStat?.get(v1 ? 'total_inactive_file' : 'inactive_file') ?? 0;
    stats.memoryBytes = Math.max(0, usage - inactive);
    stats.oomKills = await readOomKills(mem.dir, mem.version);
  }

  const pids = controllerDir(all, 'pids', cgroupsPath);
  if (pids) stats.pids = (await readNumber(join(pids.dir, 'pids.current'))) ?? 0;
  return stats;
}

/** Kernel OOM kills in the memory cgroup: v1 memory.oom_control "oom_kill", v2 memory.events "oom_kill". */
async function readOomKills(dir: string, version: 1 | 2): Promise<number | undefined> {
  const m = await readKeyed(join(dir, version === 1 ? 'memory.oom_control' : 'memory.events'));
  return m?.get('oom_kill');
}

export async function oomKills(cgroupsPath: string): Promise<number | undefined> {
  const mem = controllerDir(await hierarchies(), 'memory', cgroupsPath);
  return mem ? readOomKills(mem.dir, mem.version) : undefined;
}

/** Whether the freezer holds cgroupsPath (runc pause): v1 freezer.state FROZEN/FREEZING, v2 cgroup.freeze 1. */
export async function isFrozen(cgroupsPath: string): Promise<boolean> {
  const all = await hierarchies();
  const v1 = all.find((h) => h.version === 1 && h.controllers.includes('freezer'));
  const dir = v1 ? cgroupDir(v1, cgroupsPath) : undefined;
  if (v1) return dir ? /^FR(OZEN|EEZING)/.test((await readFile(join(dir, 'freezer.state'), 'utf8').catch(() => '')).trim()) : false;
  const v2 = all.find((h) => h.version === 2);
  const dir2 = v2 ? cgroupDir(v2, cgroupsPath) : undefined;
  return dir2 ? (await readFile(join(dir2, 'cgroup.freeze'), 'utf8').catch(() => '0')).trim() === '1' : false;
}

/** Whether a process is a member of cgroupsPath (in any hierarchy): a pid file's pid may have been reused by another process. */
export async function processInCgroup(pid: number, cgroupsPath: string): Promise<boolean> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  return text.split('\n').some((line) => line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1) === cgroupsPath);
}

/** Every directory cgroupsPath has, one per hierarchy, existing or not. */
export async function cgroupDirs(cgroupsPath: string): Promise<string[]> {
  return (await hierarchies()).map((h) => cgroupDir(h, cgroupsPath)).filter((d): d is string => d !== undefined);
}

/**
 * Remove cgroupsPath (and any cgroups the container made below it) in every
 * hierarchy. rmdir on a cgroup fails with EBUSY while a task is still in it:
 * a killed process can take a moment to leave, so retry for a while.
 */
export async function removeCgroup(cgroupsPath: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const dir of await cgroupDirs(cgroupsPath)) {
    await removeTree(dir, deadline);
  }
}

async function removeTree(dir: string, deadline: number): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`cannot read cgroup ${dir}: ${(e as Error).message}`);
  }
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name), deadline);
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw new Error(`cannot remove cgroup ${dir}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
