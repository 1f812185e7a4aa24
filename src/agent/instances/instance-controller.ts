// The node agent's Instance controller: watches the Instances bound to this
// node (status.nodeName, set by the scheduler through instances/binding);
// runs each through InstanceSync on a work queue;
// looks again when a workload exits (conmon's exit files) and on a resync.
// At start it re-adopts: workloads of Instances still bound here are synced
// as they are (never duplicated), those of Instances gone are removed.
import type { InstanceNetworking } from './instance-networks.js';
import { watch, type FSWatcher } from 'node:fs';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { KubeObject } from '../../apis/types.js';
import type { KubeClient } from '../../client/index.js';
import { ClientInformer, objectKey } from '../../client/informer.js';
import { INSTANCES, SNAPSHOTS } from '../../client/refs.js';
import type { Snapshot } from '../../apis/lodge/v1alpha1/snapshot.js';
import { InstanceDisks } from './instance-disks.js';
import { WorkQueue } from '../../controllers/runtime/workqueue.js';
import type { Logger } from '../../util/log.js';
import { InstanceNotReadyError } from './container-instance.js';
import { parseInstanceId } from './ids.js';
import type { InstanceDirs } from './instance-dirs.js';
import { InstanceSync, type InstanceRuntime, type InstanceSyncDeps } from './instance-sync.js';

/** Look at every Instance again this often: a missed exit costs this much latency at most. */
const RESYNC_MS = 10_000;

export interface InstanceControllerOptions {
  client: KubeClient;
  nodeName: string;
  dirs: InstanceDirs;
  log: Logger;
  container: InstanceRuntime;
  /** The VM runtime, or why there is none (the VM driver is optional). */
  vm: () => InstanceRuntime | InstanceNotReadyError;
  /** The container driver's exit files (<root>/exits): one per exited workload, named by id. */
  exitsDir?: string;
  /** The node's networks: Instances get their addresses on them. */
  networking?: InstanceNetworking;
  /** Where the Instances' events go (InstanceSync's). */
  recorder?: InstanceSyncDeps['recorder'];
}


/** disks: the instances' disk side, for what else works on their disks under the same locks (export, import). */
export async function startInstanceController(o: InstanceControllerOptions, signal: AbortSignal): Promise<{ done: Promise<void>; disks: InstanceDisks }> {
  const log = o.log.child({ component: 'instances' });
  const queue = new WorkQueue();
  const mine = new ClientInformer(o.client, INSTANCES, { fieldSelector: `status.nodeName=${o.nodeName}` }, log);
  // Snapshots of every instance: an agent acts on those of the instances bound to it.
  const snapshots = new ClientInformer(o.client, SNAPSHOTS, {}, log);
  const snapshotsOf = (ns: string, name: string): Snapshot[] =>
    (snapshots.list() as Snapshot[]).filter((s) => s.metadata.namespace === ns && s.spec?.instanceName === name);
  const disks = new InstanceDisks({
    client: o.client,
    nodeName: o.nodeName,
    dirs: o.dirs,
    log,
    lookup: {
      instances: () => mine.list() as Instance[],
      instance: (ns, name) => mine.cache.get(`${ns}/${name}`) as Instance | undefined,
      snapshotsOf,
      snapshot: (ns, name) => snapshots.cache.get(`${ns}/${name}`) as Snapshot | undefined,
    },
  });
  const sync = new InstanceSync({
    client: o.client,
    nodeName: o.nodeName,
    dirs: o.dirs,
    log,
    runtime: (t) => (t === 'vm' ? o.vm() : o.container),
    requeueAfter: (key, ms) => queue.addAfter(key, ms),
    disks,
    networking: o.networking,
    recorder: o.recorder,
  });
  /** uid by key of what this agent runs, so an Instance gone from the API is torn down by uid. */
  const uidOf = new Map<string, string>();
  const keyOf = new Map<string, string>();
  // A copy's changes (made, flattened, gone) matter to its source too: what it may delete or merge.
  const withSource = (i: KubeObject): void => {
    queue.add(objectKey(i));
    const src = (i as Instance).spec?.source?.instanceName;
    if (src) queue.add(`${i.metadata.namespace}/${src}`);
  };
  mine.addHandlers({ onAdd: withSource, onUpdate: (_o, i) => withSource(i), onDelete: withSource });
  const ofSnapshot = (s: KubeObject): void => {
    const name = (s as Snapshot).spec?.instanceName;
    if (name) queue.add(`${s.metadata.namespace}/${name}`);
  };
  snapshots.addHandlers({ onAdd: ofSnapshot, onUpdate: (_o, s) => ofSnapshot(s), onDelete: ofSnapshot });
  const informersDone = [mine.run(signal), snapshots.run(signal)];
  await Promise.all([mine.hasSynced, snapshots.hasSynced]);

  // Re-adopt: what runs for an Instance still bound here is synced as it is; the rest goes.
  const wanted = new Set(mine.list().map((i) => String(i.metadata.uid)));
  const runtimes = [o.container, o.vm()].filter((r): r is InstanceRuntime => !(r instanceof InstanceNotReadyError));
  const held = new Set<string>(await o.dirs.list());
  for (const rt of runtimes) for (const w of await rt.driver.list()) {
    const uid = parseInstanceId(w.id);
    if (uid) held.add(uid);
  }
  for (const uid of held) {
    if (wanted.has(uid)) continue;
    log.info('removing orphaned instance', { uid });
    await sync.teardown(uid, runtimes.map((r) => r.driver)).catch((e: Error) => log.warn('orphan cleanup failed', { uid, error: e.message }));
  }
  for (const i of mine.list()) queue.add(objectKey(i));

  const run = async (key: string): Promise<void> => {
    const i = mine.cache.get(key) as Instance | undefined;
    const known = uidOf.get(key);
    if (known && known !== i?.metadata.uid) {
      // Gone from the API without passing our finalizer (removed by hand, or unbound): clean up after it.
      await sync.teardown(known);
      uidOf.delete(key);
      keyOf.delete(known);
    }
    if (!i || i.status?.nodeName !== o.nodeName) return;
    const uid = String(i.metadata.uid);
    uidOf.set(key, uid);
    keyOf.set(uid, key);
    await sync.sync(key, i);
    if (i.metadata.deletionTimestamp) {
      uidOf.delete(key);
      keyOf.delete(uid);
    }
  };

  let exits: FSWatcher | undefined;
  if (o.exitsDir) {
    try {
      exits = watch(o.exitsDir, (_ev, file) => {
        const uid = file ? parseInstanceId(String(file)) : undefined;
        const key = uid && keyOf.get(uid);
        if (key) queue.add(key);
      });
    } catch (e) {
      log.warn('cannot watch workload exits; relying on resync', { error: (e as Error).message });
    }
  }
  const resync = setInterval(() => {
    for (const i of mine.list()) queue.add(objectKey(i));
    for (const key of uidOf.keys()) queue.add(key);
  }, RESYNC_MS);
  resync.unref();
  signal.addEventListener('abort', () => {
    queue.stop();
    exits?.close();
    clearInterval(resync);
  });
  const done = Promise.all([
    queue.run(run, (key, err) => log.warn('instance sync failed', { instance: key, error: (err as Error).message }), 4),
    ...informersDone,
  ]).then(() => undefined);
  log.info('instance controller started', { node: o.nodeName });
  return { done, disks };
}
