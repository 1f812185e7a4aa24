// How a VM ended, written down once. A daemonized QEMU has no parent to
// collect its exit status, so the record is made by whoever first sees the
// process gone — the driver's own stop/kill, or a later state() — from what
// QEMU left behind: QEMU removes its pid file only on an orderly exit (guest
// power-off, quit, SIGTERM), so a pid file outliving the process means it
// was killed or crashed.
import { constants } from 'node:os';
import { stat, writeFile } from 'node:fs/promises';
import { exists, readText } from '../container/proc.js';
import type { VmPaths } from './layout.js';

export interface VmExit {
  /** 0 for an orderly exit, 128+signal when killed, 1 for a crash or a guest failure. */
  exitCode: number;
  /** RFC 3339. */
  finishedAt: string;
  /** guest-poweroff, killed by SIGKILL, guest-panicked, ... */
  reason: string;
}

export async function readExit(p: VmPaths): Promise<VmExit | undefined> {
  const text = await readText(p.exit);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as VmExit;
  } catch {
    return undefined; // torn by a crash between open and write: infer again
  }
}

/** Write the exit record unless one exists (the first observer knows best). Returns the record in force. */
export async function recordExit(p: VmPaths, exit: VmExit): Promise<VmExit> {
  try {
    await writeFile(p.exit, JSON.stringify(exit), { flag: 'wx' });
    return exit;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return (await readExit(p)) ?? exit;
  }
}

/** What a QEMU that is no longer running left behind, as an exit record. */
export async function inferExit(p: VmPaths, oomKilled: boolean): Promise<VmExit> {
  const sig = (await readText(p.killSignal))?.trim() as NodeJS.Signals | undefined;
  const signo = sig ? constants.signals[sig] : undefined;
  if (signo !== undefined && sig !== 'SIGTERM' && sig !== 'SIGINT' && sig !== 'SIGHUP') return { exitCode: 128 + signo, finishedAt: new Date().toISOString(), reason: `killed by ${sig}` };
  if (!(await exists(p.qemuPidFile))) {
    // QEMU unlinks its pid file and sockets as it exits, and nothing else touches the directory then: its mtime is the exit time.
    const mtime = (await stat(p.dir).catch(() => undefined))?.mtime;
    return { exitCode: 0, finishedAt: (mtime ?? new Date()).toISOString(), reason: sig ? `exited on ${sig}` : 'guest powered off or QEMU quit' };
  }
  if (oomKilled) return { exitCode: 128 + constants.signals.SIGKILL, finishedAt: new Date().toISOString(), reason: 'QEMU killed by the OOM killer' };
  return { exitCode: 1, finishedAt: new Date().toISOString(), reason: 'QEMU died without cleaning up (killed by someone else, crashed, or the host rebooted)' };
}
