// The node agent: registers this host as a Node, heartbeats its Lease, and
// runs the Pods bound to it through the container driver. In `lodge up` it
// runs in the API server's process and calls the ResourceService directly.
// Workloads outlive it: on start it re-adopts what the driver holds and
// removes what no Pod wants any more.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { ResourceService } from '../api/resources/resource-service.js';
import type { KubeObject } from '../apis/types.js';
import type { InformerFactory } from '../controllers/runtime/informer-factory.js';
import { cacheKey } from '../controllers/runtime/informer.js';
import { WorkQueue } from '../controllers/runtime/workqueue.js';
import type { Logger } from '../util/log.js';
import { parseContainerId } from './container-spec.js';
import { ContainerDriver } from './drivers/container/index.js';
import { Layout } from './drivers/container/layout.js';
import { defaultNodeName, probeHost } from './host-info.js';
import { ImageStore } from './images/index.js';
import { FileNodeLogs } from './logs/file-logs.js';
import type { NodeLogRegistry } from './logs/node-logs.js';
import { NodeRegistration } from './node-registration.js';
import { PodSandboxes } from './pod-sandbox.js';
import { PodWorker } from './pod-worker.js';

export interface AgentOptions {
  svc: ResourceService;
  informers: InformerFactory;
  dataDir: string;
  log: Logger;
  signal: AbortSignal;
  nodeName?: string;
  /** runc's state dir (default /run/lodge/runc). */
  runcRoot?: string;
  /** Register this node's container logs here (pods/log in the same process). */
  nodeLogs?: NodeLogRegistry;
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
  const podType = o.svc.registry.resource('', 'v1', 'pods');
  if (!podType) throw new Error('agent: the Pod kind is not registered');
  const nodeName = o.nodeName ?? defaultNodeName();
  const driverRoot = join(o.dataDir, 'runtime');
  const driver = await ContainerDriver.open({ root: driverRoot, runcRoot: o.runcRoot, logger: log });
  const images = await ImageStore.open({ root: join(o.dataDir, 'images') });
  const sandboxes = new PodSandboxes(join(o.dataDir, 'pods'));
  const layout = new Layout(driverRoot);

  const registration = new NodeRegistration(o.svc, nodeName, await probeHost(driver.runcPath), log);
  await registration.register();

  const queue = new WorkQueue();
  const worker = new PodWorker({
    svc: o.svc,
    podType,
    nodeName,
    driver,
    images,
    sandboxes,
    containersDir: layout.containersDir,
    log,
    requeueAfter: (key, ms) => queue.addAfter(key, ms),
  });

  const informer = o.informers.for(podType);
  /** Pods this agent has run, by key, so a Pod gone from the API is torn down by uid. */
  const uidOf = new Map<string, string>();
  const keyOf = new Map<string, string>();
  const mine = (p: KubeObject): boolean => !p.spec?.nodeName || p.spec.nodeName === nodeName;
  informer.addHandlers({
    onAdd: (p) => mine(p) && queue.add(cacheKey(p)),
    onUpdate: (_o, p) => mine(p) && queue.add(cacheKey(p)),
    onDelete: (p) => uidOf.has(cacheKey(p)) && queue.add(cacheKey(p)),
  });
  await informer.hasSynced;

  // Re-adopt: containers and sandboxes of Pods that no longer exist (or run elsewhere) go.
  const wanted = new Set(informer.list().filter((p) => p.spec?.nodeName === nodeName).map((p) => String(p.metadata.uid)));
  const held = new Set([...(await worker.containerIds()).map((id) => parseContainerId(id)!.podUid), ...(await sandboxes.list())]);
  for (const uid of held) {
    if (wanted.has(uid)) continue;
    log.info('removing orphaned pod workloads', { uid });
    await worker.teardown(uid).catch((e: Error) => log.warn('orphan cleanup failed', { uid, error: e.message }));
  }
  for (const p of informer.list()) if (mine(p)) queue.add(cacheKey(p));

  const sync = async (key: string): Promise<void> => {
    const pod = informer.cache.get(key);
    const known = uidOf.get(key);
    if (known && known !== pod?.metadata.uid) {
      // Gone from the API (or replaced by a new Pod of the same name) without our stop: clean up after it.
      await worker.teardown(known);
      uidOf.delete(key);
      keyOf.delete(known);
    }
    if (!pod) return;
    if (!pod.spec?.nodeName) {
      if (!pod.metadata.deletionTimestamp) await worker.bind(pod);
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;
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

  const unregisterLogs = o.nodeLogs?.register(nodeName, new FileNodeLogs(sandboxes.podsDir));
  o.signal.addEventListener('abort', () => {
    unregisterLogs?.();
    queue.stop();
    exits?.close();
    clearInterval(resync);
  });
  const done = Promise.all([
    queue.run(sync, (key, err) => log.warn('pod sync failed', { pod: key, error: (err as Error).message }), 8),
    registration.run(o.signal),
  ]).then(() => undefined);
  log.info('node agent started', { node: nodeName });
  return { nodeName, done };
}
