// The --hollow options of `lodge agent` and what runs when they are given:
// hollow nodes (a scale-test tool, as Kubernetes' kubemark) instead of this
// host's node agent, in the same process. Registered on the agent command so
// they share its connection flags (--server, --token, CA).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { KubeClient } from '../client/client.js';
import { parseQuantity } from '../apis/core/v1/quantity.js';
import { stopOnSignal } from '../cli/run-until-signal.js';
import { createLogger } from '../util/log.js';
import { startHollowAgent } from './hollow-agent.js';

/** Registration of this many nodes (and the kubelet's writes) in flight at most. */
const MAX_IN_FLIGHT = 32;

export interface HollowCliOptions {
  hollow?: string;
  hollowPrefix?: string;
  hollowCpu: string;
  hollowMemory: string;
  hollowPods: string;
  hollowCleanup?: boolean;
  nodeLeaseDuration: string;
  server: string;
}

/** "hollow-" and this host's short name, as a DNS label. */
export function defaultHollowPrefix(): string {
  const short = hostname().split('.')[0]!.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return `hollow-${short || 'host'}`.slice(0, 50).replace(/-+$/, '');
}

export function hollowOptions(cmd: Command): void {
  cmd
    .option('--hollow <n>', 'scale-test tool: register N simulated (hollow) nodes and report their Pods Running, instead of running this host\'s agent')
    .option('--hollow-prefix <name>', 'hollow node names are NAME-0000, NAME-0001, … (default: hollow-<short host name>)')
    .option('--hollow-cpu <quantity>', 'cpu capacity of each hollow node', '4')
    .option('--hollow-memory <quantity>', 'memory capacity of each hollow node', '16Gi')
    .option('--hollow-pods <n>', 'Pod capacity of each hollow node', '110')
    .option('--hollow-cleanup', 'delete the hollow Nodes (and their Leases) on exit');
}

interface ParsedHollow {
  count: number;
  prefix: string;
  cpu: string;
  memory: string;
  pods: string;
  leaseDurationSeconds: number;
}

/** The hollow options checked; an error naming the flag and why. */
export function parseHollowOptions(o: HollowCliOptions): ParsedHollow {
  const count = Number(o.hollow);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error(`--hollow must be a number of nodes from 1 to 100000, not ${JSON.stringify(o.hollow)}`);
  const prefix = o.hollowPrefix ?? defaultHollowPrefix();
  // The node name PREFIX-NNNN must be a DNS subdomain; a label here keeps it simple.
  if (!/^[a-z0-9]([a-z0-9-]{0,56}[a-z0-9])?$/.test(prefix)) throw new Error(`--hollow-prefix must be lower-case letters, digits and '-' (at most 58), starting and ending with a letter or digit, not ${JSON.stringify(prefix)}`);
  for (const [flag, v] of [['--hollow-cpu', o.hollowCpu], ['--hollow-memory', o.hollowMemory]] as const) {
    const q = parseQuantity(v);
    if (q === undefined || q <= 0) throw new Error(`${flag} must be a positive quantity such as 4 or 16Gi, not ${JSON.stringify(v)}`);
  }
  const pods = Number(o.hollowPods);
  if (!Number.isInteger(pods) || pods < 1) throw new Error(`--hollow-pods must be a whole number, at least 1, not ${JSON.stringify(o.hollowPods)}`);
  const leaseDurationSeconds = Number(o.nodeLeaseDuration);
  if (!Number.isInteger(leaseDurationSeconds) || leaseDurationSeconds < 1) throw new Error('--node-lease-duration must be a whole number of seconds, at least 1');
  return { count, prefix, cpu: o.hollowCpu, memory: o.hollowMemory, pods: String(pods), leaseDurationSeconds };
}

/** Run hollow nodes until SIGTERM/SIGINT; exits 1 with the reason when they cannot start. */
export async function runHollow(o: HollowCliOptions, connect: () => Promise<KubeClient>): Promise<void> {
  const log = createLogger({ component: 'lodge-agent-hollow' });
  const abort = new AbortController();
  let client: KubeClient | undefined;
  let agent;
  try {
    const p = parseHollowOptions(o);
    client = await connect();
    agent = await startHollowAgent({ ...p, client, log, signal: abort.signal, cleanup: Boolean(o.hollowCleanup), maxInFlight: MAX_IN_FLIGHT });
  } catch (e) {
    abort.abort();
    await client?.close();
    process.stderr.write(`lodge agent --hollow: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const names = agent.nodeNames;
  process.stdout.write(`lodge agent: ${names.length} hollow nodes ready (${names[0]} … ${names[names.length - 1]}), server ${o.server}\n`);
  const c = client;
  const done = agent.done;
  stopOnSignal(log, async () => {
    abort.abort();
    await done;
    await c.close();
  });
}
