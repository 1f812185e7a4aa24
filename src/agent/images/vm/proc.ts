// Host commands for the image builds: like ../run.ts, plus a working
// directory and binary stdin/stdout (decompressors, apt-get download).
import { spawn } from 'node:child_process';

export interface CmdOptions {
  cwd?: string;
  input?: Buffer;
  /** Accept a failing exit when this says the output is good anyway (decompressors and trailing bytes). */
  acceptOutput?: (stdout: Buffer) => boolean;
}

export function runCmd(cmd: string, args: string[], opts: CmdOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
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
