// One exec, whatever carries it: WebSocket channels (kubectl ≥ 1.30, client
// libraries) or SPDY streams (older kubectl). The transport hands over what
// the client sends (stdin, its end, terminal sizes, that it left) and takes
// the process's output; the session starts the process on the Pod's node,
// holds what arrives before it runs (kubectl sends the terminal size at
// once), paces the process to the client, and says how it ended. Each
// transport then reports that outcome in its own framing.
import type { Readable } from 'node:stream';
import type { KubeObject } from '../../apis/types.js';
import { ExecUnavailableError, type ExecProcess, type ExecTarget, type NodeExec } from '../../agent/exec/node-exec.js';
import type { ExecResult } from './outcome.js';
import type { TerminalSize } from './terminal-size.js';

/** A checked exec request (see resolveExec in the HTTP handler). */
export interface ExecRequest {
  /** The Pod or Instance. */
  pod: KubeObject;
  target: ExecTarget;
  nodeName: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /**
   * pods/attach: no command; the session attaches to the container's main
   * process (NodeExec.attach), and hanging up detaches instead of killing.
   * It ends, successfully, when the container ends.
   */
  attach?: boolean;
}

export type OutputStream = 'stdout' | 'stderr';

/** Where output goes: resolves once the transport took the chunk (or dropped it because the client is gone). */
export type ExecOutput = (stream: OutputStream, chunk: Buffer) => Promise<void>;

export class ExecSession {
  private proc: ExecProcess | undefined;
  private gone = false;
  /** What the client sent before the process ran, replayed in order once it does. */
  private readonly early: Array<(p: ExecProcess) => void> = [];

  constructor(
    private readonly x: ExecRequest,
    private readonly nodeExec: NodeExec,
  ) {}

  stdin(data: Buffer): void {
    if (!data.length) return;
    this.apply((p) => {
      if (p.stdin && !p.stdin.writableEnded) p.stdin.write(data);
    });
  }

  endStdin(): void {
    this.apply((p) => p.stdin?.end());
  }

  resize(size: TerminalSize): void {
    this.apply((p) => p.resize(size.width, size.height));
  }

  /** The client left: nobody reads the output or can end the process (a shell would wait for input forever). */
  hangUp(): void {
    this.gone = true;
    this.proc?.kill();
  }

  get clientGone(): boolean {
    return this.gone;
  }

  /** Start the process and relay its output until it exits and the output is drained. Never rejects: a failure is the result. */
  async run(output: ExecOutput): Promise<ExecResult> {
    let p: ExecProcess;
    try {
      const t = this.x.target;
      if (this.x.attach && t.kind === 'pod') {
        if (!this.nodeExec.attach) throw new ExecUnavailableError('node', 'this server cannot attach to containers');
        p = await this.nodeExec.attach(this.x.nodeName, t, { stdin: this.x.stdin });
      } else p = await this.nodeExec.exec(this.x.nodeName, t, { command: this.x.command, tty: this.x.tty, stdin: this.x.stdin });
    } catch (e) {
      return e as Error;
    }
    this.proc = p;
    if (this.gone) p.kill();
    for (const f of this.early.splice(0)) f(p);

    const drained = Promise.all([this.pump(p.stdout, 'stdout', this.x.stdout, output), this.pump(p.stderr, 'stderr', this.x.stderr, output)]);
    let result: ExecResult;
    try {
      result = await p.wait();
    } catch (e) {
      result = e as Error;
    }
    await drained;
    return result;
  }

  private apply(f: (p: ExecProcess) => void): void {
    if (this.proc) f(this.proc);
    else this.early.push(f);
  }

  /** One chunk in flight per stream: the process is paused while the client is slow, not buffered without bound. */
  private pump(stream: Readable | undefined, which: OutputStream, wanted: boolean, output: ExecOutput): Promise<void> {
    return new Promise((resolve) => {
      if (!stream) return resolve();
      stream.on('data', (chunk: Buffer) => {
        if (!wanted || this.gone) return;
        stream.pause();
        const resume = (): void => void stream.resume();
        output(which, chunk).then(resume, resume);
      });
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  }
}
