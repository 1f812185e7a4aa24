// Small host helpers the benches share: run a command and time it, find a
// binary, read /proc (argv, pids, memory), list mounts under a path.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nowMs } from './stats.js';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a command to its exit, timing it from spawn to exit. `noStdio` gives
 * it /dev/null for everything: `runc run -d` hands its own stdio to the
 * container, and whoever waits for those pipes to close waits for the
 * container.
 */
export function runCmd(cmd: string, args: string[], o: { timeoutMs?: number; input?: string; noStdio?: boolean } = {}): Promise<Ran> {
  return new Promise((res) => {
    const t0 = nowMs();
    let child;
    try {
      child = spawn(cmd, args, { stdio: o.noStdio ? 'ignore' : [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (e) {
      res({ code: -1, stdout: '', stderr: (e as Error).message, ms: 0 });
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = o.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(timed out after ${o.timeoutMs} ms)`;
          child.kill('SIGKILL');
        }, o.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      stderr += e.message;
    });
    let exitMs = 0;
    child.on('exit', () => (exitMs = nowMs() - t0));
    child.on(o.noStdio ? 'exit' : 'close', (code: number | null) => {
      if (timer) clearTimeout(timer);
      res({ code, stdout, stderr, ms: exitMs || nowMs() - t0 });
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}

export const lastLine = (s: string): string => s.trim().split('\n').filter(Boolean).pop() ?? '';

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function pids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** Pss and Rss of a process in KiB (smaps_rollup), undefined when it is gone. */
export function memKiB(pid: number): { pss: number; rss: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const f = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { pss: f('Pss'), rss: f('Rss') };
  } catch {
    return undefined;
  }
}

export function vmRssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

export function mountsUnder(paths: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m && paths.some((p) => m === p || m.startsWith(`${p}/`)));
}