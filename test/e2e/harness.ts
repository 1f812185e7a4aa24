// Runs a real `lodge up` in a temporary data dir for end-to-end tests, and
// real kubectl against it. Every process started here is stopped by PID and
// every temp dir removed, even when a test fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const LODGE_MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';

export interface Lodge {
  url: string;
  dataDir: string;
  kubeconfig: string;
  token: string;
  caPem: string;
  proc: ChildProcess;
  /** stderr so far (structured logs). */
  logs(): string;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
}

/** Start `lodge up` on a free loopback port; resolves when it prints its ready line. */
export async function startLodge(o: StartOptions = {}): Promise<Lodge> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'lodge-e2e-'));
  const proc = spawn(process.execPath, [LODGE_MAIN, 'up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LODGE_LOG_LEVEL: process.env.LODGE_LOG_LEVEL ?? 'warn' },
  });
  let stderr = '';
  let stdout = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`lodge up did not get ready in 60 s; stderr:\n${stderr}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /lodge: ready at (https:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`lodge up exited with ${code} before ready; stderr:\n${stderr}`));
    });
  });
  const kubeconfig = join(dataDir, 'kubeconfig');
  const token = readFileSync(join(dataDir, 'pki', 'admin.token'), 'utf8').trim();
  const caPem = readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  return {
    url,
    dataDir,
    kubeconfig,
    token,
    caPem,
    proc,
    logs: () => stderr,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

export function removeDir(dir: string): void {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run kubectl (default version, or e.g. '1.27') against the lodge's kubeconfig. */
export function kubectl(l: Pick<Lodge, 'kubeconfig'>, args: string[], o: { version?: string; input?: string; timeoutMs?: number } = {}): RunResult {
  const bin = o.version ? join(KUBECTL_DIR, `kubectl.${o.version}`) : join(KUBECTL_DIR, 'kubectl');
  const r = spawnSync(bin, ['--kubeconfig', l.kubeconfig, ...args], {
    input: o.input,
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 60_000,
    env: { ...process.env, HOME: tmpdir(), KUBECACHEDIR: join(tmpdir(), `kubecache-${process.pid}`) },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Run the lodge CLI against the lodge's kubeconfig. */
export function lodgeCli(l: Pick<Lodge, 'kubeconfig'>, args: string[], o: { input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(process.execPath, [LODGE_MAIN, '--kubeconfig', l.kubeconfig, ...args], {
    input: o.input,
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 60_000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Raw HTTPS request with the admin token (or none) to the lodge. */
export async function api(
  l: Pick<Lodge, 'url' | 'token' | 'caPem'>,
  method: string,
  path: string,
  o: { body?: string | Buffer; contentType?: string; accept?: string; token?: string | null } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }> {
  const { request } = await import('node:https');
  const u = new URL(path, l.url);
  return new Promise((res, rej) => {
    const headers: Record<string, string> = {};
    const token = o.token === undefined ? l.token : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (o.contentType) headers['content-type'] = o.contentType;
    if (o.accept) headers.accept = o.accept;
    const req = request(u, { method, headers, ca: l.caPem }, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (d: string) => (text += d));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, headers: resp.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', rej);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}
