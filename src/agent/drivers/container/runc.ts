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

/** What `runc checkpoint` is asked to do besides writing the images. */
export interface CheckpointOptions {
  /** Keep the container running after the dump (a snapshot); otherwise runc kills and removes it. */
  leaveRunning: boolean;
  /** CRIU's dump.log and its scratch files; CRIU's own default is the image dir. */
  workDir: string;
}

export class Runc {
  constructor(
    readonly path: string,
    readonly root: string,
    /** The criu runc runs for checkpoint/restore (`runc --criu`); runc's default is `criu` on PATH. */
    readonly criuPath?: string,
  ) {}

  /** Global options every runc command of this driver gets (conmon's runc too, as --runtime-arg). */
  get globalArgs(): string[] {
    return ['--root', this.root, ...(this.criuPath ? ['--criu', this.criuPath] : [])];
  }

  private argv(...args: string[]): string[] {
    return [this.path, ...this.globalArgs, ...args];
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

  /**
   * Dump the container's processes into imageDir with CRIU.
   * --tcp-established and --file-locks: a server's open connections and
   * flock()s are state it expects back, and CRIU refuses to dump either
   * without being told. --shell-job is not used: it is for a process tree
   * whose session and controlling terminal lie outside it, while a Lodge
   * container's init is a session leader on its own terminal: the slave is
   * on the container's devpts (dumped with it), and on restore CRIU opens a
   * new ptmx there and runc sends the orphaned master to conmon's console
   * socket, so conmon holds the terminal again. Without a terminal the
   * init's stdio are pipes to conmon: runc notes them (descriptors.json)
   * and plugs the new conmon's pipes in their place on restore.
   */
  async checkpoint(id: string, imageDir: string, opts: CheckpointOptions): Promise<void> {
    await mustRun(this.argv('checkpoint', '--image-path', imageDir, '--work-path', opts.workDir, '--tcp-established', '--file-locks', ...(opts.leaveRunning ? ['--leave-running'] : []), id));
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
