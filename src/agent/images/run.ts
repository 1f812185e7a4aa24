// Runs a host command to completion, failing with its stderr.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Bytes written to stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    // No stdin pipe unless there is input: writing to one whose reader has
    // already exited fails with EPIPE.
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString());
      const msg = Buffer.concat(err).toString().trim().split('\n').slice(-5).join('\n');
      reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}${args.length > 3 ? ' …' : ''} failed (${signal ?? `exit ${code}`}): ${msg}`));
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the exit status tells what went wrong
      child.stdin.end(opts.input);
    }
  });
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
