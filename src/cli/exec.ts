// `lodge exec POD [-c C] [-i] [-t] -- CMD...`: run a command in a Pod's
// container through pods/exec, Kubernetes' remote command protocol over a
// WebSocket (v5.channel.k8s.io, v4 as a fallback), and exit with its exit code.
import type { Command } from 'commander';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { ClientConfig } from '../client/config.js';
import { ApiError, isStatus, type Status } from '../client/errors.js';
import { withContext, type CliContext } from './context.js';
import { podName } from './logs.js';
import { REMOTECOMMAND_CHANNEL } from '../api/remotecommand/channels.js';

interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const { stdin: CH_STDIN, stdout: CH_STDOUT, stderr: CH_STDERR, error: CH_ERROR, resize: CH_RESIZE, close: CH_CLOSE } = REMOTECOMMAND_CHANNEL;

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('Run a command in a container of a Pod, or in an Instance (a system container, or a VM through its guest agent)')
    .argument('<target>', 'POD, pod/POD or instance/NAME (a bare NAME that is no Pod is looked up as an Instance)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('-c, --container <name>', 'the container (needed when the Pod has more than one)')
    .option('-i, --stdin', "pass this program's stdin to the command")
    .option('-t, --tty', 'give the command a terminal (with -i: an interactive session)')
    .action(async (pod: string, command: string[], opts: ExecOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        process.exitCode = await runExec(ctx, pod, command, opts);
      });
    });
}

/** What `lodge exec` names: a Pod or an Instance, and whether a bare name may fall back from Pod to Instance. */
export interface ExecTargetArg {
  kind: 'pod' | 'instance';
  name: string;
  explicit: boolean;
}

export function parseExecTarget(arg: string): ExecTargetArg {
  const m = /^(pods?|po|instances?|inst)\/(.+)$/.exec(arg);
  if (!m) return { kind: 'pod', name: podName(arg), explicit: false };
  return { kind: m[1]!.startsWith('inst') ? 'instance' : 'pod', name: m[2]!, explicit: true };
}

export function execUrl(config: ClientConfig, namespace: string, target: Pick<ExecTargetArg, 'kind' | 'name'>, command: string[], o: { container?: string; stdin: boolean; tty: boolean }): string {
  const base = target.kind === 'pod' ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : `/apis/lodge.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/instances`;
  const url = new URL(`${base}/${encodeURIComponent(target.name)}/exec`, config.server.replace(/^http/, 'ws'));
  for (const c of command) url.searchParams.append('command', c);
  if (o.container) url.searchParams.set('container', o.container);
  url.searchParams.set('stdin', String(o.stdin));
  url.searchParams.set('stdout', 'true');
  // A terminal has one output stream.
  url.searchParams.set('stderr', String(!o.tty));
  url.searchParams.set('tty', String(o.tty));
  return url.toString();
}

/** Open the exec stream (or another channel-protocol stream: what names it) with the client's credentials; rejects with the server's Status when it refuses the upgrade. */
export function openExec(config: ClientConfig, url: string, what = 'exec'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // ws hands TLS options through to tls.connect; servername (SNI and the name verified) is one its types leave out.
    const options: ClientOptions & { servername?: string } = {
      ca: config.caPem,
      cert: config.clientCertPem,
      key: config.clientKeyPem,
      rejectUnauthorized: !config.insecureSkipTlsVerify,
      headers: config.token ? { authorization: `Bearer ${config.token}` } : {},
      perMessageDeflate: false,
    };
    if (config.tlsServerName) options.servername = config.tlsServerName;
    const ws = new WebSocket(url, PROTOCOLS, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', (e) => reject(new Error(`cannot open the ${what} stream to ${config.server}: ${e.message}`)));
    ws.once('unexpected-response', (_req, res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => reject(ApiError.fromResponse(res.statusCode ?? 500, Buffer.concat(parts).toString('utf8'), 'GET', new URL(url).pathname)));
      res.on('error', (e) => reject(new Error(`${what}: the server refused the upgrade (${res.statusCode}): ${e.message}`)));
    });
  });
}

/** The command's exit code from what came on the error channel (a Status with v4/v5). */
export function exitCodeOf(errorChannel: string): number {
  if (!errorChannel) return 0;
  let status: Status | { status?: string; reason?: string; message?: string; details?: Status['details'] };
  try {
    status = JSON.parse(errorChannel) as Status;
  } catch {
    throw new Error(`exec: unreadable status from the server: ${errorChannel.slice(0, 200)}`);
  }
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const code = Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message);
    if (Number.isInteger(code)) return code;
  }
  if (isStatus(status)) throw ApiError.fromStatus(status);
  throw new Error(status.message ?? `exec failed: ${errorChannel.slice(0, 200)}`);
}

export async function runExec(ctx: CliContext, pod: string, command: string[], opts: ExecOptions): Promise<number> {
  if (!command.length) throw new Error('you must specify at least one command for the container (lodge exec POD -- COMMAND [args...])');
  const stdinWanted = Boolean(opts.stdin);
  let tty = Boolean(opts.tty);
  // kubectl's rule: a terminal only when there is one to relay (and kubectl's words).
  if (tty && !(stdinWanted && process.stdin.isTTY)) {
    process.stderr.write('Unable to use a TTY - input is not a terminal or the right kind of file\n');
    tty = false;
  }
  const config = ctx.client.config;
  const target = parseExecTarget(pod);
  const open = (t: ExecTargetArg): Promise<WebSocket> => openExec(config, execUrl(config, ctx.namespace, t, command, { container: opts.container, stdin: stdinWanted, tty }));
  let ws: WebSocket;
  try {
    ws = await open(target);
  } catch (e) {
    // No such Pod: a bare name may be an Instance (lodge exec NAME -- CMD for virtual servers).
    if (target.explicit || !(e instanceof ApiError) || e.code !== 404 || opts.container) throw e;
    // Neither: the Pod's answer, in kubectl's words.
    ws = await open({ ...target, kind: 'instance' }).catch((e2: unknown) => {
      throw e2 instanceof ApiError && e2.code === 404 ? e : e2;
    });
  }
  const v5 = ws.protocol === 'v5.channel.k8s.io';

  const send = (channel: number, data: Buffer | string): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]));
  };
  const sendSize = (): void => {
    if (process.stdout.columns && process.stdout.rows) send(CH_RESIZE, JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }));
  };

  let errorText = '';
  const write = (out: NodeJS.WriteStream, data: Buffer): void => {
    // The websocket is paused while the terminal is slow, so a fast command does not fill memory.
    if (!out.write(data)) {
      ws.pause();
      out.once('drain', () => ws.resume());
    }
  };
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    if (buf[0] === CH_STDOUT) write(process.stdout, payload);
    else if (buf[0] === CH_STDERR) write(process.stderr, payload);
    else if (buf[0] === CH_ERROR) errorText += payload.toString('utf8');
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('error', () => undefined); // the close that follows ends the session

  const raw = tty && process.stdin.isTTY;
  const onResize = (): void => sendSize();
  const onInput = (chunk: Buffer): void => send(CH_STDIN, chunk);
  const onEnd = (): void => {
    // v5 can say "no more input" (the command sees EOF); v4 has no way but closing everything.
    if (v5) send(CH_CLOSE, Buffer.from([CH_STDIN]));
  };
  try {
    if (raw) process.stdin.setRawMode(true);
    if (tty) {
      sendSize();
      process.stdout.on('resize', onResize);
    }
    if (stdinWanted) {
      process.stdin.on('data', onInput);
      process.stdin.once('end', onEnd);
      process.stdin.resume();
    }
    await closed;
  } finally {
    if (raw) process.stdin.setRawMode(false);
    process.stdout.off('resize', onResize);
    if (stdinWanted) {
      process.stdin.off('data', onInput);
      process.stdin.off('end', onEnd);
      // Stop reading, or the open stdin keeps this process alive after the command ended.
      process.stdin.pause();
      process.stdin.unref?.();
    }
  }
  // v4 and v5 always end with a status; a connection that closed without one was cut.
  if (!errorText) throw new Error(`exec: the connection to ${config.server} closed before the command's exit status arrived`);
  return exitCodeOf(errorText);
}
