// `kubectl exec` for the container driver: `runc exec` in the foreground,
// streamed through pipes. runc takes the process's environment, working dir,
// user and capabilities from the container's config.json, so the exec'd
// process sees what the container's own process sees.
//
// With a tty, runc allocates the container-side pty itself and proxies it to
// its own stdin/stdout — but only when it has a host terminal to put in raw
// mode and to read the window size from (runc 1.1 looks at stderr, stdout,
// stdin, then /dev/tty, and fails with "open /dev/tty: no such device or
// address" when there is none, which is always the case for a daemon). Node
// cannot allocate a pty (no openpty/ioctl), nor receive runc's pty master over
// --console-socket (no SCM_RIGHTS on unix sockets), and conmon's exec attach
// socket is SOCK_SEQPACKET, which Node cannot connect to either. So runc runs
// under util-linux `script` (Debian's bsdutils, an Essential package), whose
// only job is to be runc's controlling terminal: runc's stdin and stdout are
// redirected back to our pipes, so the data path is runc's pty alone, and a
// resize is a TIOCSWINSZ (`stty`) on script's terminal, which the kernel turns
// into the SIGWINCH runc forwards to the container's pty.
//
// runc clears ONLCR on the container's pty (it expects the host terminal to
// translate), while Kubernetes runtimes leave it on, and clients in raw mode
// (kubectl -t) print "\n" as a bare line feed. Setting it back from outside
// does not hold: runc clears it in parallel with starting the process, and
// shells snapshot the terminal modes at start and restore them after every
// line. So the output path does what ONLCR would: a "\n" not already after
// a "\r" becomes "\r\n" (a no-op for programs that write "\r\n" themselves).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import type { Logger } from '../../../util/log.js';
import { ExecFailedError, type ExecOptions, type ExecProcess } from '../../runtime/driver.js';
import { runCommand } from './command.js';
import { readPid, readText, waitFor } from './proc.js';
import type { Runc } from './runc.js';

export interface ExecLaunch {
  runc: Runc;
  id: string;
  /** The container's state dir: exec keeps its pid and log files under exec/ there. */
  stateDir: string;
  /** util-linux script, for tty sessions. */
  scriptPath?: string;
  log: Logger;
}

/** A terminal's size before the client says otherwise (0x0 confuses full-screen programs). */
const DEFAULT_COLS = 80;
const DEFAULT_ROWS = 24;

/** POSIX shell single-quoting: the tty path goes through script's `sh -c`. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** runc's own error lines (--log-format json), e.g. "exec failed: ... executable file not found in $PATH". */
function runcErrors(text: string | undefined): string[] {
  const out: string[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) out.push(entry.msg);
    } catch {
      // not one of runc's lines
    }
  }
  return out;
}

function signalPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** ONLCR: "\n" → "\r\n", leaving "\r\n" alone (also across chunks). */
function onlcr(): Transform {
  let lastCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const parts: Buffer[] = [];
      let from = 0;
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
        const prevCr = i > 0 ? chunk[i - 1] === 0x0d : lastCr;
        if (prevCr) continue;
        parts.push(chunk.subarray(from, i), CRLF);
        from = i + 1;
      }
      parts.push(chunk.subarray(from));
      if (chunk.length) lastCr = chunk[chunk.length - 1] === 0x0d;
      done(null, parts.length === 1 ? chunk : Buffer.concat(parts));
    },
  });
}

const CRLF = Buffer.from('\r\n');

/** How long runc may take to start the process before kill() gives up on its pid and kills runc. */
const START_GRACE_MS = 10_000;

export async function startExec(l: ExecLaunch, opts: ExecOptions): Promise<ExecProcess> {
  if (!opts.args.length) throw new ExecFailedError(l.id, 'no command given');
  if (opts.tty && !l.scriptPath) throw new ExecFailedError(l.id, 'a tty needs util-linux `script` (Debian package bsdutils), which was not found');
  const dir = join(l.stateDir, 'exec');
  await mkdir(dir, { recursive: true });
  const name = randomBytes(6).toString('hex');
  const files = { pid: join(dir, `${name}.pid`), log: join(dir, `${name}.log`), runcPid: join(dir, `${name}.runc-pid`) };
  const flags = ['--pid-file', files.pid, ...(opts.cwd ? ['--cwd', opts.cwd] : []), ...(opts.env ?? []).flatMap((e) => ['--env', e]), ...(opts.tty ? ['--tty'] : [])];
  const runcArgv = l.runc.execArgv(files.log, [...flags, l.id, ...opts.args]);
  const log = l.log.child({ id: l.id, op: 'exec' });

  let child: ChildProcess;
  let stdin: Writable | undefined;
  let stdout: Readable;
  let stderr: Readable | undefined;
  if (!opts.tty) {
    // Its own session: a signal to the agent's process group must not reach it.
    child = spawn(runcArgv[0], runcArgv.slice(1), { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
    stdin = child.stdin ?? undefined;
    stdout = child.stdout as Readable;
    stderr = child.stderr as Readable;
  } else {
    // script runs `sh -c CMD` on its pty: fds 3 and 4 are our pipes, handed to runc as its stdin and stdout;
    // runc's stderr stays on script's terminal, which runc then uses as its host console.
    const cmd = [
      `stty cols ${DEFAULT_COLS} rows ${DEFAULT_ROWS} 2>/dev/null`,
      `echo $$ > ${shq(files.runcPid)}`,
      // An 'ignore'd extra fd is closed in the child, not /dev/null.
      `exec ${runcArgv.map(shq).join(' ')} ${opts.stdin ? '0<&3 3<&-' : '0</dev/null'} 1>&4 4<&-`,
    ].join('; ');
    child = spawn(l.scriptPath as string, ['-q', '-e', '-c', cmd, '/dev/null'], {
      // script's own stdin stays an open pipe that is never written: at EOF it would end the session.
      stdio: ['pipe', 'ignore', 'pipe', opts.stdin ? 'pipe' : 'ignore', 'pipe'],
      detached: true,
      env: { ...process.env, SHELL: '/bin/sh' },
    });
    stdin = opts.stdin ? (child.stdio[3] as Writable) : undefined;
    stdout = (child.stdio[4] as Readable).pipe(onlcr());
    // script's diagnostics (it could not make a pty, say): kept for the error.
  }
  // A client that hung up must not crash the agent with EPIPE.
  stdin?.on('error', () => undefined);
  const scriptErr: Buffer[] = [];
  if (opts.tty) child.stderr?.on('data', (b: Buffer) => scriptErr.length < 64 && scriptErr.push(b));

  let exited = false;
  let killed = false;
  let execPid: number | undefined;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', (e) => reject(new ExecFailedError(l.id, `cannot run ${opts.tty ? l.scriptPath : runcArgv[0]}: ${e.message}`)));
    child.on('exit', () => {
      exited = true;
    });
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  // The process's host pid, for kill(): runc writes it once the process runs.
  const started = waitFor(async () => exited || (execPid = await readPid(files.pid)) !== undefined, 2 ** 31 - 1).then(() => {
    if (killed && !exited) signalPid(execPid, 'SIGKILL');
  });

  let size: { cols: number; rows: number } | undefined;
  let resizing = false;
  const applySize = async (): Promise<void> => {
    if (resizing) return; // the running loop picks up the latest size
    resizing = true;
    try {
      let runcPid: number | undefined;
      await waitFor(async () => exited || (runcPid = await readPid(files.runcPid)) !== undefined, 10_000);
      for (let want = size; want && runcPid && !exited; want = size === want ? undefined : size) {
        // runc's fd 2 is script's terminal: the kernel signals SIGWINCH to runc, which resizes the container's pty to match.
        const r = await runCommand(['stty', '-F', `/proc/${runcPid}/fd/2`, 'cols', String(want.cols), 'rows', String(want.rows)]);
        if (r.code !== 0 && !exited) log.warn('exec resize failed', { error: r.stderr.trim() });
      }
    } finally {
      resizing = false;
    }
  };

  let result: Promise<{ exitCode: number }> | undefined;
  const wait = (): Promise<{ exitCode: number }> =>
    (result ??= (async () => {
      try {
        const { code, signal } = await closed;
        await started;
        const errors = runcErrors(await readText(files.log));
        if (errors.length && code !== 0 && !killed) throw new ExecFailedError(l.id, errors.join('; '));
        if (opts.tty && code !== 0 && execPid === undefined && scriptErr.length && !killed) {
          throw new ExecFailedError(l.id, `script: ${Buffer.concat(scriptErr).toString('utf8').trim()}`);
        }
        return { exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0) };
      } finally {
        await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
      }
    })());
  // Clean up even when nobody waits.
  wait().catch(() => undefined);

  return {
    stdin,
    stdout,
    stderr,
    resize(cols: number, rows: number): void {
      if (!opts.tty || !(cols > 0) || !(rows > 0)) return;
      size = { cols: Math.min(Math.floor(cols), 65535), rows: Math.min(Math.floor(rows), 65535) };
      void applySize().catch((e: Error) => log.warn('exec resize failed', { error: e.message }));
    },
    wait,
    kill(): void {
      if (exited) return;
      killed = true;
      // runc is the process's parent and reaps it: while runc runs, the pid is still the exec'd process.
      if (execPid) return signalPid(execPid, 'SIGKILL');
      // Not started yet: `started` kills it once runc has its pid. Killing runc now would orphan a process
      // about to start, so runc itself is killed only if it never gets that far.
      setTimeout(() => {
        if (!exited && execPid === undefined) signalPid(child.pid, 'SIGKILL');
      }, START_GRACE_MS).unref();
    },
  };
}
