// The node agent: registers this host as a Node, heartbeats its Lease, and
// runs the Pods bound to it through the container driver. It reaches the
// control plane only through the REST API (a KubeClient), in `lodge up`'s
// process over loopback as much as from `lodge agent` on another host.
// Workloads outlive it: on start it re-adopts what the driver holds and
// removes what no Pod wants any more.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from '../client/index.js';
import { ClientInformer, objectKey as cacheKey } from '../client/informer.js';
import { SharedInformers } from '../client/shared-informers.js';
import { PODS } from '../client/refs.js';
import { WorkQueue } from '../controllers/runtime/workqueue.js';
import type { Logger } from '../util/log.js';
import { parseContainerId } from './container-spec.js';
import { ContainerDriver } from './drivers/container/index.js';
import { Layout } from './drivers/container/layout.js';
import { defaultNodeName, probeHost } from './host-info.js';
import { ImageController } from './image-controller.js';
import { ImageStore } from './images/index.js';
import { startInstances } from './instances/index.js';
import { VmImages } from './images/vm/index.js';
import { FileNodeLogs } from './logs/file-logs.js';
import type { NodeLogRegistry } from './logs/node-logs.js';
import { DriverNodeExec } from './exec/driver-exec.js';
import { DriverNodeConsole } from './console/driver-console.js';
import type { NodeConsoleRegistry } from './console/node-console.js';
import { DeferredNodeBackup, type NodeBackupRegistry } from './backup/node-backup.js';
import { InstanceDirs } from './instances/instance-dirs.js';
import type { InstanceDriver } from './runtime/driver.js';
import type { NodeExecRegistry } from './exec/node-exec.js';
import type { NodePortForwardRegistry } from './portforward/node-port-forward.js';
import { NetworkNodePortForward } from './portforward/network-port-forward.js';
import { NodeRegistration } from './node-registration.js';
import { ClusterDns } from './dns/cluster-dns.js';
import type { Upstream } from './dns/upstream.js';
import { NodeNetworks } from './networks/node-networks.js';
import { startNetworksController } from './networks/networks-controller.js';
import { startNodeServer, type NodeServer } from './node-server/server.js';
import { ensureServingCert } from './node-server/serving-cert.js';
import { PodSandboxes } from './pod-sandbox.js';
import { PodWorker } from './pod-worker.js';
import { clientEventRecorder } from '../events/index.js';
import { startServiceProxyWhenReady } from './network/service-proxy/service-proxy.js';
import { DEFAULT_BRIDGE, DEFAULT_CLUSTER_CIDR, DEFAULT_NAT_TABLE, NodeNetwork, type NodeNetworkConfig } from './node-network.js';

export interface AgentOptions {
  client: KubeClient;
  dataDir: string;
  log: Logger;
  signal: AbortSignal;
  nodeName?: string;
  /** runc's state dir (default /run/lodge/runc). */
  runcRoot?: string;
  /** The node Lease's duration (default 40 s); it is renewed every quarter of that. */
  leaseDurationSeconds?: number;
  /**
   * Serve logs to the API server from a node server on this address (an agent
   * in its own process); its port 0 picks a free one. The address is also the
   * Node's InternalIP.
   */
  nodeServer?: { host: string; port: number };
  /** Register this node's container logs here (pods/log in the same process). */
  nodeLogs?: NodeLogRegistry;
  /** Register this node's exec source here (pods/exec in the same process). */
  nodeExec?: NodeExecRegistry;
  /** Register this node's port-forward source here (pods/portforward, instances/portforward in the same process). */
  nodePortForward?: NodePortForwardRegistry;
  /** Register this node's console source here (instances/console and instances/log in the same process). */
  nodeConsole?: NodeConsoleRegistry;
  /** Register this node's instance export/import here (instances/export and instances/import in the same process). */
  nodeBackup?: NodeBackupRegistry;
  /** pids.max of each Pod container's cgroup (the kubelet's podPidsLimit; default 4096). */
  podPidsLimit?: number;
  /** The node's bridge network (defaults: bridge lodge0, nft table lodge, cluster CIDR 10.244.0.0/16); false: workloads get loopback only. */
  network?: Partial<NodeNetworkConfig> | false;
  /** Cluster DNS: the domain (default cluster.local) and where other names are forwarded (default: the host's resolv.conf). */
  dns?: { clusterDomain?: string; upstreams?: Upstream[] };
}

/** Look at every Pod again this often: a missed exit event costs this much latency at most. */
const RESYNC_MS = 10_000;

export interface Agent {
  nodeName: string;
  /** Resolves when the agent has stopped (after the signal aborts). */
  done: Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const log = o.log.child({ component: 'agent' });
  const nodeName = o.nodeName ?? defaultNodeName();
  const driverRoot = join(o.dataDir, 'runtime');
  const driver = await ContainerDriver.open({ root: driverRoot, runcRoot: o.runcRoot, logger: log });
  // The image controller comes later (it needs the Pod informer); the store reaches it through this.
  let imageController: ImageController | undefined;
  const images = await ImageStore.open({
    root: join(o.dataDir, 'images'),
    inUse: (name) => imageController?.usersOf(name) ?? [],
    onProgress: (line) => (imageController ? imageController.progress(line) : log.info(line)),
  });
  const sandboxes = new PodSandboxes(join(o.dataDir, 'pods'));
  const layout = new Layout(driverRoot);

  const host = await probeHost(driver.runcPath);
  const registration = new NodeRegistration(o.client, nodeName, host, log, o.leaseDurationSeconds, o.nodeServer?.host);
  registration.images = async () => (await images.list()).map((r) => ({ names: [r.name, `${r.name}@${r.digest}`], sizeBytes: r.size }));
  // One VM image store for the image controller (Image status, lodge image build) and the instances (first launch).
  const vmImages = host.accelerator === 'none' ? undefined : await VmImages.open(join(o.dataDir, 'images'));
  const fileLogs = new FileNodeLogs(sandboxes.podsDir);
  const driverExec = new DriverNodeExec(driver);
  // Instance consoles: the VM driver is opened later, with the instances.
  let vmDriver: InstanceDriver | undefined;
  const instanceDirs = new InstanceDirs(join(o.dataDir, 'instances'));
  const driverConsole = new DriverNodeConsole({ container: driver, vm: () => vmDriver, logPath: (uid) => instanceDirs.consoleLog(uid) });
  // Instance export/import: served once the instances run (set below), as the VM driver is.
  const backup = new DeferredNodeBackup();
  // Port-forward reaches workloads on the bridge network, which is set up below.
  let network: NodeNetwork | undefined;
  const portForward = new NetworkNodePortForward(() => network);
  let nodeServer: NodeServer | undefined;
  if (o.nodeServer) {
    const token = o.client.config.token;
    if (!token) throw new Error('the node server needs the bearer token the agent was given, to check its callers');
    const cert = await ensureServingCert(o.dataDir, nodeName, o.nodeServer.host);
    nodeServer = await startNodeServer({ ...o.nodeServer, cert, token, nodeName, logs: fileLogs, exec: driverExec, console: driverConsole, backup, portForward, log });
    registration.endpoint = { port: nodeServer.port, caPem: cert.caPem };
  }
  await registration.register();
  // Set up as soon as the control plane gives the Node its podCIDR; workloads wait for it only when they attach.
  network =
    o.network === false
      ? undefined
      : new NodeNetwork({
          client: o.client,
          nodeName,
          dataDir: o.dataDir,
          log,
          signal: o.signal,
          bridge: o.network?.bridge ?? DEFAULT_BRIDGE,
          natTable: o.network?.natTable ?? DEFAULT_NAT_TABLE,
          clusterCidr: o.network?.clusterCidr ?? DEFAULT_CLUSTER_CIDR,
        });
  network?.start();
  // One list and watch per kind for the components that follow the same ones (Service proxy, cluster DNS).
  const informers = new SharedInformers(o.client, log, o.signal);
  // Service VIPs, NodePorts and Instance forwards (kube-proxy's job), in the same nft table once the node network is up.
  if (network && o.network !== false) startServiceProxyWhenReady(() => network!.ready(), { client: o.client, informers, nodeName, log, signal: o.signal, table: o.network?.natTable ?? DEFAULT_NAT_TABLE, bridge: o.network?.bridge ?? DEFAULT_BRIDGE });
  // The cluster's names on the gateway's port 53, and the resolv.conf every workload gets.
  const clusterDns = new ClusterDns({ client: o.client, informers, nodeName, network, clusterDomain: o.dns?.clusterDomain, upstreams: o.dns?.upstreams, log, signal: o.signal });
  const dnsRunning = clusterDns.run();
  // The user's Networks (bridges instances join besides the Pod network): made on this node as they are declared.
  const userNetworks = o.network === false ? undefined : new NodeNetworks({ dataDir: o.dataDir, natTable: o.network?.natTable ?? DEFAULT_NAT_TABLE, log });
  const networksRunning = userNetworks
    ? await startNetworksController({ client: o.client, nodeName, networks: userNetworks, podNetwork: network, podBridge: o.network === false ? undefined : (o.network?.bridge ?? DEFAULT_BRIDGE), log, signal: o.signal })
    : undefined;

  const queue = new WorkQueue();
  // The kubelet's events (Pods) and the Instances': reported as component "kubelet" from this node.
  const recorder = clientEventRecorder(o.client, { component: 'kubelet', host: nodeName, log, signal: o.signal });
  const worker = new PodWorker({
    client: o.client,
    nodeName,
    driver,
    images,
    sandboxes,
    containersDir: layout.containersDir,
    log,
    requeueAfter: (key, ms) => queue.addAfter(key, ms),
    resolveImage: (ref) => imageController!.storeName(ref),
    podPidsLimit: o.podPidsLimit,
    hostIP: o.nodeServer?.host,
    signal: o.signal,
    network,
    dns: clusterDns,
    recorder,
  });

  // The Pods bound to this node (by the scheduler, through pods/binding).
  const informer = new ClientInformer(o.client, PODS, { fieldSelector: `spec.nodeName=${nodeName}` }, log);
  /** Pods this agent has run, by key, so a Pod gone from the API is torn down by uid. */
  const uidOf = new Map<string, string>();
  const keyOf = new Map<string, string>();
  informer.addHandlers({
    onAdd: (p) => queue.add(cacheKey(p)),
    onUpdate: (_o, p) => queue.add(cacheKey(p)),
    onDelete: (p) => queue.add(cacheKey(p)),
  });
  const informersDone = [informer.run(o.signal)];
  await informer.hasSynced;
  imageController = new ImageController({ client: o.client, nodeName, images, log, pods: () => informer.list(), vmImages, dataDir: o.dataDir });
  const imagesRunning = await imageController.start(o.signal);
  // Instances (system containers, VMs): their own controller, on the same container driver and image store.
  const instancesRunning = await startInstances({
    client: o.client,
    nodeName,
    dataDir: o.dataDir,
    containerDriver: driver,
    images,
    vmImages,
    storeName: (ref) => imageController!.storeName(ref),
    exitsDir: layout.exitsDir,
    log,
    signal: o.signal,
    networking: { pod: network, user: userNetworks, network: (name) => networksRunning?.get(name) },
    dns: clusterDns,
    recorder,
  });
  // VM Instances run in the VM driver, opened by the instance code: exec reaches them through it (their guest agent).
  const removeVmExec = instancesRunning.vmDriver ? driverExec.addDriver(instancesRunning.vmDriver) : undefined;
  vmDriver = instancesRunning.vmDriver;
  backup.set(instancesRunning.backup);

  // Re-adopt: containers and sandboxes of Pods that no longer exist (or run elsewhere) go.
  const wanted = new Set(informer.list().map((p) => String(p.metadata.uid)));
  const held = new Set([...(await worker.containerIds()).map((id) => parseContainerId(id)!.podUid), ...(await sandboxes.list())]);
  for (const uid of held) {
    if (wanted.has(uid)) continue;
    log.info('removing orphaned pod workloads', { uid });
    await worker.teardown(uid).catch((e: Error) => log.warn('orphan cleanup failed', { uid, error: e.message }));
  }
  for (const p of informer.list()) queue.add(cacheKey(p));
  // Addresses whose Pod or Instance left no trace on this node (a crash between release and removal): given back, in the background.
  if (network) {
    void (async () => {
      const owners = await network.owners();
      const live = new Set([...wanted, ...(await sandboxes.list()), ...(await instanceDirs.list())]);
      for (const owner of owners) if (!live.has(owner)) await network.release(owner);
      // Interfaces on user Networks are held per "<uid>/<ifname>".
      for (const uid of (await userNetworks?.holders()) ?? []) if (!live.has(uid)) await userNetworks!.release(uid);
    })().catch((e: Error) => log.warn('releasing orphaned addresses failed', { error: e.message }));
  }

  const sync = async (key: string): Promise<void> => {
    const pod = informer.cache.get(key);
    const known = uidOf.get(key);
    if (known && known !== pod?.metadata.uid) {
      // Gone from the API (or replaced by a new Pod of the same name) without our stop: clean up after it.
      await worker.teardown(known);
      uidOf.delete(key);
      keyOf.delete(known);
    }
    if (!pod || pod.spec?.nodeName !== nodeName) return;
    const uid = String(pod.metadata.uid);
    uidOf.set(key, uid);
    keyOf.set(uid, key);
    if (pod.metadata.deletionTimestamp) {
      await worker.terminate(pod);
      uidOf.delete(key);
      keyOf.delete(uid);
      return;
    }
    await worker.run(key, pod);
  };

  // conmon writes <exits>/<id> when a container ends: look at its Pod at once.
  let exits: FSWatcher | undefined;
  try {
    exits = watch(layout.exitsDir, (_ev, file) => {
      const parsed = file ? parseContainerId(String(file)) : undefined;
      const key = parsed && keyOf.get(parsed.podUid);
      if (key) queue.add(key);
    });
  } catch (e) {
    log.warn('cannot watch container exits; relying on resync', { error: (e as Error).message });
  }
  const resync = setInterval(() => {
    for (const key of uidOf.keys()) queue.add(key);
  }, RESYNC_MS);
  resync.unref();

  const unregisterLogs = o.nodeLogs?.register(nodeName, fileLogs);
  const unregisterExec = o.nodeExec?.register(nodeName, driverExec);
  const unregisterConsole = o.nodeConsole?.register(nodeName, driverConsole);
  const unregisterPortForward = o.nodePortForward?.register(nodeName, portForward);
  const unregisterBackup = o.nodeBackup?.register(nodeName, backup);
  o.signal.addEventListener('abort', () => {
    unregisterLogs?.();
    unregisterExec?.();
    unregisterConsole?.();
    unregisterPortForward?.();
    unregisterBackup?.();
    removeVmExec?.();
    void nodeServer?.close();
    queue.stop();
    exits?.close();
    clearInterval(resync);
  });
  const done = Promise.all([
    // Events still being written when the agent stops are written before it is done.
    new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve(), { once: true })).then(() => recorder.flush()),
    queue.run(sync, (key, err) => log.warn('pod sync failed', { pod: key, error: (err as Error).message }), 8),
    registration.run(o.signal),
    ...informersDone,
    imagesRunning.done,
    instancesRunning.done,
    dnsRunning,
    networksRunning?.done,
  ]).then(() => undefined);
  log.info('node agent started', { node: nodeName });
  return { nodeName, done };
}
