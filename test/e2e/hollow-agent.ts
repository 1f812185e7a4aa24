// `lodge agent --hollow N` beside a test's `lodge up --no-agent`: started,
// waited for until its nodes are ready, and stopped by its PID (SIGKILL in
// after hooks; a test may SIGTERM it itself and read the exit code).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LODGE_MAIN, waitFor, type Lodge } from './harness.js';

export interface HollowAgent {
  proc: ChildProcess;
  /** Resolves with its exit code once it has exited. */
  exited: Promise<number | null>;
  stderr(): string;
  /** SIGKILL unless it has already ended; waits for the exit. */
  kill(): Promise<void>;
}

/** nodes named PREFIX-0000 … (the hollow agent's naming); args: more agent flags. */
export async function startHollowAgent(lodge: Lodge, dataDir: string, count: number, prefix: string, args: string[] = []): Promise<HollowAgent> {
  const proc = spawn(process.execPath, [LODGE_MAIN, 'agent', '--server', lodge.url, '--token-file', join(dataDir, 'pki', 'admin.token'), '--certificate-authority', join(dataDir, 'pki', 'ca.crt'), '--hollow', String(count), '--hollow-prefix', prefix, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LODGE_LOG_LEVEL: 'warn' },
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  let stderr = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const agent: HollowAgent = {
    proc,
    exited,
    stderr: () => stderr,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await waitFor('hollow agent ready line', async () => {
      if (proc.exitCode !== null) throw new Error(`hollow agent exited ${proc.exitCode}: ${stderr}`);
      return new RegExp(`${count} hollow nodes ready`).test(out);
    }, 30_000);
  } catch (e) {
    await agent.kill();
    throw e;
  }
  return agent;
}
