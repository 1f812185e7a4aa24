// A process in a VM through the guest agent: guest-exec starts it with its
// output captured (and its stdin given whole, as input-data), then
// guest-exec-status is polled until it has exited. qemu-ga hands the output
// over only at the end, base64, so stdout and stderr are written to the
// ExecProcess's streams then; they stay separate, and the exit code is the
// process's own (128+N for a signal, as a shell reports it).
import { PassThrough, Writable } from 'node:stream';
import type { Logger } from '../../../../util/log.js';
import { ExecFailedError, type ExecProcess } from '../../../runtime/driver.js';
import { GuestAgentError } from './client.js';
import type { GuestAgentLease } from './sessions.js';

export interface GuestExecRequest {
  /** The workload id, for errors. */
  id: string;
  args: string[];
  /** Added to the default environment (later entries win). */
  env?: string[];
  cwd?: string;
  /** Collect stdin until it ends and give it to the process; otherwise it reads /dev/null. */
  stdin: boolean;
}

/** qemu-ga's own limit is the size of one JSON token (64 MiB) for the base64; this leaves room and says so clearly. */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;
/** What a process in the guest gets unless the caller says otherwise: qemu-ga would pass its own environment, which is rcS's. */
const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'USER=root', 'LOGNAME=root'];
/** One command's reply; the guest is slow under TCG on a busy host, but a reply this late means the stream is lost. */
const COMMAND_TIMEOUT_MS = 30_000;
const POLL_FIRST_MS = 5;
const POLL_MAX_MS = 200;

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
  'out-truncated'?: boolean;
  'err-truncated'?: boolean;
}

/** The environment as a list, later names replacing earlier ones in place. */
export function mergeEnv(base: string[], extra: string[] = []): string[] {
  const byName = new Map<string, string>();
  for (const kv of [...base, ...extra]) {
    const eq = kv.indexOf('=');
    byName.set(eq < 0 ? kv : kv.slice(0, eq), kv);
  }
  return [...byName.values()];
}

/**
 * guest-exec has no working directory: a shell changes to it and execs the
 * command (every Lodge VM image has /bin/sh). A directory that does not
 * exist makes sh print why and exit 126, as a command that cannot run.
 */
export function guestArgv(args: string[], cwd?: string): string[] {
  if (!cwd || cwd === '/') return args;
  return ['/bin/sh', '-c', 'cd "$1" || exit 126; shift; exec "$@"', 'lodge-exec', cwd, ...args];
}

/**
 * Start `req` through the lease's connection: at once, or with stdin when
 * stdin ends. A command the agent cannot run (no such executable) makes
 * wait() reject with ExecFailedError, as the container driver's does. The
 * lease is released when the process is done.
 */
export function guestExec(lease: GuestAgentLease, req: GuestExecRequest, log: Logger): Promise<ExecProcess> {
  if (!req.args.length) {
    lease.release();
    return Promise.reject(new ExecFailedError(req.id, 'no command given'));
  }
  const { client } = lease;
  const argv = guestArgv(req.args, req.cwd);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let pid: number | undefined;
  let exited = false;
  let killed = false;
  /** guest-exec was sent (its pid may not be known yet). */
  let started = false;
  let settle!: { resolve: (r: { exitCode: number }) => void; reject: (e: Error) => void };
  const done = new Promise<{ exitCode: number }>((resolve, reject) => (settle = { resolve, reject }));
  // wait() may be called late or never; a rejection is still observed by whoever calls it.
  done.catch(() => undefined);

  const finish = (r: { exitCode: number } | Error): void => {
    if (exited) return;
    exited = true;
    stdout.end();
    stderr.end();
    lease.release();
    if (r instanceof Error) settle.reject(r);
    else settle.resolve(r);
  };

  const start = async (input?: Buffer): Promise<number> => {
    try {
      const r = await client.execute<{ pid: number }>(
        'guest-exec',
        { path: argv[0], arg: argv.slice(1), env: mergeEnv(DEFAULT_ENV, req.env), 'capture-output': true, ...(input ? { 'input-data': input.toString('base64') } : {}) },
        { timeoutMs: COMMAND_TIMEOUT_MS },
      );
      return r.pid;
    } catch (e) {
      // The agent's refusal (no such executable) has no exit code, as runc's has none.
      throw new ExecFailedError(req.id, e instanceof GuestAgentError ? e.desc : `the guest agent: ${(e as Error).message}`);
    }
  };

  const poll = async (p: number): Promise<void> => {
    let delay = POLL_FIRST_MS;
    for (;;) {
      let st: ExecStatus;
      try {
        st = await client.execute<ExecStatus>('guest-exec-status', { pid: p }, { timeoutMs: COMMAND_TIMEOUT_MS });
      } catch (e) {
        throw new Error(`exec in ${req.id}: lost track of pid ${p} in the guest: ${(e as Error).message}`);
      }
      if (st.exited) {
        if (st['out-data']) stdout.write(Buffer.from(st['out-data'], 'base64'));
        if (st['err-data']) stderr.write(Buffer.from(st['err-data'], 'base64'));
        if (st['out-truncated'] || st['err-truncated']) {
          log.warn('guest agent truncated the output', { id: req.id, pid: p });
          stderr.write('lodge: the guest agent kept only the first 16 MiB of the output\n');
        }
        return finish({ exitCode: st.exitcode ?? (st.signal !== undefined ? 128 + st.signal : 1) });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
  };

  const run = (input?: Buffer): void => {
    started = true;
    void start(input)
      .then((p) => {
        pid = p;
        // Killed while starting: now there is a pid to kill.
        if (killed) killInGuest(p);
        return poll(p);
      })
      .catch((e: Error) => finish(e));
  };

  let stdin: Writable | undefined;
  if (req.stdin) {
    const chunks: Buffer[] = [];
    let size = 0;
    stdin = new Writable({
      write(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > MAX_STDIN_BYTES) return cb(new Error(`exec in ${req.id}: stdin is over ${MAX_STDIN_BYTES} bytes, more than the guest agent takes in one piece`));
        chunks.push(chunk);
        cb();
      },
      final(cb) {
        cb();
        if (!killed) run(Buffer.concat(chunks));
      },
    });
    stdin.on('error', (e) => {
      if (!exited && pid === undefined) finish(new ExecFailedError(req.id, e.message));
    });
  } else run();

  function killInGuest(p: number): void {
    // QGA has no kill for guest-exec'd processes; the guest's own kill does it, and the poll then sees the exit.
    client.execute('guest-exec', { path: 'kill', arg: ['-KILL', String(p)] }, { timeoutMs: COMMAND_TIMEOUT_MS }).catch((e: Error) => log.warn('cannot kill a process in the guest', { id: req.id, pid: p, error: e.message }));
  }

  return Promise.resolve({
    ...(stdin ? { stdin } : {}),
    stdout,
    stderr,
    // A terminal in a VM is the serial console; guest-exec has none to size.
    resize: () => undefined,
    wait: () => done,
    kill: () => {
      if (exited || killed) return;
      killed = true;
      if (pid !== undefined) killInGuest(pid);
      // Still collecting stdin: nothing runs in the guest yet, and nothing will.
      else if (!started) finish(new ExecFailedError(req.id, 'killed before its stdin ended, so before it started'));
    },
  });
}
