// Exec in a Pod on a node whose agent runs elsewhere: one WebSocket to its
// node server per process (src/agent/node-server/exec-stream.ts), adapted
// to the ExecProcess the pods/exec handler relays to the client.
import { PassThrough, Writable } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import { ExecUnavailableError, describeTarget, type ExecProcess, type ExecTarget, type NodeAttachOptions, type NodeExec, type NodeExecOptions } from '../../agent/exec/node-exec.js';
import { attachPath, EXEC_CHANNEL, execPath, frame } from '../../agent/node-server/exec-stream.js';
import { ExecFailedError } from '../../agent/runtime/driver.js';
import type { KubeObject } from '../../apis/types.js';
import { nodeEndpoint, nodeRefusal } from './node-connection.js';

export class RemoteNodeExec implements NodeExec {
  constructor(
    private readonly getNode: (name: string) => Promise<KubeObject | undefined>,
    private readonly token: string,
  ) {}

  exec(nodeName: string, target: ExecTarget, opts: NodeExecOptions): Promise<ExecProcess> {
    return this.open(nodeName, target, execPath(target, opts), opts);
  }

  /** pods/attach: the same WebSocket framing at /attach/... (exec-stream.ts); the output has two streams unless the container has a terminal, which the node's stderr frames then simply never carry. */
  attach(nodeName: string, target: Extract<ExecTarget, { kind: 'pod' }>, opts: NodeAttachOptions): Promise<ExecProcess> {
    return this.open(nodeName, target, attachPath(target, opts), { command: [], tty: false, stdin: opts.stdin });
  }

  private async open(nodeName: string, target: ExecTarget, path: string, opts: NodeExecOptions): Promise<ExecProcess> {
    const node = await this.getNode(nodeName);
    if (!node) throw new ExecUnavailableError('node', `node "${nodeName}" not found`);
    const ep = nodeEndpoint(node);
    if (typeof ep === 'string') throw new ExecUnavailableError('node', ep);
    const url = `wss://${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}${path}`;
    const ws = new WebSocket(url, { ca: ep.caPem, headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        nodeRefusal(res, ['container', 'notRunning'] as const).then(
          ({ reason, message }) => reject(new ExecUnavailableError(reason, message ?? `node "${nodeName}" answered exec with status ${res.statusCode}`)),
          (e: Error) => reject(new ExecUnavailableError('node', `node "${nodeName}" exec: ${e.message}`)),
        );
      });
      ws.once('error', (e) => reject(new ExecUnavailableError('node', `node "${nodeName}" exec: ${e.message}`)));
    });
    return adapt(ws, opts, `${nodeName}: ${describeTarget(target)}`);
  }
}

function adapt(ws: WebSocket, opts: NodeExecOptions, what: string): ExecProcess {
  const stdout = new PassThrough();
  const stderr = opts.tty ? undefined : new PassThrough();
  let settle!: { resolve: (r: { exitCode: number }) => void; reject: (e: Error) => void };
  const done = new Promise<{ exitCode: number }>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // observed through wait()
  let ended = false;
  const end = (): void => {
    stdout.end();
    stderr?.end();
  };
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    if (buf[0] === EXEC_CHANNEL.stdout) stdout.write(payload);
    else if (buf[0] === EXEC_CHANNEL.stderr) (stderr ?? stdout).write(payload);
    else if (buf[0] === EXEC_CHANNEL.end) {
      ended = true;
      end();
      try {
        const r = JSON.parse(payload.toString('utf8')) as { exitCode?: number; error?: string };
        if (typeof r.exitCode === 'number') settle.resolve({ exitCode: r.exitCode });
        else settle.reject(new ExecFailedError(what, r.error ?? 'the node gave no exit code'));
      } catch {
        settle.reject(new ExecFailedError(what, 'the node sent an unreadable result'));
      }
    }
  });
  ws.on('close', () => {
    end();
    if (!ended) settle.reject(new ExecFailedError(what, 'the connection to the node closed before the process ended'));
  });
  ws.on('error', () => undefined); // a close follows
  const send = (b: Buffer): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(b);
  };
  const stdin = opts.stdin
    ? new Writable({
        write(chunk: Buffer, _enc, cb) {
          send(frame(EXEC_CHANNEL.stdin, chunk));
          cb();
        },
        final(cb) {
          send(frame(EXEC_CHANNEL.closeStdin, ''));
          cb();
        },
      })
    : undefined;
  return {
    stdin,
    stdout,
    stderr,
    resize: (cols, rows) => send(frame(EXEC_CHANNEL.resize, JSON.stringify({ cols, rows }))),
    wait: () => done,
    kill: () => ws.close(1000),
  };
}
