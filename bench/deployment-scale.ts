// A Deployment of 10,000 replicas on 1,000 hollow nodes: a real `lodge up
// --no-agent` and `lodge agent --hollow 1000` (a scale-test tool: the nodes
// run nothing, they report their Pods Running), then one Deployment with
// nodeSelector lodge.dev/hollow=true, timed until status.availableReplicas
// reaches 10,000 and until all its Pods are Running (one watch). Meanwhile:
//   - `lodge up`'s resident memory, sampled from /proc (VmRSS, VmHWM): its
//     peak, against k3s' documented server memory (quoted, not measured);
//   - a side client's API latencies, 20 calls/s per stream: single-object
//     GETs (a Pod, a Node) and mutating calls (create and delete a ConfigMap,
//     patch a label), p50/p99 against Kubernetes' SLOs (≤ 1 s p99 for both)
//     and Lodge's goal of 10× better (≤ 100 ms p99).
//
//   node dist/bench/deployment-scale.js [--nodes 1000] [--replicas 10000] [--rate 20] [--no-write]
//
// Everything started is stopped by PID and its data dir removed; the run ends
// with a check that no process of it is left. Nothing here asserts a timing.
import { loadavg } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/apis/types.js';
import type { ResourceRef } from '../src/client/paths.js';
import { CONFIGMAPS, PODS } from '../src/client/refs.js';
import { commandLine, RESULTS_MD } from './api.js';
import { intArg } from './lib/args.js';
import { cpuSince, formatCpu, RssSampler, startHollowCluster, type CpuSeconds, type HollowCluster } from './lib/hollow-cluster.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { PodTracker } from './lib/pod-tracker.js';
import { writeSection } from './lib/results-md.js';
import { MUTATING_KINDS, READ_KINDS, SideClient, type CallKind } from './lib/side-client.js';
import { scrapeSli, sliBetween, type SliFigures } from './lib/apiserver-sli.js';
import type { Summary } from './lib/stats.js';
import { cleanupLine } from './scheduler.js';

export const SECTION = 'Scale — Deployment of 10,000 replicas on 1,000 hollow nodes';
const NS = 'deploy-bench';
const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true, kind: 'Deployment' };
/** k3s' documented minimum RAM of a server with a workload, Kine/SQLite (quoted, see the notes). */
export const K3S_SERVER_MIB = 768;
export const SLO_P99_MS = 1000;
export const GOAL_P99_MS = 100;
/** The side client runs at least this long, so a run that finishes quickly still has latency samples. */
const MIN_SIDE_MS = 2000;

export interface DeploymentScaleOptions {
  nodes: number;
  replicas: number;
  /** Side-client calls per second per stream. */
  rate: number;
  log: (line: string) => void;
}

export const DEFAULTS: Omit<DeploymentScaleOptions, 'log'> = { nodes: 1000, replicas: 10_000, rate: 20 };

export interface DeploymentScaleResult {
  nodes: number;
  replicas: number;
  registerMs: number;
  availableMs: number;
  allRunningMs: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  hwmKiB: number;
  latency: Array<{ kind: CallKind | 'single-object reads' | 'mutating'; s: Summary }>;
  /** Kubernetes' SLIs from the server's own histogram over the run (every client's calls, TLS setup not included). */
  sli: SliFigures;
  sideErrors: number;
  /** The first failure of each kind of side call. */
  sideFirstErrors: string[];
  /** CPU seconds each process used from the Deployment's creation to all Running. */
  cpu: CpuSeconds;
  commands: string[];
  /** Load average (1/5/15 min) at the end: other work on this machine shares its cores. */
  load: number[];
  leftovers: string[];
}

function deployment(replicas: number): KubeObject {
  const labels = { app: 'scale' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'scale', namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { nodeSelector: { 'lodge.dev/hollow': 'true' }, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
      },
    },
  };
}

/** Resolves with performance.now() of the event where the Deployment first reports `replicas` available. */
async function untilAvailable(cluster: HollowCluster, replicas: number, timeoutMs: number): Promise<number> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let last = 0;
  try {
    for (;;) {
      for await (const ev of cluster.client.watch(DEPLOYMENTS, { namespace: NS, fieldSelector: 'metadata.name=scale', timeoutSeconds: 600, signal: abort.signal })) {
        if (ev.type === 'ERROR') throw new Error(`deployment watch: ${ev.object.message}`);
        last = Number(ev.object.status?.availableReplicas ?? 0);
        if (last >= replicas) return performance.now();
      }
    }
  } catch (e) {
    if (abort.signal.aborted) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${replicas} available replicas (${last} available)`);
    throw e;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

export async function runDeploymentScaleBench(o: DeploymentScaleOptions): Promise<DeploymentScaleResult> {
  let cluster: HollowCluster | undefined;
  let tracker: PodTracker | undefined;
  let side: SideClient | undefined;
  let rss: RssSampler | undefined;
  let result: Omit<DeploymentScaleResult, 'leftovers'>;
  try {
    o.log(`starting lodge up --no-agent and ${o.nodes} hollow nodes`);
    cluster = await startHollowCluster({ nodes: o.nodes, log: o.log });
    const { client } = cluster;
    await client.requestJson({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
    // The side client's targets: a Pod bound to the first hollow node (not the Deployment's), a Node, a ConfigMap.
    const node = `${cluster.prefix}-0000`;
    await client.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe', namespace: NS }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] } });
    await client.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: NS }, data: { k: 'v' } });
    tracker = await PodTracker.start(client, NS);
    rss = new RssSampler(cluster.lodge.pid);
    const rssBeforeKiB = rss.peakKiB;
    side = new SideClient(cluster.lodge, { namespace: NS, pod: 'probe', node, configMap: 'probe' }, o.rate);
    side.start();

    o.log(`creating a Deployment of ${o.replicas} replicas`);
    const sli0 = await scrapeSli(client);
    const cpu0 = cluster.cpuSeconds();
    const t0 = performance.now();
    await client.create(DEPLOYMENTS, deployment(o.replicas));
    const available = await untilAvailable(cluster, o.replicas, 1_200_000);
    o.log(`${o.replicas} available after ${((available - t0) / 1000).toFixed(1)} s; waiting for all Running`);
    const t = tracker;
    // The probe Pod is Running too: the Deployment's Pods are the others.
    await t.until(`${o.replicas} Pods Running`, () => t.running.size >= o.replicas + 1, 300_000, () => `${t.running.size - 1} Running`);
    const allRunningMs = t.lastRunningAt - t0;
    const cpu = cpuSince(cpu0, cluster.cpuSeconds());
    await side.stop(MIN_SIDE_MS);
    const sli = sliBetween(sli0, await scrapeSli(client));
    rss.stop();
    result = {
      nodes: o.nodes,
      replicas: o.replicas,
      registerMs: cluster.registerMs,
      availableMs: available - t0,
      allRunningMs,
      rssBeforeKiB,
      rssPeakKiB: rss.peakKiB,
      hwmKiB: rss.hwmKiB,
      latency: [
        ...[...READ_KINDS, ...MUTATING_KINDS].map((kind) => ({ kind, s: side!.summary([kind]) })),
        { kind: 'single-object reads' as const, s: side.summary(READ_KINDS) },
        { kind: 'mutating' as const, s: side.summary(MUTATING_KINDS) },
      ],
      sli,
      sideErrors: side.errors,
      sideFirstErrors: [...side.firstErrors].map(([kind, message]) => `${kind}: ${message}`),
      cpu,
      commands: cluster.commands,
      load: loadavg(),
    };
  } finally {
    rss?.stop();
    await side?.stop().catch(() => undefined);
    await tracker?.close();
    await cluster?.stop();
  }
  return { ...result, leftovers: cluster.leftovers() };
}

const f1 = (x: number): string => x.toFixed(1);
const mib = (kib: number): string => `${Math.round(kib / 1024)} MiB`;
const ms = (x: number): string => (x < 10 ? x.toFixed(1) : Math.round(x).toString());
const verdict = (p99: number, limit: number): string => (p99 <= limit ? 'PASS' : 'FAIL');

type Row = [string, string, string, string];

function rows(r: DeploymentScaleResult): Row[] {
  const peak = Math.max(r.hwmKiB, r.rssPeakKiB);
  return [
    [`${r.nodes} hollow nodes registered`, `${f1(r.registerMs / 1000)} s`, '', ''],
    [`Deployment created → ${r.replicas} available`, `${f1(r.availableMs / 1000)} s`, '', ''],
    [`Deployment created → all ${r.replicas} Pods Running (watch)`, `${f1(r.allRunningMs / 1000)} s`, '', ''],
    ['lodge up RSS before the Deployment', mib(r.rssBeforeKiB), '', ''],
    ['lodge up peak RSS (VmHWM)', mib(peak), `k3s server: ${K3S_SERVER_MIB} MiB (quoted)`, `${(peak / 1024 / K3S_SERVER_MIB).toFixed(2)}× k3s`],
    [`SLI (server histogram): single-object reads p50 / p99 (${r.sli.reads.n} calls)`, `${ms(r.sli.reads.p50)} / ${ms(r.sli.reads.p99)} ms`, `SLO ≤ ${SLO_P99_MS} ms: ${verdict(r.sli.reads.p99, SLO_P99_MS)}; goal ≤ ${GOAL_P99_MS} ms`, verdict(r.sli.reads.p99, GOAL_P99_MS)],
    [`SLI (server histogram): mutating calls p50 / p99 (${r.sli.mutating.n} calls)`, `${ms(r.sli.mutating.p50)} / ${ms(r.sli.mutating.p99)} ms`, `SLO ≤ ${SLO_P99_MS} ms: ${verdict(r.sli.mutating.p99, SLO_P99_MS)}; goal ≤ ${GOAL_P99_MS} ms`, verdict(r.sli.mutating.p99, GOAL_P99_MS)],
    ...r.latency.map((l): Row => [`side client (its own connections, TLS included): ${l.kind} p50 / p99 (${l.s.n} calls)`, `${ms(l.s.p50)} / ${ms(l.s.p99)} ms`, '', '']),
  ];
}

function notes(r: DeploymentScaleResult): string[] {
  return [
    `CPU time from the Deployment's creation to all Running: ${formatCpu(r.cpu)}.`,
    `Load average (1/5/15 min) at the end: ${r.load.map((x) => x.toFixed(2)).join(' / ')} on ${machineInfo().nproc} cores (other work on this machine shares them).`,
    `Side-client errors: ${r.sideErrors}${r.sideFirstErrors.length ? ` (first of each kind: ${r.sideFirstErrors.join('; ')})` : ''}.`,
    "The SLI rows are Kubernetes' definition: the server's apiserver_request_duration_seconds (from the request reaching the handler to the response; watches and streams left out) over every client's calls between two scrapes of /metrics — single-object reads are GETs of one object, mutating calls single-object creates, updates, patches and deletes (here mostly the hollow kubelets' status writes). The side-client rows are what one more client saw end to end: its pool opens new connections when its calls overlap, and a TLS handshake needs several turns of the one event loop that the 10,000-Pod load keeps busy, so its tail is connection setup, not request handling.",
    "Peers (quoted, not measured): k3s' resource-profiling page gives 768 M minimum RAM for a K3s server with a workload on Kine/SQLite (K3s 1.19 era; the page for K3s v1.26.5 gives 1596 M) — a single-node cluster with a small workload, not 1,000 nodes and 10,000 Pods. Kubernetes' API call latency SLOs: mutating calls ≤ 1 s p99, single-object reads ≤ 1 s p99 (per cluster-day); Lodge's goal is 10× better (≤ 100 ms p99).",
  ];
}

export function formatReport(r: DeploymentScaleResult): string {
  const all = rows(r);
  const head: Row = ['figure', 'value', 'target', 'result'];
  const w = [0, 1, 2, 3].map((i) => Math.max(...[head, ...all].map((row) => row[i].length)));
  const line = (c: Row): string => c.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), ...all.map(line), '', ...notes(r), '', cleanupLine(r.leftovers)].join('\n');
}

export function resultsSection(r: DeploymentScaleResult, command: string, o: Pick<DeploymentScaleOptions, 'rate'>): string {
  return [
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${describeMachine(machineInfo())}.`,
    '',
    `Command: \`${command}\` — runs \`${r.commands.join('` and `')}\`. One Deployment (busybox, requests 100m CPU / 64Mi, nodeSelector lodge.dev/hollow=true); a side client with its own connections makes ${o.rate} calls/s per stream (GET a Pod, GET a Node, create+delete a ConfigMap, merge-patch a ConfigMap's label) from the Deployment's creation until all its Pods are Running; memory sampled from /proc every 0.5 s.`,
    '',
    '| figure | value | target | result |',
    '|---|---|---|---|',
    ...rows(r).map((row) => `| ${row.join(' | ')} |`),
    '',
    ...notes(r).map((n) => `- ${n}`),
  ].join('\n');
}

export function parseDeploymentScaleArgs(argv: string[], log: (l: string) => void): { opts: DeploymentScaleOptions; write: boolean } {
  // Not strict: `npm run bench` hands every bench the same arguments.
  const { values } = parseArgs({ args: argv, options: { nodes: { type: 'string' }, replicas: { type: 'string' }, rate: { type: 'string' }, 'no-write': { type: 'boolean' } }, strict: false });
  return {
    write: !values['no-write'],
    opts: {
      nodes: intArg(values.nodes, DEFAULTS.nodes, 'nodes'),
      replicas: intArg(values.replicas, DEFAULTS.replicas, 'replicas'),
      rate: intArg(values.rate, DEFAULTS.rate, 'rate'),
      log,
    },
  };
}

export async function deploymentScaleMain(argv: string[], command: string): Promise<void> {
  const log = (l: string): void => void process.stderr.write(`bench deployment-scale: ${l}\n`);
  const { opts, write } = parseDeploymentScaleArgs(argv, log);
  const res = await runDeploymentScaleBench(opts);
  process.stdout.write(`\nLodge Deployment at scale on hollow nodes — ${describeMachine(machineInfo())}\n\n${formatReport(res)}\n`);
  if (write) {
    writeSection(RESULTS_MD, SECTION, resultsSection(res, command, opts));
    process.stdout.write(`\nwrote ${relative(process.cwd(), RESULTS_MD) || RESULTS_MD}\n`);
  }
  if (res.leftovers.length) throw new Error(`left behind: ${res.leftovers.join('; ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  deploymentScaleMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench deployment-scale: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
