// A scale-test cluster for the benches: a real `lodge up --no-agent` (its own
// data dir, a free loopback port) and `lodge agent --hollow N` beside it as a
// second process, both stopped by PID. The hollow nodes run nothing, so the
// figures are the control plane's: API server, store, scheduler, controllers.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeClient } from '../../src/client/client.js';
import { NODES } from '../../src/client/refs.js';
import { cmdline, pids } from './host.js';
import { processCpuSeconds, startLodge, type RunningLodge } from './lodge.js';
import { sleep } from './stats.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/**
 * A cluster CIDR with room for a /24 per node of even the largest run (4,096
 * nodes), as a real 1,000-node cluster is configured: the default /16 gives
 * podCIDRs to 256 nodes only. Nothing is programmed on the host with it
 * (`--no-agent`: no bridge, no routes).
 */
const BENCH_CLUSTER_CIDR = '10.64.0.0/12';

export interface HollowCluster {
  lodge: RunningLodge;
  /** A client of its own for the bench's requests (a pool of connections). */
  client: KubeClient;
  hollowPid: number;
  /** Node names the hollow agent registered. */
  prefix: string;
  /** Milliseconds from starting `lodge agent --hollow` to its ready line (all nodes registered). */
  registerMs: number;
  /** The command lines run (data dir shown as DIR). */
  commands: string[];
  /** CPU seconds (user + system) used so far by `lodge up`, the hollow agent and this bench process. */
  cpuSeconds(): CpuSeconds;
  /** Stop the hollow agent (it deletes its nodes), then lodge up; remove the data dir. Never throws. */
  stop(): Promise<void>;
  /** Processes of this cluster still alive (by data dir in their command line). */
  leftovers(): string[];
}

export interface CpuSeconds {
  lodge: number;
  hollow: number;
  bench: number;
}

/** CPU used between two readings. */
export function cpuSince(before: CpuSeconds, after: CpuSeconds): CpuSeconds {
  return { lodge: after.lodge - before.lodge, hollow: after.hollow - before.hollow, bench: after.bench - before.bench };
}

export function formatCpu(c: CpuSeconds): string {
  return `lodge up ${c.lodge.toFixed(1)} s, hollow agent ${c.hollow.toFixed(1)} s, bench client ${c.bench.toFixed(1)} s`;
}

function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    p.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

/** Start the control plane and N hollow nodes; resolves once all N are Ready. */
export async function startHollowCluster(o: { nodes: number; log: (line: string) => void; upArgs?: string[] }): Promise<HollowCluster> {
  // LODGE_BENCH_NODE_ARGS: node flags for lodge up, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where its time goes.
  const nodeArgs = process.env.LODGE_BENCH_NODE_ARGS?.split(' ').filter(Boolean);
  const lodge = await startLodge({ upArgs: ['--cluster-cidr', BENCH_CLUSTER_CIDR, ...(o.upArgs ?? [])], env: { LODGE_LOG_LEVEL: 'warn' }, readyTimeoutMs: 120_000, nodeArgs });
  const prefix = `bench-${process.pid}`;
  const args = [MAIN, 'agent', '--server', lodge.url, '--token-file', join(lodge.dataDir, 'pki', 'admin.token'), '--certificate-authority', join(lodge.dataDir, 'pki', 'ca.crt'), '--hollow', String(o.nodes), '--hollow-prefix', prefix, '--hollow-cleanup'];
  const logFd = openSync(join(lodge.dataDir, 'hollow.log'), 'a');
  const t0 = performance.now();
  const hollow = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd], env: { ...process.env, LODGE_LOG_LEVEL: 'warn' } });
  closeSync(logFd);
  const client = new KubeClient({ server: lodge.url, caPem: lodge.ca, token: lodge.token, timeoutMs: 120_000 });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (hollow.exitCode === null && hollow.signalCode === null) {
      process.kill(hollow.pid!, 'SIGTERM');
      // It deletes its Nodes first (--hollow-cleanup): a few seconds for 1,000.
      if (!(await waitExit(hollow, 60_000))) {
        process.kill(hollow.pid!, 'SIGKILL');
        await waitExit(hollow, 5_000);
      }
    }
    await client.close().catch(() => undefined);
    await lodge.stop().catch(() => undefined);
  };
  const hollowLog = (): string => {
    try {
      return readFileSync(join(lodge.dataDir, 'hollow.log'), 'utf8').slice(-3000);
    } catch {
      return '';
    }
  };
  try {
    await new Promise<void>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`lodge agent --hollow ${o.nodes} not ready in 300 s:\n${hollowLog()}`)), 300_000);
      hollow.stdout!.setEncoding('utf8');
      hollow.stdout!.on('data', (s: string) => {
        out += s;
        if (/hollow nodes ready/.test(out)) {
          clearTimeout(timer);
          res();
        }
      });
      hollow.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`lodge agent --hollow exited (${code}) before it was ready:\n${hollowLog()}`));
      });
    });
    hollow.stdout!.resume();
    const registerMs = performance.now() - t0;
    o.log(`${o.nodes} hollow nodes registered in ${(registerMs / 1000).toFixed(1)} s; waiting for them to be Ready`);
    await waitNodesReady(client, prefix, o.nodes, 120_000);
    const show = (a: string): string => (a === MAIN ? 'dist/src/cli/main.js' : a.replaceAll(lodge.dataDir, 'DIR').replace(lodge.url, 'URL'));
    return {
      lodge,
      client,
      hollowPid: hollow.pid!,
      prefix,
      registerMs,
      commands: [lodge.command, `node ${args.map(show).join(' ')}`],
      stop,
      cpuSeconds: () => {
        const u = process.cpuUsage();
        return { lodge: processCpuSeconds(lodge.pid), hollow: processCpuSeconds(hollow.pid!), bench: (u.user + u.system) / 1e6 };
      },
      leftovers: () => [
        ...pids()
          .filter((p) => p !== process.pid && cmdline(p).join(' ').includes(lodge.dataDir))
          .map((p) => `process ${p}: ${cmdline(p).join(' ').slice(0, 120)}`),
        ...(existsSync(lodge.dataDir) ? [`data dir ${lodge.dataDir}`] : []),
      ],
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

type NodeLike = { metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } };

async function waitNodesReady(client: KubeClient, prefix: string, want: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ready = 0;
  while (Date.now() < deadline) {
    const list = await client.list<{ items: NodeLike[] }>(NODES, { labelSelector: 'lodge.dev/hollow=true' });
    ready = list.items.filter((n) => n.metadata.name.startsWith(`${prefix}-`) && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready >= want) return;
    await sleep(500);
  }
  throw new Error(`only ${ready} of ${want} hollow nodes Ready after ${timeoutMs / 1000} s`);
}

/** Peak and current resident memory of a process (VmHWM, VmRSS), sampled from /proc until stopped. */
export class RssSampler {
  peakKiB = 0;
  hwmKiB = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 500) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    try {
      const s = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN);
      const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN);
      if (Number.isFinite(rss)) this.peakKiB = Math.max(this.peakKiB, rss);
      if (Number.isFinite(hwm)) this.hwmKiB = Math.max(this.hwmKiB, hwm);
      this.samples++;
    } catch {
      /* the process is gone: keep what was seen */
    }
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
