// Runs a real `lodge up` in a temporary data dir for end-to-end tests, and
// real kubectl against it. Every process started here is stopped by PID and
// every temp dir removed, even when a test fails.
import { claimFreeCidr, nodePortRangeFor } from './cidr-claims.js';
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
  /** Extra environment of lodge up (e.g. LODGE_FAILPOINTS). */
  env?: Record<string, string>;
}

// ---- node network isolation ----
// Many test files run `lodge up` at once (and every Pod now gets an address):
// each data dir gets its own bridge, nft table and cluster CIDR, so no two
// lodges share a subnet or unplug each other, and the default lodge0 and
// 10.244.0.0/16 of a real install on this host are never touched. Names start
// with "lt"/"lodge" so network.test.ts's host snapshot ignores them. Removed
// by shutdown(), and at the latest when this test process exits.

export interface TestNetwork {
  bridge: string;
  natTable: string;
  clusterCidr: string;
  /** Its own Service range (a claimed /16) and NodePort range, so lodges side by side never capture each other's VIPs or NodePorts. */
  serviceCidr: string;
  nodePortRange: string;
}

const networks = new Map<string, TestNetwork>();
const removedNetworks = new Set<string>();
let networkCount = 0;

/** The bridge, nft table and cluster CIDR of the lodge in `dataDir` (the same again for a restart of it). */
export function testNetwork(dataDir: string): TestNetwork {
  const known = networks.get(dataDir);
  if (known) return known;
  const n = networkCount++;
  // 10.112-199.0.0/16: clear of the Service range, the default 10.244/16 and network.test.ts's 10.200-249.
  const cidr = claimFreeCidr(process.pid * 7 + n * 13);
  const serviceCidr = claimFreeCidr(process.pid * 7 + n * 13 + 41);
  const t: TestNetwork = { bridge: `lt${process.pid}n${n}`, natTable: `lodge-e2e-${process.pid}-${n}`, clusterCidr: cidr, serviceCidr, nodePortRange: nodePortRangeFor(serviceCidr) };
  networks.set(dataDir, t);
  return t;
}

/** A closed loopback port: the cluster DNS of a test lodge forwards nothing off the host. */
const NO_DNS_UPSTREAM = '127.0.0.1:9';

/** Flags giving `lodge up` or `lodge agent` the data dir's own network. */
export function networkArgs(dataDir: string): string[] {
  const t = testNetwork(dataDir);
  // Names outside the cluster are never looked up on the host's resolvers from a test: the upstream is a closed loopback port (SERVFAIL).
  return ['--bridge', t.bridge, '--nat-table', t.natTable, '--cluster-cidr', t.clusterCidr, '--dns-upstream', NO_DNS_UPSTREAM];
}

/** `lodge up`'s Service and NodePort ranges of the data dir, unless the test sets its own. */
export function serviceArgs(dataDir: string, given: string[] = []): string[] {
  const t = testNetwork(dataDir);
  return [...(given.includes('--service-cidr') ? [] : ['--service-cidr', t.serviceCidr]), ...(given.includes('--service-node-port-range') ? [] : ['--service-node-port-range', t.nodePortRange])];
}

/** Remove the data dir's bridge and nft table (through `lodge network cleanup`, which also gives back ip_forward). */
export function removeTestNetwork(dataDir: string): void {
  const t = networks.get(dataDir);
  if (!t || removedNetworks.has(dataDir)) return;
  const r = spawnSync(process.execPath, [LODGE_MAIN, 'network', 'cleanup', '--bridge', t.bridge, '--nat-table', t.natTable], { encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0) removedNetworks.add(dataDir);
  else process.stderr.write(`test network ${t.bridge}/${t.natTable}: cleanup failed: ${r.stderr}\n`);
}

process.on('exit', () => {
  for (const dir of networks.keys()) removeTestNetwork(dir);
});

/**
 * `lodge up` flags for files about the API and kubectl's output, whose
 * Deployments and ReplicaSets are fixtures to list, patch and delete: their
 * controllers are left out, so no Pods appear beside the ones the test made,
 * and no scheduler writes a Pod's status (PodScheduled) under the test.
 */
export const INERT_WORKLOADS = ['--controllers', '*,-deployment,-replicaset,-daemonset', '--no-scheduler'];

/** For files that use Pods only as API objects (watch event sequences, client libraries): no scheduler writes their status. */
export const NO_SCHEDULER = ['--no-scheduler'];

/** Start `lodge up` on a free loopback port; resolves when it prints its ready line. */
export async function startLodge(o: StartOptions = {}): Promise<Lodge> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'lodge-e2e-'));
  const net = (o.args ?? []).includes('--bridge') ? [] : [...networkArgs(dataDir), ...serviceArgs(dataDir, o.args ?? [])];
  const dns = [...net, ...(o.args ?? [])].includes('--dns-upstream') ? [] : ['--dns-upstream', NO_DNS_UPSTREAM];
  const proc = spawn(process.execPath, [LODGE_MAIN, 'up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...net, ...dns, ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LODGE_LOG_LEVEL: process.env.LODGE_LOG_LEVEL ?? 'warn', ...(o.env ?? {}) },
  });
  let stderr = '';
  let stdout = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      // Never leave a half-started lodge behind.
      proc.kill('SIGKILL');
      rej(new Error(`lodge up did not get ready in 60 s; stderr:\n${stderr}`));
    }, 60_000);
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
    // Node sends DELETE bodies unframed unless told their length.
    if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
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

// ---- helpers for the API end-to-end tests (api-*.test.ts, durability, client-node) ----

export type ApiResult = Awaited<ReturnType<typeof api>>;

/** Raw HTTPS request authenticated by a client certificate (no token). */
export async function apiWithCert(
  l: Pick<Lodge, 'url' | 'caPem'>,
  method: string,
  path: string,
  o: { certPem: string; keyPem: string },
): Promise<{ status: number; text: string; json(): any }> {
  const { request } = await import('node:https');
  const u = new URL(path, l.url);
  return new Promise((res, rej) => {
    const req = request(u, { method, ca: l.caPem, cert: o.certPem, key: o.keyPem, agent: false }, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (d: string) => (text += d));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, text, json: () => JSON.parse(text) }));
    });
    req.on('error', rej);
    req.end();
  });
}

export interface WatchEvent {
  type: string;
  object: any;
}

export interface WatchStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Every event received so far, in order. */
  events: WatchEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Wait until `pred` holds for the events so far (default: 15 s, then reject with what arrived). */
  until(pred: (events: WatchEvent[]) => boolean, timeoutMs?: number): Promise<WatchEvent[]>;
  close(): void;
}

/** Open a watch (newline-delimited JSON over raw HTTPS) and collect its events. */
export async function openWatch(l: Pick<Lodge, 'url' | 'token' | 'caPem'>, path: string, o: { accept?: string } = {}): Promise<WatchStream> {
  const { request } = await import('node:https');
  const u = new URL(path, l.url);
  const headers: Record<string, string> = { authorization: `Bearer ${l.token}` };
  if (o.accept) headers.accept = o.accept;
  return new Promise((resolveOpen, rejectOpen) => {
    const req = request(u, { method: 'GET', headers, ca: l.caPem, agent: false }, (resp) => {
      const events: WatchEvent[] = [];
      const waiters = new Set<() => void>();
      let buf = '';
      let text = '';
      let endedResolve!: () => void;
      const ended = new Promise<void>((r) => (endedResolve = r));
      let done = false;
      resp.setEncoding('utf8');
      resp.on('data', (d: string) => {
        text += resp.statusCode === 200 ? '' : d;
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line) events.push(JSON.parse(line) as WatchEvent);
        }
        for (const w of waiters) w();
      });
      const finish = (): void => {
        if (done) return;
        done = true;
        if (buf.trim() && resp.statusCode === 200) {
          try {
            events.push(JSON.parse(buf.trim()) as WatchEvent);
          } catch {
            /* a partial line at close */
          }
        }
        endedResolve();
        for (const w of waiters) w();
      };
      resp.on('end', finish);
      resp.on('close', finish);
      resp.on('error', finish);
      const stream: WatchStream = {
        status: resp.statusCode ?? 0,
        headers: resp.headers,
        events,
        ended,
        until: (pred, timeoutMs = 15_000) =>
          new Promise((res, rej) => {
            const check = (): void => {
              if (pred(events)) {
                cleanup();
                res(events);
              } else if (done) {
                cleanup();
                rej(new Error(`watch ended before the condition held; ${resp.statusCode} ${text} events: ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name, e.object?.metadata?.resourceVersion]))}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              rej(new Error(`watch condition not met in ${timeoutMs} ms; events: ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name, e.object?.metadata?.resourceVersion, e.object?.code]))}`));
            }, timeoutMs);
            const cleanup = (): void => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          }),
        close: () => {
          req.destroy();
          resp.destroy();
        },
      };
      resolveOpen(stream);
    });
    req.on('error', rejectOpen);
    req.end();
  });
}

/** Poll `fn` until it returns a truthy value (default 20 s), else throw with `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Lines of lodge's stderr that report an unexpected (500) failure. */
export function requestFailures(l: Pick<Lodge, 'logs'>): string[] {
  return l
    .logs()
    .split('\n')
    .filter((line) => line.includes('request failed'));
}

/** Stop a lodge (SIGTERM, SIGKILL after 10 s) and remove its data dir; never throws. */
export async function shutdown(l: Lodge | undefined, dataDir?: string): Promise<void> {
  if (l) {
    const timer = setTimeout(() => void l.kill(), 10_000);
    try {
      await l.stop();
    } catch {
      /* already gone */
    } finally {
      clearTimeout(timer);
    }
  }
  const dir = dataDir ?? l?.dataDir;
  if (dir) {
    removeTestNetwork(dir);
    removeDir(dir);
  }
}

// ---- helpers for the kubectl end-to-end tests (kubectl-*.test.ts) ----
// (imports are hoisted; kept here so this section is append-only)
import { mkdirSync, readdirSync, renameSync } from 'node:fs';

export interface KubectlRun extends RunResult {
  /** The command line, for assertion messages. */
  command: string;
}

export interface KubectlOptions {
  /** '1.27' … '1.33' for kubectl.<version>; the default binary when absent. */
  version?: string;
  /** An explicit kubectl binary (e.g. Debian's 1.20); wins over `version`. */
  bin?: string;
  input?: string;
  timeoutMs?: number;
  /** Extra environment (e.g. KUBE_EDITOR). */
  env?: Record<string, string>;
}

/** Path of the kubectl binary for a version ('1.31') or the default one. */
export function kubectlBinary(version?: string): string {
  return version ? join(KUBECTL_DIR, `kubectl.${version}`) : join(KUBECTL_DIR, 'kubectl');
}

/** The kubectl.1.x binaries installed, oldest first. */
export function installedKubectlVersions(): string[] {
  return ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'].filter((v) => existsSync(kubectlBinary(v)));
}

function kubectlInvocation(l: Pick<Lodge, 'kubeconfig' | 'dataDir'>, args: string[], o: KubectlOptions): { bin: string; argv: string[]; env: NodeJS.ProcessEnv; command: string } {
  const bin = o.bin ?? kubectlBinary(o.version);
  const name = o.bin ? o.bin : o.version ? `kubectl.${o.version}` : 'kubectl';
  // The discovery cache lives in the data dir, so removing the dir removes
  // it; one per binary, as versions write it differently.
  const cache = join(l.dataDir, 'kubectl-cache', name.replace(/[^\w.-]+/g, '_'));
  const argv = ['--kubeconfig', l.kubeconfig, `--cache-dir=${cache}`, ...args];
  const env = { ...process.env, HOME: l.dataDir, KUBECONFIG: l.kubeconfig, ...(o.env ?? {}) };
  return { bin, argv, env, command: `${name} ${args.map((a) => (/[\s'"{}$]/.test(a) ? JSON.stringify(a) : a)).join(' ')}` };
}

/** Run kubectl to completion (sync) against a lodge, with its cache and HOME in the lodge's data dir. */
export function runKubectl(l: Pick<Lodge, 'kubeconfig' | 'dataDir'>, args: string[], o: KubectlOptions = {}): KubectlRun {
  const inv = kubectlInvocation(l, args, o);
  const r = spawnSync(inv.bin, inv.argv, { input: o.input, encoding: 'utf8', timeout: o.timeoutMs ?? 60_000, env: inv.env });
  const stderr = (r.stderr ?? '') + (r.error ? `\n[spawn error: ${r.error.message}]` : '') + (r.signal ? `\n[killed by ${r.signal}]` : '');
  return { code: r.status, stdout: r.stdout ?? '', stderr, command: inv.command };
}

/** Describe a kubectl run for an assertion message. */
export function describeRun(r: KubectlRun): string {
  return `$ ${r.command}\n[exit ${r.code}]\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

/** Run kubectl and throw (with its output) unless it exits 0. */
export function kubectlOk(l: Pick<Lodge, 'kubeconfig' | 'dataDir'>, args: string[], o: KubectlOptions = {}): KubectlRun {
  const r = runKubectl(l, args, o);
  if (r.code !== 0) throw new Error(`kubectl failed\n${describeRun(r)}`);
  return r;
}

export interface KubectlChild {
  pid: number;
  command: string;
  /** stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Exit code once exited, else undefined. */
  exitCode(): number | null | undefined;
  /** Wait until `pred(stdout)` holds (default 20 s); rejects with the output so far. */
  until(pred: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** The same on stderr (e.g. `-v=6` request logs). */
  untilStderr(pred: (stderr: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** With `-v=6`: wait until its watch request has been answered, so every later change reaches it. */
  watching(timeoutMs?: number): Promise<void>;
  /** Wait for exit (default 60 s, then kill it and reject). */
  exited(timeoutMs?: number): Promise<number | null>;
  /** SIGTERM the child by PID (SIGKILL after 5 s) and wait for it; never throws. */
  stop(): Promise<void>;
}

/** Start kubectl as a child process (e.g. `get -w`, or a blocking `delete --wait`). */
export function startKubectl(l: Pick<Lodge, 'kubeconfig' | 'dataDir'>, args: string[], o: KubectlOptions = {}): KubectlChild {
  const inv = kubectlInvocation(l, args, o);
  const child = spawn(inv.bin, inv.argv, { env: inv.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let code: number | null | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    wake();
  });
  const exit = new Promise<number | null>((res) =>
    child.once('close', (c) => {
      code = c;
      wake();
      res(c);
    }),
  );
  child.once('error', (e) => {
    err += `\n[spawn error: ${e.message}]`;
  });
  const report = (): string => `$ ${inv.command}\n--- stdout ---\n${out}--- stderr ---\n${err}`;
  const until = (text: () => string, pred: (s: string) => boolean, what: string, timeoutMs: number): Promise<string> =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        rej(new Error(`timed out waiting for ${what}\n${report()}`));
      }, timeoutMs);
      const check = (): void => {
        if (pred(text())) {
          clearTimeout(timer);
          waiters.delete(check);
          res(text());
        } else if (code !== undefined) {
          clearTimeout(timer);
          waiters.delete(check);
          rej(new Error(`kubectl exited (${code}) before ${what}\n${report()}`));
        }
      };
      waiters.add(check);
      check();
    });
  const pid = child.pid ?? -1;
  return {
    pid,
    command: inv.command,
    stdout: () => out,
    stderr: () => err,
    exitCode: () => code,
    until: (pred, what, timeoutMs = 20_000) => until(() => out, pred, what, timeoutMs),
    untilStderr: (pred, what, timeoutMs = 20_000) => until(() => err, pred, what, timeoutMs),
    watching: async (timeoutMs = 20_000) => {
      await until(() => err, (e) => /watch=true[^\n]*200 OK/.test(e), 'its watch request to be answered (run it with -v=6)', timeoutMs);
    },
    exited: async (timeoutMs = 60_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, rej) => {
        timer = setTimeout(() => {
          if (pid > 0 && code === undefined) process.kill(pid, 'SIGKILL');
          rej(new Error(`kubectl did not exit in ${timeoutMs} ms\n${report()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    stop: async () => {
      if (pid <= 0 || code !== undefined) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          if (code === undefined) process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

export interface ParsedTable {
  columns: string[];
  rows: Array<Record<string, string>>;
}

/**
 * Parse kubectl's human table (one table: a header line, then rows) by the
 * header's column positions, so headers with spaces ("NOMINATED NODE") and
 * empty cells (NAMESPACE of cluster-scoped objects) come out right.
 */
export function parseTable(text: string): ParsedTable {
  const lines = text.split('\n').filter((x) => x.trim() !== '');
  if (!lines.length) return { columns: [], rows: [] };
  const header = lines[0];
  const starts: number[] = [];
  const columns: string[] = [];
  const re = /\S+(?: \S+)*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header))) {
    starts.push(m.index);
    columns.push(m[0]);
  }
  const rows = lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    columns.forEach((c, i) => {
      row[c] = line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim();
    });
    return row;
  });
  return { columns, rows };
}

/** The cache of downloaded tools (kept between runs). */
export function toolCacheDir(): string {
  const nm = join(ROOT, 'node_modules');
  return existsSync(nm) ? join(nm, '.cache', 'lodge') : join(tmpdir(), 'lodge-tool-cache');
}

/**
 * Debian bookworm's kubectl 1.20 (package kubernetes-client), unpacked from
 * its .deb into the tool cache: never installed, so the machine's kubectl
 * stays as it is. Reused when already there; throws a clear error when it
 * cannot be fetched.
 */
export function debianKubectl(): string {
  const root = join(toolCacheDir(), 'debian-kubernetes-client');
  const bin = join(root, 'usr', 'bin', 'kubectl');
  if (existsSync(bin)) return bin;
  mkdirSync(toolCacheDir(), { recursive: true });
  const work = mkdtempSync(join(toolCacheDir(), 'debian-kubectl-'));
  try {
    const dl = spawnSync('apt-get', ['download', 'kubernetes-client'], { cwd: work, encoding: 'utf8', timeout: 300_000 });
    const debs = existsSync(work) ? readdirSync(work).filter((f) => f.endsWith('.deb')) : [];
    if (dl.status !== 0 || debs.length !== 1) {
      throw new Error(
        `could not download Debian's kubernetes-client .deb (kubectl 1.20) with \`apt-get download kubernetes-client\` ` +
          `(exit ${dl.status}${dl.error ? `, ${dl.error.message}` : ''}); is a bookworm apt source configured and reachable? ` +
          `Try \`apt-get update\`.\n${dl.stdout ?? ''}${dl.stderr ?? ''}`,
      );
    }
    const out = join(work, 'root');
    const x = spawnSync('dpkg-deb', ['-x', join(work, debs[0]), out], { encoding: 'utf8', timeout: 120_000 });
    if (x.status !== 0 || !existsSync(join(out, 'usr', 'bin', 'kubectl'))) {
      throw new Error(`could not unpack ${debs[0]} with dpkg-deb -x (exit ${x.status}${x.error ? `, ${x.error.message}` : ''}):\n${x.stderr ?? ''}`);
    }
    try {
      renameSync(out, root); // atomic: a concurrent run sees all of it or nothing
    } catch (e) {
      if (!existsSync(bin)) throw e;
    }
    return bin;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
