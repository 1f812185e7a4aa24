// Runs a real `lodge up` as a child process in a temporary data dir, the way
// a user would, and stops it by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimFreeCidr, nodePortRangeFor } from '../../test/e2e/cidr-claims.js';

/** dist/bench/lib/lodge.js → dist/src/cli/main.js */
let benchNetworks = 0;
const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface LodgeOptions {
  /** Extra arguments for the child's node, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']. */
  nodeArgs?: string[];
  /** Extra arguments for `lodge up`. */
  upArgs?: string[];
  /** Parent of the temporary data dir (default: the OS temp dir). */
  parent?: string;
  readyTimeoutMs?: number;
  /** Run the node agent too (default: `--no-agent`, the control plane alone). */
  agent?: boolean;
  /** Extra environment for the child. */
  env?: Record<string, string>;
}

export interface RunningLodge {
  url: string;
  host: string;
  port: number;
  dataDir: string;
  token: string;
  ca: string;
  pid: number;
  /** The exact command line that was run. */
  command: string;
  /** CPU time (user + system) the server process has used so far, in seconds (Linux /proc). */
  cpuSeconds(): number;
  /** SIGTERM by PID, wait for exit (SIGKILL by PID after a bound), remove the data dir. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The tail of the server's log (stderr), for error reports. */
  logTail(bytes?: number): string;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => {
      child.off('exit', done);
      res(false);
    }, ms);
    const done = (): void => {
      clearTimeout(t);
      res(true);
    };
    child.once('exit', done);
  });
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of a process from /proc/PID/stat, in seconds; NaN when unreadable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), starting at field 3.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return NaN;
  }
}

export async function startLodge(o: LodgeOptions = {}): Promise<RunningLodge> {
  const dataDir = mkdtempSync(join(o.parent ?? tmpdir(), 'lodge-bench-'));
  // The server's log goes to a file, not a pipe: a pipe nobody drains fast
  // enough would block the server.
  const logPath = join(dataDir, 'server.log');
  const logFd = openSync(logPath, 'a');
  // The API bench measures the control plane: no node agent, which would also start every benchmark Pod.
  // With an agent: a network of its own (bridge, nft table, a free /16), removed at stop, so a bench never leaves the host changed.
  const net = o.agent ? { bridge: `lx${process.pid % 1e8}${benchNetworks++}`.slice(0, 15), natTable: `lodge-bench-${process.pid}-${benchNetworks}`, clusterCidr: claimFreeCidr(process.pid * 11 + benchNetworks) } : undefined;
  // Its own Service and NodePort ranges too, so a bench beside a test run never shares a VIP or NodePort with it.
  const serviceCidr = net ? claimFreeCidr(process.pid * 11 + benchNetworks + 41) : undefined;
  const netArgs = net && serviceCidr ? ['--bridge', net.bridge, '--nat-table', net.natTable, '--cluster-cidr', net.clusterCidr, '--service-cidr', serviceCidr, '--service-node-port-range', nodePortRangeFor(serviceCidr)] : [];
  const args = [...(o.nodeArgs ?? []), MAIN, 'up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...(o.agent ? ['--dns-upstream', '127.0.0.1:9'] : ['--no-agent']), ...netArgs, ...(o.upArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd], env: o.env ? { ...process.env, ...o.env } : process.env });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('lodge up: spawn failed');
  const logTail = (bytes = 4000): string => {
    try {
      const s = readFileSync(logPath, 'utf8');
      return s.slice(-bytes);
    } catch {
      return '';
    }
  };
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (!exited) {
      process.kill(pid, 'SIGTERM');
      // A CPU profile is written at exit and can take a few seconds.
      if (!(await waitExit(child, 30_000))) {
        process.kill(pid, 'SIGKILL');
        await waitExit(child, 5_000);
      }
    }
    if (net) {
      try {
        execFileSync(process.execPath, [MAIN, 'network', 'cleanup', '--bridge', net.bridge, '--nat-table', net.natTable], { stdio: 'ignore', timeout: 30_000 });
      } catch {
        process.stderr.write(`bench: could not remove network ${net.bridge}/${net.natTable} (lodge network cleanup --bridge ${net.bridge} --nat-table ${net.natTable})\n`);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    return { code: child.exitCode, signal: child.signalCode };
  };

  const url = await new Promise<string>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('lodge up did not print its ready line in time')), o.readyTimeoutMs ?? 60_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      rej(e);
    };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      out += s;
      const m = /lodge: ready at (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.once('exit', (code, sig) => fail(new Error(`lodge up exited (${code ?? sig}) before it was ready:\n${logTail()}`)));
  }).catch(async (e: Error) => {
    await stop();
    throw e;
  });
  // Keep draining stdout so the child never blocks on it.
  child.stdout!.resume();

  const u = new URL(url);
  return {
    url,
    host: u.hostname,
    port: Number(u.port),
    dataDir,
    token: readFileSync(join(dataDir, 'pki', 'admin.token'), 'utf8').trim(),
    ca: readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'),
    pid,
    command: `node ${args.map((a) => (a === dataDir ? 'DIR' : a === MAIN ? 'dist/src/cli/main.js' : a)).join(' ')}`,
    stop,
    logTail,
    cpuSeconds: () => processCpuSeconds(pid),
  };
}
