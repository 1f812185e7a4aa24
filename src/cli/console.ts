// `lodge console NAME [--show-log]`: attach to an Instance's console (a VM's
// serial port, a system container's terminal) through instances/console,
// the exec channel protocol over a WebSocket; or print its console log
// (instances/log) and exit.
//
// On a terminal, stdin goes raw: every key reaches the guest (Ctrl-C too),
// except the escape: ctrl-a q detaches, ctrl-a ctrl-a sends one ctrl-a (as
// in screen and incus). Without a terminal (a pipe), input is relayed as it
// comes, with the same escape, and its end detaches: there is nothing more
// to send.
import type { Command } from 'commander';
import { WebSocket, type RawData } from 'ws';
import type { ClientConfig } from '../client/config.js';
import { ApiError, isStatus, type Status } from '../client/errors.js';
import { REMOTECOMMAND_CHANNEL } from '../api/remotecommand/channels.js';
import { withContext, type CliContext } from './context.js';
import { openExec } from './exec.js';

const { stdin: CH_STDIN, stdout: CH_STDOUT, stderr: CH_STDERR, error: CH_ERROR, resize: CH_RESIZE } = REMOTECOMMAND_CHANNEL;
const CTRL_A = 0x01;
const DETACH_KEY = 'q'.charCodeAt(0);
export const DETACH_HINT = 'To detach: ctrl-a q';

interface ConsoleOptions {
  showLog?: boolean;
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description("Attach to an instance's console (a VM's serial port, a system container's terminal); detach with ctrl-a q")
    .argument('<name>', 'the instance')
    .option('--show-log', 'print the console log (kept across boots and after a stop) and exit')
    .action(async (name: string, opts: ConsoleOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        if (opts.showLog) await showLog(ctx, name);
        else await attach(ctx, name);
      });
    });
}

function instancePath(namespace: string, name: string, sub: 'console' | 'log'): string {
  return `/apis/lodge.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/instances/${encodeURIComponent(name)}/${sub}`;
}

export function consoleUrl(config: ClientConfig, namespace: string, name: string): string {
  return new URL(instancePath(namespace, name, 'console'), config.server.replace(/^http/, 'ws')).toString();
}

async function showLog(ctx: CliContext, name: string): Promise<void> {
  const res = await ctx.client.requestStream({ path: instancePath(ctx.namespace, name, 'log'), accept: 'text/plain, */*' });
  let last = '';
  for await (const chunk of res.body) {
    if (chunk.length) last = chunk.toString('latin1').slice(-1);
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
  // A log that ends mid-line (a prompt) would leave the shell's prompt after it.
  if (last && last !== '\n' && process.stdout.isTTY) process.stdout.write('\n');
}

/**
 * The escape sequence, across chunks: ctrl-a q detaches, ctrl-a ctrl-a is one
 * ctrl-a, ctrl-a and anything else passes both through.
 */
export class EscapeFilter {
  private pending = false;

  /** The bytes to send, and whether the user asked to detach (what follows ctrl-a q is dropped). */
  push(chunk: Buffer): { send: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.pending) {
        this.pending = false;
        if (b === DETACH_KEY) return { send: Buffer.from(out), detach: true };
        if (b === CTRL_A) out.push(CTRL_A);
        else out.push(CTRL_A, b);
      } else if (b === CTRL_A) this.pending = true;
      else out.push(b);
    }
    return { send: Buffer.from(out), detach: false };
  }
}

/** What the server said when the console ended: nothing to report for a Success (the instance stopped). */
function endOf(text: string): { message: string; failed: boolean } | undefined {
  if (!text) return undefined;
  try {
    const st = JSON.parse(text) as Status;
    if (st.status === 'Success') return { message: st.message ?? 'the console closed', failed: false };
    if (isStatus(st)) return { message: ApiError.fromStatus(st).message, failed: true };
  } catch {
    /* older protocols send the bare message */
  }
  return { message: text, failed: true };
}

async function attach(ctx: CliContext, name: string): Promise<void> {
  const config = ctx.client.config;
  const ws = await openExec(config, consoleUrl(config, ctx.namespace, name), 'console');
  const tty = Boolean(process.stdin.isTTY);
  const nl = tty ? '\r\n' : '\n';
  process.stderr.write(`Connected to the console of instance ${name}. ${DETACH_HINT}${nl}`);

  const send = (channel: number, data: Buffer | string): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]));
  };
  const sendSize = (): void => {
    if (process.stdout.isTTY && process.stdout.columns && process.stdout.rows) send(CH_RESIZE, JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }));
  };

  let endText = '';
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    if (buf[0] === CH_STDOUT || buf[0] === CH_STDERR) {
      // The socket waits while the terminal is slow, so a chatty guest does not fill memory.
      if (!process.stdout.write(payload)) {
        ws.pause();
        process.stdout.once('drain', () => ws.resume());
      }
    } else if (buf[0] === CH_ERROR) endText += payload.toString('utf8');
  });
  ws.on('error', () => undefined); // the close that follows ends the session
  let detached = false;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));

  const escape = new EscapeFilter();
  const detach = (): void => {
    detached = true;
    ws.close(1000);
  };
  const onInput = (chunk: Buffer): void => {
    const { send: bytes, detach: quit } = escape.push(chunk);
    if (bytes.length) send(CH_STDIN, bytes);
    if (quit) detach();
  };
  const onEnd = (): void => detach();
  const onResize = (): void => sendSize();
  try {
    if (tty) process.stdin.setRawMode(true);
    sendSize();
    process.stdout.on('resize', onResize);
    process.stdin.on('data', onInput);
    process.stdin.once('end', onEnd);
    process.stdin.resume();
    await closed;
  } finally {
    if (tty) process.stdin.setRawMode(false);
    process.stdout.off('resize', onResize);
    process.stdin.off('data', onInput);
    process.stdin.off('end', onEnd);
    // Stop reading, or the open stdin keeps this process alive after the console ended.
    process.stdin.pause();
    process.stdin.unref?.();
  }
  if (detached) {
    process.stderr.write(`${nl}Detached from the console of instance ${name}.\n`);
    return;
  }
  const end = endOf(endText);
  if (end?.failed) throw new Error(end.message);
  process.stderr.write(`${nl}${end?.message ?? `the connection to ${config.server} closed`}\n`);
}
