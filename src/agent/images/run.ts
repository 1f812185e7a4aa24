// Runs a host command to completion, failing with its stderr (the last lines).
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Bytes written to stdin. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Accept a failing exit when this says the output is good anyway (decompressors and trailing bytes). */
  acceptOutput?: (stdout: Buffer) => boolean;
}

/** Runs a command; its stdout as bytes (decompressors, apt-get download). */
export function runCmd(cmd: string, args: string[], opts: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // No stdin pipe unless there is input: writing to one whose reader has
    // already exited fails with EPIPE.
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      if (code === 0 || opts.acceptOutput?.(stdout)) return resolve(stdout);
      const msg = Buffer.concat(err).toString().trim().split('\n').slice(-5).join('\n');
      reject(new Error(`${cmd} ${args.slice(0, 4).join(' ')}${args.length > 4 ? ' …' : ''} failed (${signal ?? `exit ${code}`}): ${msg}`));
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the exit status tells what went wrong
      child.stdin.end(opts.input);
    }
  });
}

/** Runs a command; its stdout as text. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return (await runCmd(cmd, args, opts)).toString();
}

/** Calls `fn` on slices of `items` small enough for one command line. */
export async function inBatches(items: string[], fn: (batch: string[]) => Promise<unknown>, maxBytes = 64 * 1024): Promise<void> {
  let batch: string[] = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length && bytes + item.length + 1 > maxBytes) {
      await fn(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.length + 1;
  }
  if (batch.length) await fn(batch);
}
