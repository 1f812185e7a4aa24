// `lodge up`: the single-host control plane in one process — store, API
// server and controllers, wired over the same interfaces a cluster uses.
import { setMaxListeners } from 'node:events';
import { copyFile, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SchemaValidator } from '../api/admission/schema-validator.js';
import { startApiServer } from '../api/http/server.js';
import { ResourceService } from '../api/resources/resource-service.js';
import { registry as defaultRegistry } from '../apis/registry.js';
import { KubeClient } from '../client/client.js';
import { writeKubeconfig } from '../client/kubeconfig.js';
import { runGarbageCollector } from '../controllers/garbage-collector.js';
import { runEndpointsController } from '../controllers/endpoints-controller.js';
import { runEndpointSliceController } from '../controllers/endpointslice-controller.js';
import { ServiceAllocator } from '../api/allocation/service-allocator.js';
import { runNamespaceController } from '../controllers/namespace-controller.js';
import { runResourceQuotaController } from '../controllers/resourcequota-controller.js';
import { installQuotaAdmission } from '../api/admission/quota/install.js';
import { bootstrapPriorityClasses, installPriorityAdmission } from '../api/admission/priority.js';
import { runNodeLifecycleController } from '../controllers/node-lifecycle-controller.js';
import { runSnapshotScheduleController } from '../controllers/snapshot-schedule-controller.js';
import { runJobController } from '../controllers/job-controller.js';
import { runCronJobController } from '../controllers/cronjob-controller.js';
import { runReplicaSetController } from '../controllers/replicaset-controller.js';
import { runDeploymentController } from '../controllers/deployment-controller.js';
import { runEventTtlController } from '../controllers/event-ttl-controller.js';
import { runDaemonSetController } from '../controllers/daemonset-controller.js';
import { runTaintEvictionController } from '../controllers/taint-eviction-controller.js';
import { runDisruptionController } from '../controllers/disruption-controller.js';
import { checkClusterCidr, DEFAULT_CLUSTER_CIDR, runNodeIpamController } from '../controllers/node-ipam-controller.js';
import { InformerFactory, type ControllerContext } from '../controllers/runtime/informer-factory.js';
import { LeaderElector, leaderIdentity, type LeaderElectionTiming } from '../controllers/runtime/leader-election.js';
import { runScheduler } from '../scheduler/scheduler.js';
import { serviceEventRecorder } from '../events/index.js';
import { startAgent, type Agent } from '../agent/agent.js';
import { NodeLogRegistry } from '../agent/logs/node-logs.js';
import { NodeExecRegistry } from '../agent/exec/node-exec.js';
import { RemoteNodeExec } from '../api/nodes/remote-node-exec.js';
import { NodePortForwardRegistry } from '../agent/portforward/node-port-forward.js';
import { RemoteNodePortForward } from '../api/portforward/remote-node-port-forward.js';
import { RemoteNodeLogs } from '../api/nodes/remote-node-logs.js';
import { NodeConsoleRegistry } from '../agent/console/node-console.js';
import { RemoteNodeConsole } from '../api/nodes/remote-node-console.js';
import { NodeBackupRegistry } from '../agent/backup/node-backup.js';
import { RemoteNodeBackup } from '../api/nodes/remote-node-backup.js';
import type { KubeObject } from '../apis/types.js';
import { ensurePki } from '../pki/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Logger } from '../util/log.js';
import { bootstrapClusterDnsService, bootstrapNamespaces } from './bootstrap.js';
import type { Upstream } from '../agent/dns/upstream.js';
import { bootstrapDefaultNetwork } from './bootstrap-network.js';
import { enabledControllers, type ControllerName } from './controller-set.js';
import { startCompactor } from './compactor.js';

export const DEFAULT_DATA_DIR = '/var/lib/lodge';
export const DEFAULT_LISTEN = '127.0.0.1:6443';

export interface UpOptions {
  dataDir: string;
  listen: string;
  log: Logger;
  /** Copy the kubeconfig to ~/.lodge/kubeconfig (default: when dataDir is the default). */
  copyKubeconfig?: boolean;
  /** Compaction interval (default 5 minutes). */
  compactIntervalMs?: number;
  /** Run this host's node agent in the same process (default true). */
  agent?: boolean;
  /** Node name for the agent (default: the hostname). */
  nodeName?: string;
  /** pids.max of each Pod container (the agent's podPidsLimit; default 4096). */
  podPidsLimit?: number;
  /** How long a node's Lease may go unrenewed before it is Unknown and tainted unreachable (default 40 s). */
  nodeMonitorGraceMs?: number;
  /** Run the scheduler (default true). */
  scheduler?: boolean;
  /** Leader election of the controllers and the scheduler through Leases (default on, Kubernetes' timing); false: act without a Lease. */
  leaderElection?: Partial<LeaderElectionTiming> | false;
  /** Which controllers run (kube-controller-manager's --controllers): default all ("*"). */
  controllers?: string[];
  /** Range Service cluster IPs come from (default 10.96.0.0/12, as Kubernetes). */
  serviceCIDR?: string;
  /** Range of Service node ports, "MIN-MAX" (default 30000-32767). */
  serviceNodePortRange?: string;
  /** Range every node's podCIDR (a /24) is taken from (default 10.244.0.0/16, as kubeadm's flannel default). */
  clusterCIDR?: string;
  /** This host's node network: its bridge (default lodge0) and nft table (default lodge); false: loopback only. */
  network?: { bridge?: string; natTable?: string } | false;
  /** This host's cluster DNS: its domain (default cluster.local) and where it forwards other names (default: the host's resolv.conf). */
  dns?: { clusterDomain?: string; upstreams?: Upstream[] };
}

export interface ControlPlane {
  url: string;
  kubeconfig: string;
  service: ResourceService;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new Error(`--listen port out of range: ${port}`);
  return { host: m[1] || '127.0.0.1', port };
}

export async function startControlPlane(o: UpOptions): Promise<ControlPlane> {
  const dataDir = resolve(o.dataDir);
  const { host, port } = parseListen(o.listen);
  const clusterCIDR = o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR;
  // Checked before anything starts: a bad range would leave every node waiting for a podCIDR.
  checkClusterCidr(clusterCIDR);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pki = await ensurePki(dataDir, [host]);
  const store = SqliteStore.open(join(dataDir, 'store.db'));
  const registry = defaultRegistry();
  const validator = new SchemaValidator(registry);
  const service = new ResourceService(store, registry, validator);
  let allocator: ServiceAllocator;
  try {
    allocator = new ServiceAllocator(store, { serviceCIDR: o.serviceCIDR, nodePortRange: o.serviceNodePortRange, log: o.log });
    // Before anything is served: allocations agree with the stored Services (a crash may have left them apart).
    await allocator.repair();
  } catch (e) {
    await store.close();
    throw e;
  }
  service.useAllocator(registry.resource('', 'v1', 'services')!, allocator);
  // Pods' and Instances' priority from their PriorityClass, before quota (which may charge by class).
  installPriorityAdmission(service, store);
  // After the Service allocator: LimitRange defaults, then quota charges, on every namespaced kind.
  const quota = installQuotaAdmission(service, store);
  await bootstrapNamespaces(service);
  await bootstrapPriorityClasses(service);
  // The 10th address of the range, as kubeadm gives CoreDNS (10.96.0.10 by default); agents read it from the Service.
  await bootstrapClusterDnsService(service, allocator.range.at(10), o.log);
  await bootstrapDefaultNetwork(service, clusterCIDR, o.log);

  const nodeType = registry.resource('', 'v1', 'nodes')!;
  const getNode = async (name: string): Promise<KubeObject | undefined> => (await service.tryGet(nodeType, undefined, name))?.obj;
  // Agents in other processes serve logs and exec from their node servers; the API server calls them with its admin token.
  const nodeLogs = new NodeLogRegistry(new RemoteNodeLogs(getNode, pki.token));
  const nodeExec = new NodeExecRegistry(new RemoteNodeExec(getNode, pki.token));
  const nodePortForward = new NodePortForwardRegistry(new RemoteNodePortForward(getNode, pki.token));
  const nodeConsole = new NodeConsoleRegistry(new RemoteNodeConsole(getNode, pki.token));
  const nodeBackup = new NodeBackupRegistry(new RemoteNodeBackup(getNode, pki.token));
  const server = await startApiServer({
    host,
    port,
    tls: { key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caPem },
    token: pki.token,
    service,
    registry,
    log: o.log,
    nodeLogs,
    nodeExec,
    nodePortForward,
    nodeConsole,
    nodeBackup,
  });
  const kubeconfig = join(dataDir, 'kubeconfig');
  // Listening on every address: clients on this host reach it on loopback.
  const reachable = host === '0.0.0.0' || host === '::' ? server.url.replace(/^https:\/\/[^/]+:/, 'https://127.0.0.1:') : server.url;
  await writeKubeconfig(kubeconfig, { server: reachable, caPem: pki.caPem, token: pki.token, contextName: 'lodge' });
  if (o.copyKubeconfig ?? dataDir === DEFAULT_DATA_DIR) {
    const dir = join(homedir(), '.lodge');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await copyFile(kubeconfig, join(dir, 'kubeconfig'));
  }

  const abort = new AbortController();
  // Every informer and controller listens on this one signal (or on a leadership term's, below).
  setMaxListeners(0, abort.signal);
  allocator.runRepairLoop(abort.signal);
  const enabled = [...enabledControllers(o.controllers)];
  // One list+watch (and one decoded copy) per kind for the controllers and the scheduler, through every leadership term.
  const sharedInformers = new InformerFactory(service, o.log, abort.signal);
  /** The controllers, on their own informers, until `signal` aborts (the process stops, or leadership is lost). */
  const runControllers = async (signal: AbortSignal): Promise<void> => {
    setMaxListeners(0, signal);
    const informers = sharedInformers.scoped(signal);
    const ctx: ControllerContext = { svc: service, registry, informers, log: o.log, signal };
    const start: Record<ControllerName, () => Promise<void>> = {
      endpoints: () => runEndpointsController(ctx),
      endpointslice: () => runEndpointSliceController(ctx),
      namespace: () => runNamespaceController(ctx),
      garbagecollector: () => runGarbageCollector(ctx),
      nodelifecycle: () => runNodeLifecycleController(ctx, { graceMs: o.nodeMonitorGraceMs }),
      nodeipam: () => runNodeIpamController(ctx, { clusterCIDR }),
      'snapshot-schedule': () => runSnapshotScheduleController(ctx),
      replicaset: () => runReplicaSetController(ctx),
      deployment: () => runDeploymentController(ctx),
      daemonset: () => runDaemonSetController(ctx),
      job: () => runJobController(ctx),
      cronjob: () => runCronJobController(ctx),
      resourcequota: () => runResourceQuotaController(ctx, quota),
      eventttl: () => runEventTtlController(ctx),
      'taint-eviction-controller': () => runTaintEvictionController(ctx),
      disruption: () => runDisruptionController(ctx),
    };
    await Promise.allSettled(enabled.map((name) => start[name]()));
    await informers.stopped();
  };
  const runSchedulerTerm = async (signal: AbortSignal): Promise<void> => {
    setMaxListeners(0, signal);
    const informers = sharedInformers.scoped(signal);
    const events = serviceEventRecorder(service, { component: 'default-scheduler', log: o.log, signal });
    await runScheduler({ svc: service, registry, informers, log: o.log, signal }, { events }).catch((e: Error) => o.log.error('scheduler failed', { error: e.message }));
    await events.flush();
    await informers.stopped();
  };
  // Controllers and the scheduler act only while this process holds their Lease (kube-system/lodge-controller-manager,
  // kube-system/lodge-scheduler): several control planes may share one store, and one of each acts.
  const leaderElect = o.leaderElection !== false;
  const identity = leaderIdentity();
  const elected = (name: string, run: (signal: AbortSignal) => Promise<void>): Promise<void> =>
    leaderElect ? new LeaderElector({ svc: service, log: o.log, name, identity, timing: o.leaderElection || undefined }).run(abort.signal, run) : run(abort.signal);
  const controllers = [elected('lodge-controller-manager', runControllers)];
  if (o.scheduler !== false) controllers.push(elected('lodge-scheduler', runSchedulerTerm));
  validator.warmUp(registry.kinds);
  const compactor = startCompactor(store, o.log, o.compactIntervalMs);
  let agent: Agent | undefined;
  let agentClient: KubeClient | undefined;
  if (o.agent ?? true) {
    try {
      // The agent talks to this API server as a remote agent would: over HTTPS, on loopback.
      agentClient = new KubeClient({ server: reachable, caPem: pki.caPem, token: pki.token, timeoutMs: 30_000, source: 'lodge up (node agent)' });
      agent = await startAgent({ client: agentClient, dataDir, log: o.log, signal: abort.signal, nodeName: o.nodeName, nodeLogs, nodeExec, nodePortForward, nodeConsole, nodeBackup, podPidsLimit: o.podPidsLimit, network: o.network === false ? false : { ...o.network, clusterCidr: clusterCIDR }, dns: o.dns });
    } catch (e) {
      abort.abort();
      compactor.stop();
      await agentClient?.close();
      await server.close();
      await Promise.allSettled(controllers);
      await sharedInformers.stopped();
      await store.close();
      throw new Error(`node agent: ${(e as Error).message}`);
    }
  }

  return {
    url: server.url,
    kubeconfig,
    service,
    close: async () => {
      abort.abort();
      compactor.stop();
      // The agent finishes its current sync (it may still write a status) before the server goes.
      await agent?.done.catch(() => undefined);
      await agentClient?.close();
      await server.close();
      await Promise.allSettled(controllers);
      await sharedInformers.stopped();
      await store.close();
    },
  };
}
