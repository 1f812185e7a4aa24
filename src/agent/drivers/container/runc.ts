// The runc commands the driver uses after conmon has created a container.
// runc keeps its own state under --root (a tmpfs like /run on a real host,
// so a reboot forgets containers that a reboot killed anyway).
import { constants } from 'node:os';
import type { StopSignal } from '../../runtime/driver.js';
import { CommandError, mustRun, runCommand } from './command.js';

export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  created: string;
}

// runc's wording when it has no such container, or it has already exited.
const NOT_EXIST = /does not exist|not found/i;
const NOT_RUNNING = /not running|process already finished|no such process|container not running/i;

export class Runc {
  constructor(
    readonly path: string,
    readonly root: string,
  ) {}

  private argv(...args: string[]): string[] {
    return [this.path, '--root', this.root, ...args];
  }

  /**
   * argv of `runc exec` for a caller that runs and streams it itself. runc's
   * own errors also go to logFile as JSON lines, which tells a failed exec
   * (no such executable) apart from a process that printed to stderr.
   */
  execArgv(logFile: string, args: string[]): string[] {
    return [this.path, '--root', this.root, '--log', logFile, '--log-format', 'json', 'exec', ...args];
  }

  /** runc's view of the container, or null when runc does not know it. */
  async state(id: string): Promise<RuncState | null> {
    const argv = this.argv('state', id);
    const r = await runCommand(argv);
    if (r.code !== 0) {
      if (NOT_EXIST.test(r.stderr)) return null;
      throw new CommandError(argv, r);
    }
    try {
      return JSON.parse(r.stdout) as RuncState;
    } catch {
      throw new Error(`${argv.join(' ')}: unreadable output ${JSON.stringify(r.stdout.slice(0, 200))}`);
    }
  }

  async start(id: string): Promise<void> {
    await mustRun(this.argv('start', id));
  }

  /** Signal the container's init; false when it was no longer running. */
  async kill(id: string, signal: StopSignal): Promise<boolean> {
    const num = signalNumber(signal);
    const argv = this.argv('kill', id, String(num));
    const r = await runCommand(argv);
    if (r.code === 0) return true;
    if (NOT_RUNNING.test(r.stderr) || NOT_EXIST.test(r.stderr)) return false;
    throw new CommandError(argv, r);
  }

  async pause(id: string): Promise<void> {
    await mustRun(this.argv('pause', id));
  }

  async resume(id: string): Promise<void> {
    await mustRun(this.argv('resume', id));
  }

  /** Kill whatever still runs, remove runc's state and the cgroups runc made. Absent is fine. */
  async forceDelete(id: string): Promise<void> {
    const argv = this.argv('delete', '--force', id);
    const r = await runCommand(argv);
    if (r.code !== 0 && !NOT_EXIST.test(r.stderr)) throw new CommandError(argv, r);
  }
}

/**
 * The number of a signal. SIGRTMIN+n is counted from glibc's SIGRTMIN (34:
 * glibc keeps the kernel's first two real-time signals for itself), the
 * value systemd, built against glibc, means by SIGRTMIN+3.
 */
export function signalNumber(signal: StopSignal): number {
  const rt = /^SIGRTMIN\+(\d+)$/.exec(signal);
  if (rt) {
    const n = 34 + Number(rt[1]);
    if (n > 64) throw new Error(`unknown signal ${signal}`);
    return n;
  }
  const num = constants.signals[signal as NodeJS.Signals];
  if (num === undefined) throw new Error(`unknown signal ${signal}`);
  return num;
}
