// The disk side of an Instance on its node, for InstanceSync: its
// snapshots (taking, deleting, reporting them), restores, copies (lodge
// copy: linked or full) and flattening, over the storage stores
// (storage/vm-disk-store.ts, storage/container-layer-store.ts). Everything
// here is level-triggered like the rest of the sync: a Snapshot object not
// yet Ready is taken, one being deleted is removed, a restore or flatten
// request not yet handled is acted on, once.
//
// Operations on one instance's disk are serialized by a lock per uid: a
// copy's sync may freeze its source's top while the source's own sync
// takes a snapshot.
import { IMPORTING, SNAPSHOT_FINALIZER } from '../../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { Snapshot } from '../../apis/lodge/v1alpha1/snapshot.js';
import type { KubeObject } from '../../apis/types.js';
import type { KubeClient } from '../../client/index.js';
import { hasStatus } from '../../client/errors.js';
import { SNAPSHOTS } from '../../client/refs.js';
import type { Logger } from '../../util/log.js';
import type { WorkloadState } from '../runtime/driver.js';
import { ContainerLayerStore, type LiveContainer } from '../storage/container-layer-store.js';
import type { SnapshotRecord } from '../storage/storage-record.js';
import { SnapshotError, VmDiskStore, type Live, type LiveVmDisk } from '../storage/vm-disk-store.js';
import { rfc3339 } from '../../api/resources/clock.js';
import { instanceId } from './ids.js';
import type { InstanceDirs } from './instance-dirs.js';
import { MANAGER } from './instance-status.js';

/** What the runtimes offer the disks of running instances beyond InstanceDriver. */
export interface DiskRuntime {
  /** VMs: the driver's QMP-backed disk operations. */
  vmDisk?: LiveVmDisk;
  /** Containers: pause/resume and CRIU. */
  container?: {
    pause(id: string): Promise<void>;
    resume(id: string): Promise<void>;
    checkpoint(id: string, imageDir: string, opts: { leaveRunning: boolean }): Promise<void>;
    /** Why CRIU cannot be used here, or undefined when it can. */
    criuProblem(): Promise<string | undefined>;
  };
}

/** The agent's view of the cluster objects it needs (its informer caches). */
export interface DiskLookup {
  /** Instances bound to this node. */
  instances(): Instance[];
  instance(namespace: string, name: string): Instance | undefined;
  snapshotsOf(namespace: string, instanceName: string): Snapshot[];
  snapshot(namespace: string, name: string): Snapshot | undefined;
}

const isVm = (i: Instance): boolean => i.spec?.type === 'vm';
const ref = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;

export class InstanceDisks {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly recovered = new Set<string>();
  /** Copies whose disk is made: nothing to look up for them again. */
  private readonly copied = new Set<string>();

  constructor(
    private readonly d: { client: KubeClient; nodeName: string; dirs: InstanceDirs; log: Logger; lookup: DiskLookup },
  ) {}

  /** Run fn with the disk of instance uid to itself. */
  async withLock<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(uid) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(uid, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(uid) === tail) this.locks.delete(uid);
    }
  }

  vmStore(uid: string): VmDiskStore {
    return new VmDiskStore(this.d.dirs.dir(uid));
  }

  containerStore(uid: string): ContainerLayerStore {
    return new ContainerLayerStore(this.d.dirs.dir(uid));
  }

  private liveVm(uid: string, rt: DiskRuntime, st: WorkloadState | undefined): Live | undefined {
    if (!rt.vmDisk || !st || (st.status !== 'running' && st.status !== 'paused')) return undefined;
    return { id: instanceId(uid), vm: rt.vmDisk };
  }

  private liveContainer(uid: string, rt: DiskRuntime, st: WorkloadState | undefined): LiveContainer | undefined {
    if (!rt.container || !st || (st.status !== 'running' && st.status !== 'paused')) return undefined;
    const c = rt.container;
    return { id: instanceId(uid), paused: st.status === 'paused', pause: (id) => c.pause(id), resume: (id) => c.resume(id), checkpoint: (id, dir, o) => c.checkpoint(id, dir, o) };
  }

  /** Once per instance per agent process: finish or roll back what a killed agent left half-done. */
  async recover(i: Instance, rt: DiskRuntime, state: () => Promise<WorkloadState | undefined>): Promise<void> {
    const uid = String(i.metadata.uid);
    if (this.recovered.has(uid)) return;
    await this.withLock(uid, async () => (isVm(i) ? this.vmStore(uid).recover(this.liveVm(uid, rt, await state())) : this.containerStore(uid).recover()));
    this.recovered.add(uid);
  }

  /** Linked copies on this node that still read this instance's disk (all of them, or those of one snapshot). */
  linkedCopiesOf(i: Instance, snapshotName?: string): Instance[] {
    return this.d.lookup.instances().filter((c) => {
      const s = c.spec?.source;
      if (!s || c.metadata.namespace !== i.metadata.namespace || s.instanceName !== i.metadata.name || s.full || c.status?.flattened) return false;
      return snapshotName === undefined || s.snapshotName === snapshotName;
    });
  }

  /**
   * A copy's disk, made once before its first start: linked to the source's
   * snapshot layer or to its frozen current top, or copied in full. The
   * source must be on this node (copies between nodes come with migration).
   * Returns why it cannot be made yet, or undefined when it is there.
   */
  async ensureCopy(i: Instance, rt: DiskRuntime, sourceState: (src: Instance) => Promise<WorkloadState | undefined>, imageLowers: () => Promise<string[]>): Promise<{ reason: string; message: string } | undefined> {
    const uid = String(i.metadata.uid);
    const s = i.spec?.source;
    if (!s?.instanceName || this.copied.has(uid)) return undefined;
    if ((await this.store(i).record()).copied) {
      this.copied.add(uid);
      return undefined;
    }
    const ns = String(i.metadata.namespace);
    const src = this.d.lookup.instance(ns, s.instanceName);
    if (!src) return { reason: 'SourceNotFound', message: `source instance ${ns}/${s.instanceName} is not on node ${this.d.nodeName} (copies between nodes come with migration)` };
    if ((src.spec?.type ?? 'container') !== (i.spec?.type ?? 'container')) return { reason: 'SourceTypeMismatch', message: `source ${s.instanceName} is a ${src.spec?.type ?? 'container'}, this instance a ${i.spec?.type ?? 'container'}` };
    const srcUid = String(src.metadata.uid);
    let snap: SnapshotRecord | undefined;
    if (s.snapshotName) {
      const obj = this.d.lookup.snapshot(ns, s.snapshotName);
      if (!obj || obj.spec?.instanceName !== s.instanceName) return { reason: 'SourceNotFound', message: `snapshot ${s.snapshotName} of ${s.instanceName} not found` };
      if (obj.status?.phase !== 'Ready') return { reason: 'SourceNotReady', message: `snapshot ${s.snapshotName} is ${obj.status?.phase ?? 'Pending'}` };
      const srcRec = await this.store(src).record();
      snap = srcRec.snapshots[String(obj.metadata.uid)];
      if (!snap) return { reason: 'SourceNotFound', message: `snapshot ${s.snapshotName} has no data on node ${this.d.nodeName}` };
    }
    const srcSt = await sourceState(src);
    try {
      if (isVm(i)) {
        const layer = snap?.layer ?? (await this.withLock(srcUid, () => this.vmStore(srcUid).freezeForCopy(this.liveVm(srcUid, rt, srcSt))));
        await this.withLock(uid, async () => {
          const store = this.vmStore(uid);
          await store.buildCopy(layer);
          if (s.full) await store.flatten(undefined);
        });
      } else {
        const lowers = await imageLowers();
        await this.withLock(uid, () => {
          const store = this.containerStore(uid);
          if (snap?.upper && !s.full) return store.buildCopy({ linkedLayer: snap.upper }, lowers);
          if (snap?.upper) return store.buildCopy({ copyOf: snap.upper }, lowers);
          return this.withLock(srcUid, () => store.buildCopy({ copyOf: this.containerStore(srcUid).upper, live: this.liveContainer(srcUid, rt, srcSt) }, lowers));
        });
      }
    } catch (e) {
      if (e instanceof SnapshotError) return { reason: 'CopyFailed', message: e.message };
      throw e;
    }
    this.d.log.info('instance copied', { instance: ref(i), source: s.instanceName, snapshot: s.snapshotName, full: !!s.full });
    return undefined;
  }

  /** Whether this copy's disk no longer reads its source (a full copy, a flattened one). */
  async isFlattened(i: Instance): Promise<boolean> {
    return !!(await this.store(i).record()).flattened;
  }

  /** Copy what the instance still reads from its source into its own disk. True when a container must be made again to use it. */
  async flatten(i: Instance, rt: DiskRuntime, st: WorkloadState | undefined): Promise<boolean> {
    const uid = String(i.metadata.uid);
    return this.withLock(uid, async () => {
      if (isVm(i)) {
        await this.vmStore(uid).flatten(this.liveVm(uid, rt, st));
        return false;
      }
      return this.containerStore(uid).flatten();
    });
  }

  /** With the workload deleted: put the snapshot's disk back; the memory state to start from, if it has one. */
  async restore(i: Instance, snapshotUid: string): Promise<{ state?: string }> {
    const uid = String(i.metadata.uid);
    return this.withLock(uid, () => (isVm(i) ? this.vmStore(uid).restore(snapshotUid) : this.containerStore(uid).restore(snapshotUid)));
  }

  /** A Snapshot of this instance by object name, or by the short name `lodge snapshot` uses (<instance>.<name>). */
  snapshotFor(i: Instance, name: string): Snapshot | undefined {
    const ns = String(i.metadata.namespace);
    const mine = (s: Snapshot | undefined): Snapshot | undefined => (s?.spec?.instanceName === i.metadata.name ? s : undefined);
    return mine(this.d.lookup.snapshot(ns, name)) ?? mine(this.d.lookup.snapshot(ns, `${i.metadata.name}.${name}`));
  }

  /** Snapshot data on this node, by Snapshot uid. */
  async snapshotRecord(i: Instance, snapshotUid: string): Promise<SnapshotRecord | undefined> {
    return (await this.store(i).record()).snapshots[snapshotUid];
  }

  /** The instance's disk store, either kind. */
  private store(i: Instance): VmDiskStore | ContainerLayerStore {
    const uid = String(i.metadata.uid);
    return isVm(i) ? this.vmStore(uid) : this.containerStore(uid);
  }

  /**
   * Bring the instance's Snapshot objects and its snapshot data together:
   * take the ones not yet taken, remove the data of deleted ones (unless a
   * linked copy still reads it) and let them go, report each. Copy layers
   * that no copy reads any more are merged away.
   */
  async syncSnapshots(i: Instance, rt: DiskRuntime, state: () => Promise<WorkloadState | undefined>): Promise<{ requeueMs?: number; lastSnapshotTime?: string }> {
    const uid = String(i.metadata.uid);
    // The workload's state only when there is something to do (a QMP round trip for a VM), and once.
    let known: Promise<WorkloadState | undefined> | undefined;
    const current = (): Promise<WorkloadState | undefined> => (known ??= state());
    // One read of the record for all of them (it changes only under this instance's lock, below).
    let taken: Record<string, SnapshotRecord> | undefined;
    const recordOf = async (sUid: string): Promise<SnapshotRecord | undefined> => (taken ??= (await this.store(i).record()).snapshots)[sUid];
    const ns = String(i.metadata.namespace);
    let requeueMs: number | undefined;
    let last: string | undefined;
    for (const s of this.d.lookup.snapshotsOf(ns, String(i.metadata.name))) {
      const sUid = String(s.metadata.uid);
      const name = String(s.metadata.name);
      if (s.metadata.deletionTimestamp) {
        if (!(s.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER)) continue;
        const readers = this.linkedCopiesOf(i, name);
        if (readers.length) {
          await this.writeSnapshotStatus(s, { ...s.status, message: `deletion waits for linked copies: ${readers.map((c) => c.metadata.name).join(', ')}` });
          requeueMs = 5000;
          continue;
        }
        const st = await current();
        await this.withLock(uid, () => (isVm(i) ? this.vmStore(uid).deleteSnapshot(sUid, this.liveVm(uid, rt, st)) : this.containerStore(uid).deleteSnapshot(sUid)));
        await this.dropFinalizer(s);
        this.d.log.info('snapshot deleted', { instance: ref(i), snapshot: name });
        continue;
      }
      const phase = s.status?.phase ?? 'Pending';
      if (phase === 'Failed') continue;
      // Its data comes from lodge import, not from a snapshot of what runs: reported Ready once the import has written it and the annotation is gone.
      if (s.metadata.annotations?.[IMPORTING]) continue;
      let rec = await recordOf(sUid);
      if (phase === 'Ready' && rec) {
        if (!last || rec.createdAt > last) last = rec.createdAt;
        continue;
      }
      if (!(await this.adopt(s, i))) continue;
      if (!rec) {
        await this.writeSnapshotStatus(s, { phase: 'InProgress', nodeName: this.d.nodeName, instanceType: isVm(i) ? 'vm' : 'container' });
        const stateful = s.spec?.stateful === true;
        const st = await current();
        const started = performance.now();
        try {
          rec = await this.withLock(uid, () =>
            isVm(i)
              ? this.vmStore(uid).snapshot({ uid: sUid, name, stateful }, this.liveVm(uid, rt, st))
              : this.containerStore(uid).snapshot({ uid: sUid, name, stateful }, this.liveContainer(uid, rt, st), () => rt.container?.criuProblem() ?? Promise.resolve('no container runtime')),
          );
        } catch (e) {
          const message = (e as Error).message;
          this.d.log.warn('snapshot failed', { instance: ref(i), snapshot: name, error: message });
          await this.writeSnapshotStatus(s, { phase: 'Failed', nodeName: this.d.nodeName, instanceType: isVm(i) ? 'vm' : 'container', message });
          if (e instanceof SnapshotError) continue;
          throw e;
        }
        this.d.log.info('snapshot taken', { instance: ref(i), snapshot: name, stateful: !!rec.state, ms: Math.round(performance.now() - started) });
      }
      const st = await current();
      const live = !!st && (st.status === 'running' || st.status === 'paused');
      const consistency = !live ? 'taken while stopped' : rec.state ? 'with memory state' : isVm(i) ? (rec.frozen ? 'file systems frozen through the guest agent' : 'crash-consistent (no guest agent answered)') : 'taken with the container frozen';
      await this.writeSnapshotStatus(s, {
        phase: 'Ready',
        createdAt: rec.createdAt,
        size: rec.sizeBytes ?? 0,
        nodeName: this.d.nodeName,
        instanceType: isVm(i) ? 'vm' : 'container',
        stateful: !!rec.state,
        message: consistency,
      });
      if (!last || rec.createdAt > last) last = rec.createdAt;
    }
    if (isVm(i) && (await this.vmStore(uid).record()).copyLayers?.length) {
      const st = await current();
      const stillRead = this.d.lookup.instances().some((c) => c.metadata.namespace === ns && c.spec?.source?.instanceName === i.metadata.name && !c.spec?.source?.snapshotName && !c.status?.flattened);
      await this.withLock(uid, () => this.vmStore(uid).collectCopyLayers(stillRead, this.liveVm(uid, rt, st)));
    }
    return { requeueMs, lastSnapshotTime: last };
  }

  /** Our finalizer and an owner reference to the instance (its snapshots go with it), before any data exists. False when the write lost a race (the watch brings it back). */
  private async adopt(s: Snapshot, i: Instance): Promise<boolean> {
    const hasFinalizer = (s.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER);
    const owners = (s.metadata.ownerReferences ?? []) as Array<{ uid?: string }>;
    const owned = owners.some((o) => o.uid === i.metadata.uid);
    if (hasFinalizer && owned) return true;
    const next = structuredClone(s) as KubeObject;
    next.metadata.finalizers = [...new Set([...(s.metadata.finalizers ?? []), SNAPSHOT_FINALIZER])];
    if (!owned) next.metadata.ownerReferences = [...owners, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', name: i.metadata.name, uid: i.metadata.uid, blockOwnerDeletion: false }] as KubeObject['metadata']['ownerReferences'];
    try {
      const out = await this.d.client.update<Snapshot>(SNAPSHOTS, next, { fieldManager: MANAGER });
      Object.assign(s, { metadata: out.metadata });
      return true;
    } catch (e) {
      if (hasStatus(e, 404, 409)) return false;
      throw e;
    }
  }

  private async writeSnapshotStatus(s: Snapshot, status: NonNullable<Snapshot['status']>): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(s.status ?? {})) return;
    const body = { ...s, metadata: { ...s.metadata }, status } as KubeObject;
    try {
      const out = await this.d.client.update<Snapshot>(SNAPSHOTS, body, { fieldManager: MANAGER, subresource: 'status' });
      Object.assign(s, { metadata: out.metadata, status: out.status });
    } catch (e) {
      if (!hasStatus(e, 404, 409)) throw new Error(`snapshot ${ref(s)}: cannot write status: ${(e as Error).message}`);
    }
  }

  async dropFinalizer(s: Snapshot): Promise<void> {
    if (!(s.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER)) return;
    const next = structuredClone(s) as KubeObject;
    next.metadata.finalizers = (s.metadata.finalizers ?? []).filter((f) => f !== SNAPSHOT_FINALIZER);
    try {
      await this.d.client.update(SNAPSHOTS, next, { fieldManager: MANAGER });
    } catch (e) {
      if (!hasStatus(e, 404, 409)) throw e;
    }
  }

  /** The instance is gone from this node (its dir removed): its snapshots' data went with it. */
  async releaseSnapshots(i: Instance): Promise<void> {
    for (const s of this.d.lookup.snapshotsOf(String(i.metadata.namespace), String(i.metadata.name))) await this.dropFinalizer(s);
    this.recovered.delete(String(i.metadata.uid));
    this.copied.delete(String(i.metadata.uid));
  }

  /** For reports: a restore's status line. */
  static restoreStatus(snapshotName: string, requestedAt: string, phase: 'InProgress' | 'Succeeded' | 'Failed', message?: string): NonNullable<Instance['status']>['restore'] {
    return { snapshotName, requestedAt, phase, ...(message ? { message } : {}), ...(phase !== 'InProgress' ? { completedAt: rfc3339() } : {}) };
  }
}
