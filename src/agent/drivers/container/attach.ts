// Attaching to a container's main process (pods/attach): its stdio as conmon
// holds it, through the attach socket <socketDir>/<cuuid>/attach, bridged by
// socat as the console is (see console.ts for why and how the hex dump is
// read). Unlike a console, the two output streams stay apart (conmon tags
// each message 2 stdout or 3 stderr) and the client's end of input is passed
// on: ending stdin makes socat shut the socket down for writing, which conmon
// takes as this client being done with input. When conmon was started with
// --stdin and without --leave-stdin-open (a Pod container with stdinOnce),
// that closes the container's stdin, as Kubernetes' stdinOnce promises.
//
// The session ends when conmon hangs up (the container exited) or the caller
// detaches; the container goes on in the latter case.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Duplex, Readable, Writable } from 'node:stream';
import type { ExecProcess } from '../../runtime/driver.js';
import { ATTACH_STDERR, HexDumpReader, READY, SOCAT_BUFFER, SOCAT_ERROR, resizeTerminal } from './console.js';

/** socat's notice that the socket (its second address) has no more to read: conmon hung up. */
const SOCKET_EOF = /socat\[\d+\] N socket 2 \(fd \d+\) is at EOF/;
/**
 * How long socat waits for the other direction once one has ended. Input
 * ending must not cut the output short (the process answers after its stdin
 * closes), so: as long as the session lasts. The other way round, conmon
 * hanging up, is seen in socat's log and ends the session at once.
 */
const HALF_CLOSE_WAIT_S = 86_400;

export interface AttachOptions {
  socatPath: string;
  attachSocket: string;
  /** conmon's control FIFO: where terminal sizes go when the terminal cannot be reached directly. */
  ctlFifo: string;
  /** conmon's record of the container's pid: its stdin is the terminal, sized directly (see resizer). */
  containerPidFile: string;
  /** The caller may write: without it the process's stdin is left alone (and stdin is undefined). */
  stdin: boolean;
  /** The container runs on a terminal: one output stream, stderr is undefined. */
  tty: boolean;
  /** For messages. */
  what: string;
  /** What the session is called in messages (default "attach"). */
  label?: string;
}

/**
 * Connect to a running container's stdio; resolves once connected. The
 * returned process's wait() resolves (exit code 0: the session ended, not the
 * container's code) when conmon hangs up or kill() detached.
 */
export function attachContainer(o: AttachOptions): Promise<ExecProcess> {
  const child: ChildProcess = spawn(o.socatPath, ['-d', '-d', '-x', '-b', String(SOCAT_BUFFER), '-t', String(HALF_CLOSE_WAIT_S), '-', `UNIX-CONNECT:${o.attachSocket},type=5`], {
    stdio: ['pipe', 'ignore', 'pipe'],
    // Its own process group: a Ctrl-C meant for the agent must not cut every session.
    detached: true,
  });
  const errors: string[] = [];
  let ready = false;
  let exited = false;
  let paused = false;
  const kill = (): void => {
    if (exited) return;
    try {
      child.kill('SIGTERM');
    } catch {
      /* gone already */
    }
  };
  const resume = (): void => {
    if (!paused) return;
    paused = false;
    child.stderr?.resume();
  };
  // One reader per stream; socat is paused while either holds more than it should.
  const stdout = new Readable({ read: resume });
  const stderr = o.tty ? undefined : new Readable({ read: resume });
  let closed!: () => void;
  const done = new Promise<{ exitCode: number }>((resolve) => (closed = () => resolve({ exitCode: 0 })));

  return new Promise<ExecProcess>((resolve, reject) => {
    const reader = new HexDumpReader(
      (data, stream) => {
        const to = stream === ATTACH_STDERR && stderr ? stderr : stdout;
        if (!to.push(data) && !paused) {
          paused = true;
          child.stderr?.pause();
        }
      },
      (line) => {
        if (!ready && READY.test(line)) {
          ready = true;
          resolve(proc);
          return;
        }
        // Everything conmon sent was dumped before this line: the session is over.
        if (SOCKET_EOF.test(line)) return kill();
        const e = SOCAT_ERROR.exec(line);
        if (e && errors.length < 8) errors.push(e[1]!.trim());
      },
    );
    const stdin = o.stdin
      ? new Writable({
          write(chunk: Buffer, _enc, cb) {
            const s = child.stdin;
            if (!s || s.destroyed || exited) return cb();
            s.write(chunk, () => cb());
          },
          final(cb) {
            child.stdin?.end();
            cb();
          },
        })
      : undefined;
    stdin?.on('error', () => undefined);
    const proc: ExecProcess = {
      stdin,
      stdout,
      stderr,
      resize: o.tty ? resizer(o) : () => undefined,
      wait: () => done,
      kill,
    };
    child.stdin?.on('error', () => undefined); // socat gone: the exit says why
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (t: string) => reader.push(t));
    child.once('error', (e) => {
      exited = true;
      if (!ready) reject(new Error(`${o.label ?? 'attach'} ${o.what}: cannot run ${o.socatPath}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      exited = true;
      if (!ready) {
        reject(new Error(`${o.label ?? 'attach'} ${o.what}: cannot connect to conmon's attach socket ${o.attachSocket}: ${errors.join('; ') || `socat exited ${code ?? signal}`}`));
        return;
      }
      stdout.push(null);
      stderr?.push(null);
      closed();
    });
  });
}

/**
 * Terminal sizes, applied in order with the last one winning. conmon's ctl
 * FIFO is no good for a burst: conmon (2.1.x) applies the first line of each
 * read as many times as the read holds lines, and kubectl sends two sizes at
 * once on attach (one larger, to force a redraw, then the real one). So the
 * size is set on the terminal itself, the container's stdin as seen from the
 * host (stty -F /proc/PID/fd/0: TIOCSWINSZ, and the SIGWINCH with it); the
 * FIFO only when that fails (e.g. the process closed its stdin).
 */
function resizer(o: AttachOptions): (cols: number, rows: number) => void {
  let chain: Promise<void> = Promise.resolve();
  let latest: { cols: number; rows: number } | undefined;
  const apply = async (): Promise<void> => {
    const size = latest;
    latest = undefined;
    if (!size || !(size.cols > 0 && size.rows > 0)) return;
    const cols = Math.min(1000, Math.floor(size.cols));
    const rows = Math.min(1000, Math.floor(size.rows));
    const pid = Number((await readFile(o.containerPidFile, 'utf8').catch(() => '')).trim());
    const direct =
      pid > 0 &&
      (await new Promise<boolean>((resolve) => execFile('stty', ['-F', `/proc/${pid}/fd/0`, 'rows', String(rows), 'cols', String(cols)], { timeout: 5_000 }, (e) => resolve(!e))));
    if (!direct) await resizeTerminal(o.ctlFifo, cols, rows).catch(() => undefined);
  };
  return (cols, rows) => {
    latest = { cols, rows };
    chain = chain.then(apply, apply);
  };
}

/**
 * A system container's console (see console.ts): an attach with a terminal
 * and input, as one stream. Destroying it detaches (the container goes on);
 * it ends when conmon hangs up. Ending it does not end the terminal's input:
 * a console client that leaves is no end of file for the guest.
 */
export async function attachConsole(o: Omit<AttachOptions, 'stdin' | 'tty' | 'label'>): Promise<Duplex> {
  const proc = await attachContainer({ ...o, stdin: true, tty: true, label: 'console' });
  const input = proc.stdin as Writable;
  const output = proc.stdout;
  const stream = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      input.write(chunk, () => cb());
    },
    read() {
      output.resume();
    },
    destroy(err, cb) {
      proc.kill();
      cb(err);
    },
  });
  output.on('data', (d: Buffer) => {
    if (!stream.push(d)) output.pause();
  });
  output.once('end', () => stream.push(null));
  return stream;
}
