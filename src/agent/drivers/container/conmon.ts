// Starting a container's monitor. conmon double-forks and calls setsid, so
// it survives the Node process that started it; it runs `runc create` as its
// child, holds the container's stdio (written to a CRI-format log file),
// reaps the container as subreaper, and writes the exit code (and an "oom"
// marker) when it ends.
//
// The handshake (conmon's API v1, as podman and CRI-O speak it):
// - _OCI_STARTPIPE: conmon blocks reading it before forking (meant for the
//   caller to move it into a cgroup first). We use the pause to mount the
//   container's root while conmon starts up, then write one byte.
// - _OCI_SYNCPIPE: conmon writes one JSON line when `runc create` has
//   finished: {"data": <container pid>} on success, {"data": -1,
//   "message": "<runc's stderr>"} on failure. EOF without a line means
//   conmon itself died (bad arguments, unusable paths).
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface ConmonLaunch {
  conmonPath: string;
  runcPath: string;
  runcRoot: string;
  /** Passed to runc as `--criu` (restores need it; see criu.ts). */
  criuPath?: string;
  id: string;
  /** Names conmon's attach-socket symlink; short, because unix socket paths are. */
  cuuid: string;
  bundle: string;
  /** conmon's persist dir (it writes "exit" and "oom" there) and working dir. */
  stateDir: string;
  exitDir: string;
  socketDir: string;
  logPath: string;
  containerPidFile: string;
  conmonPidFile: string;
  timeoutMs: number;
  /**
   * Run the container on a terminal (-t): conmon passes runc a console
   * socket, keeps the pty master, logs what the container writes to it and
   * relays it to clients of <socketDir>/<cuuid>/attach; writes from them go
   * to the terminal. Its size is set through the `ctl` FIFO in the bundle.
   */
  terminal?: boolean;
  /**
   * Give the container a stdin conmon holds open and feeds from its attach
   * clients (--stdin; without a terminal it is a pipe). conmon closes it as
   * soon as one client that attached is done (shut its writing down or
   * left) unless stdinOnce is false (--leave-stdin-open): Kubernetes'
   * stdinOnce, exactly. With a terminal that closes conmon's input end of
   * the terminal.
   */
  stdin?: { once: boolean };
  /**
   * Bring the container back from a checkpoint instead of creating it:
   * conmon runs `runc restore --detach --image-path <imageDir> --work-path
   * <bundle>` (so CRIU's restore.log lands in the bundle) where it would run
   * `runc create`, and supervises the result exactly like a created
   * container. The container is running, not created, when it answers.
   */
  restore?: { imageDir: string };
}

/**
 * `runc restore` options, given to conmon as --runtime-opt. The counterparts
 * of the checkpoint's (runc.ts): what was dumped with --tcp-established or
 * --file-locks is restored only when asked again.
 */
const RESTORE_OPTS = ['--tcp-established', '--file-locks'];

export function conmonArgs(l: ConmonLaunch): string[] {
  return [
    '--api-version', '1',
    '--cid', l.id,
    '--cuuid', l.cuuid,
    '--name', l.id,
    '--runtime', l.runcPath,
    '--runtime-arg', '--root',
    '--runtime-arg', l.runcRoot,
    ...(l.criuPath ? ['--runtime-arg', '--criu', '--runtime-arg', l.criuPath] : []),
    '--bundle', l.bundle,
    '--persist-dir', l.stateDir,
    '--exit-dir', l.exitDir,
    '--socket-dir-path', l.socketDir,
    '--container-pidfile', l.containerPidFile,
    '--conmon-pidfile', l.conmonPidFile,
    '--log-path', `k8s-file:${l.logPath}`,
    // --stdin only when asked (a Pod container's stdin: true): with it, and without
    // --leave-stdin-open, conmon closes the input (the terminal's, too) when an attach client leaves.
    ...(l.terminal ? ['--terminal'] : []),
    ...(l.stdin ? ['--stdin', ...(l.stdin.once ? [] : ['--leave-stdin-open'])] : []),
    ...(l.restore ? ['--restore', l.restore.imageDir, ...RESTORE_OPTS.flatMap((o) => ['--runtime-opt', o])] : []),
  ];
}

/**
 * A conmon that has started and waits on its start pipe: it has parsed its
 * arguments and opened the log, but forks and runs `runc create` only on
 * proceed(). The caller prepares the root filesystem meanwhile, so conmon's
 * own start-up costs nothing on the critical path.
 */
export interface PendingConmon {
  /** Let conmon fork and create the container; resolves with the container's pid. */
  proceed(): Promise<number>;
  /**
   * Kill a conmon that was never told to proceed; resolves once it has exited,
   * so a reverted create leaves no monitor behind. A no-op afterwards.
   */
  abort(): Promise<void>;
}

export function spawnConmon(l: ConmonLaunch): PendingConmon {
  const child = spawn(l.conmonPath, conmonArgs(l), {
    cwd: l.stateDir,
    // Only what conmon and runc need: the agent's environment is not theirs.
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C meant for the agent must not reach it.
    detached: true,
  });
  const sync = child.stdio[3] as Readable;
  const start = child.stdio[4] as Writable;
  let stderr = '';
  let line = '';
  let exit: string | undefined;
  let exited = false;
  let ended = false;
  let released = false;
  let settled = false;
  let resolveP: (pid: number) => void = () => undefined;
  let rejectP: (e: Error) => void = () => undefined;
  const result = new Promise<number>((res, rej) => {
    resolveP = res;
    rejectP = rej;
  });
  result.catch(() => undefined); // observed through proceed(); an aborted launch has no reader

  let timer: NodeJS.Timeout | undefined;
  const finish = (err: Error | undefined, pid?: number): void => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    // The daemonized conmon keeps its end; ours must not keep the agent's event loop alive.
    sync.destroy();
    start.destroy();
    child.stderr?.destroy();
    child.unref();
    if (err) rejectP(err);
    else resolveP(pid as number);
  };
  const fail = (why: string): void => {
    const detail = [exit, stderr.trim()].filter(Boolean).join('; ');
    finish(new Error(`conmon for ${l.id}: ${why}${detail ? ` (${detail})` : ''}`));
  };

  child.on('error', (e) => fail(`cannot run ${l.conmonPath}: ${e.message}`));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  // The first conmon process exits as soon as it has forked the daemon; a
  // non-zero exit before that means it refused its arguments.
  const exitedP = new Promise<void>((res) => child.once('exit', () => res()));
  child.on('exit', (code, signal) => {
    exited = true;
    if (code !== 0) exit = `conmon exited ${code ?? signal}`;
    if (ended) fail('exited before the container was created');
  });
  sync.on('data', (b: Buffer) => {
    line += b.toString('utf8');
    const nl = line.indexOf('\n');
    if (nl < 0) return;
    let msg: { data?: number; pid?: number; message?: string };
    try {
      msg = JSON.parse(line.slice(0, nl)) as typeof msg;
    } catch {
      return fail(`unreadable sync message ${JSON.stringify(line.slice(0, nl))}`);
    }
    const pid = msg.data ?? msg.pid ?? -1;
    if (pid > 0) return finish(undefined, pid);
    // runc's warnings (a failed restore logs one per cgroup it could not yet remove) bury the error that explains the failure.
    const lines = (msg.message ?? '').trim().split('\n');
    const errors = lines.filter((x) => !/level=warning/.test(x));
    fail(`runc ${l.restore ? 'restore' : 'create'} failed: ${(errors.length ? errors : lines).join('\n').trim() || `code ${pid}`}`);
  });
  sync.on('error', () => undefined);
  // EOF: every conmon process is gone. Report once the first one's exit status is known.
  sync.on('end', () => {
    ended = true;
    if (exited) fail('exited before the container was created');
  });
  start.on('error', () => undefined);

  return {
    proceed(): Promise<number> {
      released = true;
      timer = setTimeout(() => fail(`no answer within ${l.timeoutMs} ms`), l.timeoutMs);
      // Any byte will do; EOF would do too, which is why abort() kills rather than closes.
      start.end('0');
      return result;
    },
    async abort(): Promise<void> {
      if (released || exited || child.pid === undefined) return;
      // Still the first process, blocked on the start pipe: it has forked nothing yet.
      // Wait before fail(): it unrefs the child, and an unref'd child's exit would not keep the loop alive.
      child.kill('SIGKILL');
      await exitedP;
      fail('aborted');
    },
  };
}
