// The QEMU process of a VM, found by the pid we recorded and checked before
// every use: a pid file can outlive its process and the pid be reused, so a
// pid is ours only while its argv still carries this VM's -name.
import { processMatches, readPid, waitFor } from '../container/proc.js';
import type { VmPaths } from './layout.js';
import { qemuName } from './qemu-args.js';

/** Our QEMU's pid if it is alive (not a zombie), else undefined. */
export async function qemuPid(id: string, p: VmPaths): Promise<number | undefined> {
  const pid = await readPid(p.pid);
  return pid && (await processMatches(pid, ['-name', qemuName(id)])) ? pid : undefined;
}

export async function qemuAlive(id: string, p: VmPaths): Promise<boolean> {
  return (await qemuPid(id, p)) !== undefined;
}

/** Signal our QEMU; a no-op when it no longer runs. */
export async function signalQemu(id: string, p: VmPaths, signal: NodeJS.Signals): Promise<void> {
  const pid = await qemuPid(id, p);
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw new Error(`vm ${id}: cannot send ${signal} to QEMU (pid ${pid}): ${(e as Error).message}`);
  }
}

export function waitQemuGone(id: string, p: VmPaths, timeoutMs: number): Promise<boolean> {
  return waitFor(async () => !(await qemuAlive(id, p)), timeoutMs);
}
