// Starting QEMU so that it outlives the agent and starts in its cgroup.
// QEMU daemonizes itself (-daemonize): its first process returns once the
// VM is set up (or has failed, with the reason on stderr), and the daemon
// child is reparented away from the agent. A shell in front joins the
// cgroup first and then execs QEMU, so the daemon inherits the cgroup.
import { spawn } from 'node:child_process';
import { readPid } from '../container/proc.js';

export interface LaunchOptions {
  id: string;
  qemuPath: string;
  args: string[];
  /** cgroup.procs files to join before QEMU runs. */
  cgroupProcs: string[];
  pidFile: string;
  timeoutMs: number;
}

// Paths are passed in the environment, one per line, so nothing is quoted into the script.
const JOIN_AND_EXEC = `
IFS='
'
for f in $LODGE_CGROUP_PROCS; do echo $$ > "$f" || { echo "cannot join cgroup $f" >&2; exit 125; }; done
unset LODGE_CGROUP_PROCS
exec "$@"
`;

/** Launch QEMU; resolves with the daemon's pid, rejects with QEMU's stderr when it did not start. */
export function launchQemu(o: LaunchOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', JOIN_AND_EXEC, 'lodge-qemu', o.qemuPath, ...o.args], {
      env: { ...process.env, LODGE_CGROUP_PROCS: o.cgroupProcs.join('\n') },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a ^C to the agent's terminal must not reach a QEMU that is still starting.
      detached: true,
    });
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`vm ${o.id}: cannot run ${o.qemuPath}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const detail = stderr.trim().split('\n').slice(-5).join('; ');
      if (code !== 0) {
        const why = signal ? `killed after ${o.timeoutMs} ms without finishing its setup` : `exit ${code}`;
        reject(new Error(`vm ${o.id}: QEMU did not start (${why})${detail ? `: ${detail}` : ''}`));
        return;
      }
      readPid(o.pidFile).then(
        (pid) => (pid ? resolve(pid) : reject(new Error(`vm ${o.id}: QEMU daemonized but wrote no pid to ${o.pidFile}${detail ? `: ${detail}` : ''}`))),
        reject,
      );
    });
  });
}
