// Brings one Instance on this node to its desired state and reports it:
// creates and starts its workload, applies runStrategy, spec.paused and the
// restart request, stops it when Halted, and tears everything down when the
// Instance is deleted. Level-triggered: each call compares the Instance with
// what the driver reports, so it re-adopts after an agent restart as it
// converges after any missed event.
import { interfaceStatus, releaseNetworks, type InstanceNetworking } from './instance-networks.js';
import { FLATTEN_REQUESTED_AT, IMPORTING, INSTANCE_FINALIZER, RESTARTED_AT, RESTORE_REQUESTED_AT, RESTORE_SNAPSHOT, STOP_GRACE_PERIOD } from '../../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance, InstanceStatus } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { KubeObject } from '../../apis/types.js';
import type { KubeClient } from '../../client/index.js';
import { INSTANCES } from '../../client/refs.js';
import type { Logger } from '../../util/log.js';
import { WorkloadNotFoundError, type InstanceDriver, type WorkloadSpec, type WorkloadState } from '../runtime/driver.js';
import { InstanceNotReadyError } from './container-instance.js';
import { instanceId } from './ids.js';
import type { AgentRecord, InstanceDirs } from './instance-dirs.js';
import { buildStatus, MANAGER, writeStatus, type Observed } from './instance-status.js';
import { restartDelayMs, restartsAfterExit, runStrategyOf } from './run-strategy.js';
import { InstanceDisks, type DiskRuntime } from './instance-disks.js';
import { hasStatus } from '../../client/errors.js';
import { noEvents, type EventRecorder, type EventType } from '../../events/index.js';

/** What runs one type of Instance: its driver and how to build its workload. */
export interface InstanceRuntime {
  driver: InstanceDriver;
  /** The workload of an Instance; restoreState: start from this memory state (a stateful snapshot's) instead of booting. */
  build(i: Instance, opts?: { restoreState?: string }): Promise<{ spec: WorkloadSpec; digest?: string; note?: { reason: string; message: string } }>;
  accelerator?: string;
  /** What snapshots of running instances need from the runtime. */
  disk: DiskRuntime;
  /** The image's read-only layers (containers), for a copy's fresh identity. */
  imageLowers?(i: Instance): Promise<string[]>;
}

export interface InstanceSyncDeps {
  client: KubeClient;
  nodeName: string;
  dirs: InstanceDirs;
  log: Logger;
  /** The runtime of a type, or why there is none on this node (e.g. VMDriverUnavailable). */
  runtime(type: 'container' | 'vm'): InstanceRuntime | InstanceNotReadyError;
  requeueAfter(key: string, ms: number): void;
  disks: InstanceDisks;
  /** The node's networks: an Instance's addresses are reported from them (status.ip, ips, interfaces). */
  networking?: InstanceNetworking;
  /** Where Started, Stopped, Restarting, BackOff and Failed events go; none when unset. */
  recorder?: EventRecorder;
}

const typeOf = (i: Instance): 'container' | 'vm' => (i.spec?.type === 'vm' ? 'vm' : 'container');
/** Try again this soon when the workload cannot be made yet (image missing, driver not loaded). */
const NOT_READY_RETRY_MS = 10_000;

export class InstanceSync {
  /** Notes of how a workload was built (e.g. Lodge's init stands in), by uid, for status. */
  private readonly notes = new Map<string, { reason: string; message: string } | undefined>();
  private readonly digests = new Map<string, string>();
  /** Status fields the disk side owns (restore, flattened, lastSnapshotTime), by uid: merged into every report of this agent. */
  private readonly diskStatus = new Map<string, Pick<InstanceStatus, 'restore' | 'flattened' | 'lastSnapshotTime'>>();
  /** A stateful restore's memory state, for the next create of the workload only. */
  private readonly restoreStates = new Map<string, string>();
  /** Per uid: the interfaces' status once every one has its address, with the spec.networks it was read for. */
  private readonly addresses = new Map<string, { spec: string; status: Pick<InstanceStatus, 'ip' | 'ips' | 'interfaces'> }>();

  constructor(private readonly d: InstanceSyncDeps) {}

  private event(i: Instance, type: EventType, reason: string, message: string): void {
    // Kind and apiVersion set: an Instance from a list may come without them.
    (this.d.recorder ?? noEvents).event({ ...(i as KubeObject), apiVersion: `${INSTANCES.group}/${INSTANCES.version}`, kind: 'Instance' }, type, reason, message);
  }

  private async state(driver: InstanceDriver, id: string): Promise<WorkloadState | undefined> {
    try {
      const st = await driver.state(id);
      if (st.status !== 'unknown') return st;
      // Traces without a runtime container (a create cut short, a reboot): start over.
      await driver.delete(id);
      return undefined;
    } catch (e) {
      if (e instanceof WorkloadNotFoundError) return undefined;
      throw e;
    }
  }

  /** Grace period of the next stop: a `--force` annotation wins over the spec. */
  private graceMs(i: Instance, deleting = false): number {
    const forced = i.metadata.annotations?.[STOP_GRACE_PERIOD];
    const fromDelete = deleting ? i.metadata.deletionGracePeriodSeconds : undefined;
    const s = forced !== undefined && /^\d+$/.test(forced) ? Number(forced) : (fromDelete ?? i.spec?.terminationGracePeriodSeconds ?? 30);
    return Math.max(0, s) * 1000;
  }

  async sync(key: string, i: Instance): Promise<void> {
    if (i.metadata.deletionTimestamp) return this.finalize(key, i);
    await this.ensureFinalizer(i);
    const uid = String(i.metadata.uid);
    const rt = this.d.runtime(typeOf(i));
    if (rt instanceof InstanceNotReadyError) {
      await this.report(i, { phase: 'Failed', state: 'Error', reason: rt.reason, message: rt.message, restartCount: i.status?.restartCount ?? 0 });
      this.d.requeueAfter(key, NOT_READY_RETRY_MS);
      return;
    }
    await this.d.dirs.ensureDir(uid);
    if (i.metadata.annotations?.[IMPORTING]) {
      // lodge import is writing this instance's disk: no start, no disk of its own, no snapshots until it is done.
      await this.report(i, { phase: 'Stopped', reason: 'Importing', message: 'waiting for lodge import to write its disk', restartCount: i.status?.restartCount ?? 0 }, rt);
      return;
    }
    if (!this.diskStatus.has(uid)) {
      const { restore, flattened, lastSnapshotTime } = i.status ?? {};
      this.diskStatus.set(uid, { ...(restore ? { restore } : {}), ...(flattened ? { flattened } : {}), ...(lastSnapshotTime ? { lastSnapshotTime } : {}) });
    }
    const disks = this.d.disks;
    await disks.recover(i, rt.disk, () => this.state(rt.driver, instanceId(uid)));
    // A copy's disk first: nothing can boot before it is there.
    if (i.spec?.source) {
      const blocked = await disks.ensureCopy(i, rt.disk, (src) => this.state(rt.driver, instanceId(String(src.metadata.uid))), () => rt.imageLowers?.(i) ?? Promise.resolve([]));
      if (blocked) {
        await this.report(i, { phase: 'Failed', state: 'Error', ...blocked, restartCount: i.status?.restartCount ?? 0 }, rt);
        this.d.requeueAfter(key, NOT_READY_RETRY_MS);
        return;
      }
      if (!i.status?.flattened && (await disks.isFlattened(i))) this.setDiskStatus(uid, { flattened: true });
    }
    await this.handleRestore(key, i, rt);
    await this.handleFlatten(i, rt);
    await this.converge(key, i, rt);
    const snaps = await disks.syncSnapshots(i, rt.disk, () => this.state(rt.driver, instanceId(uid)));
    if (snaps.lastSnapshotTime && snaps.lastSnapshotTime !== this.diskStatus.get(uid)?.lastSnapshotTime) {
      this.setDiskStatus(uid, { lastSnapshotTime: snaps.lastSnapshotTime });
      await this.converge(key, i, rt);
    }
    if (snaps.requeueMs) this.d.requeueAfter(key, snaps.requeueMs);
  }

  private setDiskStatus(uid: string, s: Pick<InstanceStatus, 'restore' | 'flattened' | 'lastSnapshotTime'>): void {
    this.diskStatus.set(uid, { ...this.diskStatus.get(uid), ...s });
  }

  /**
   * A restore request (lodge snapshot restore): once per requestedAt. The
   * workload goes (its disk is replaced), the snapshot's disk comes back and
   * converge() starts it again, from the snapshot's memory when it has one.
   */
  private async handleRestore(key: string, i: Instance, rt: InstanceRuntime): Promise<void> {
    const requestedAt = i.metadata.annotations?.[RESTORE_REQUESTED_AT];
    const snapName = i.metadata.annotations?.[RESTORE_SNAPSHOT] ?? '';
    if (!requestedAt) return;
    const uid = String(i.metadata.uid);
    const rec = await this.d.dirs.readRecord(uid);
    if (rec.restoreHandled === requestedAt) return;
    const snap = this.d.disks.snapshotFor(i, snapName);
    const done = async (phase: 'Succeeded' | 'Failed', message: string): Promise<void> => {
      rec.restoreHandled = requestedAt;
      await this.d.dirs.writeRecord(uid, rec);
      this.setDiskStatus(uid, { restore: InstanceDisks.restoreStatus(snapName, requestedAt, phase, message) });
      this.d.log.info('restore finished', { instance: key, snapshot: snapName, phase, message });
    };
    if (!snap || snap.status?.phase !== 'Ready' || snap.metadata.deletionTimestamp) {
      return done('Failed', `snapshot ${snapName} of ${i.metadata.name} is ${!snap ? 'not found' : snap.metadata.deletionTimestamp ? 'being deleted' : `not ready (${snap.status?.phase ?? 'Pending'})`}`);
    }
    if (!(await this.d.disks.snapshotRecord(i, String(snap.metadata.uid)))) return done('Failed', `snapshot ${snapName} has no data on node ${this.d.nodeName}`);
    this.setDiskStatus(uid, { restore: InstanceDisks.restoreStatus(snapName, requestedAt, 'InProgress') });
    const id = instanceId(uid);
    const st = await this.state(rt.driver, id);
    if (st) {
      await this.report(i, { phase: 'Stopping', reason: 'Restoring', message: `restoring snapshot ${snapName}`, restartCount: rec.restartCount ?? 0 }, rt);
      // What runs is about to be replaced by the snapshot: no graceful shutdown to wait for.
      if (st.status !== 'stopped') await rt.driver.stop(id, 0);
      await rt.driver.delete(id);
    }
    const { state } = await this.d.disks.restore(i, String(snap.metadata.uid));
    if (state) this.restoreStates.set(uid, state);
    else this.restoreStates.delete(uid);
    await done('Succeeded', state ? 'disk and memory state restored' : 'disk restored');
  }

  /** A flatten request (before its source or snapshot is removed with --force): once per value. */
  private async handleFlatten(i: Instance, rt: InstanceRuntime): Promise<void> {
    const requestedAt = i.metadata.annotations?.[FLATTEN_REQUESTED_AT];
    if (!requestedAt || !i.spec?.source) return;
    const uid = String(i.metadata.uid);
    const rec = await this.d.dirs.readRecord(uid);
    if (rec.flattenHandled === requestedAt) return;
    const id = instanceId(uid);
    const st = await this.state(rt.driver, id);
    const remake = await this.d.disks.flatten(i, rt.disk, st);
    // A container's read-only layers are fixed while it runs: it is made again on its own copy.
    if (remake && st) {
      await this.stopAndDelete(i, rt, st, rec);
    }
    rec.flattenHandled = requestedAt;
    await this.d.dirs.writeRecord(uid, rec);
    this.setDiskStatus(uid, { flattened: true });
    this.d.log.info('instance flattened', { instance: `${i.metadata.namespace}/${i.metadata.name}` });
  }

  /** The lifecycle: bring the workload to what runStrategy, paused and a restart request say. */
  private async converge(key: string, i: Instance, rt: InstanceRuntime): Promise<void> {
    const uid = String(i.metadata.uid);
    const id = instanceId(uid);
    const driver = rt.driver;
    const rec = await this.d.dirs.readRecord(uid);
    rec.restartCount ??= i.status?.restartCount ?? 0;
    const strategy = runStrategyOf(i.spec?.runStrategy);
    let st = await this.state(driver, id);

    // A restart request (lodge restart): acted on once per value, remembered on the node.
    const request = i.metadata.annotations?.[RESTARTED_AT];
    if (request && request !== rec.restartHandled) {
      if (st && strategy !== 'Halted') {
        this.d.log.info('restarting instance on request', { instance: key });
        await this.stopAndDelete(i, rt, st, rec);
        st = undefined;
      }
      rec.restartHandled = request;
      await this.d.dirs.writeRecord(uid, rec);
    }

    if (strategy === 'Halted') {
      if (st) await this.stopAndDelete(i, rt, st, rec);
      await this.report(i, { phase: 'Stopped', reason: 'Halted', message: 'runStrategy is Halted', restartCount: rec.restartCount }, rt);
      return;
    }

    if (!st) {
      const err = await this.createAndStart(i, rt);
      if (err) {
        await this.report(i, { phase: 'Failed', state: 'Error', reason: err.reason, message: err.message, restartCount: rec.restartCount }, rt);
        this.d.requeueAfter(key, NOT_READY_RETRY_MS);
        return;
      }
      st = await this.state(driver, id);
    }
    if (st?.status === 'created') {
      await driver.start(id);
      st = await this.state(driver, id);
    }
    if (!st) return this.report(i, { phase: 'Starting', restartCount: rec.restartCount }, rt);

    if (st.status === 'running' || st.status === 'paused') {
      // spec.paused (lodge pause|resume): the driver's freezer, nothing else changes.
      if (i.spec?.paused && st.status === 'running') {
        await driver.pause(id);
        st = { ...st, status: 'paused' };
      } else if (!i.spec?.paused && st.status === 'paused') {
        await driver.resume(id);
        st = { ...st, status: 'running' };
      }
      const paused = st.status === 'paused';
      return this.report(i, { phase: paused ? 'Paused' : 'Running', startedAt: st.startedAt, restartCount: rec.restartCount, ...this.noteOf(uid) }, rt);
    }

    // Stopped by itself: restart or leave it, per runStrategy.
    const exit = st.oomKilled ? 'was killed by the OOM killer' : `exited with code ${st.exitCode ?? 'unknown'}`;
    if (!restartsAfterExit(strategy, st)) {
      if (i.status?.phase !== 'Stopped') this.event(i, st.oomKilled || (st.exitCode ?? 1) !== 0 ? 'Warning' : 'Normal', 'Stopped', `Instance ${i.metadata.name} stopped: its init ${exit}; runStrategy ${strategy} leaves it stopped`);
      return this.report(i, { phase: 'Stopped', reason: st.oomKilled || (st.exitCode ?? 1) !== 0 ? 'Crashed' : 'Shutdown', message: `its init ${exit}; runStrategy ${strategy} leaves it stopped`, startedAt: st.startedAt, restartCount: rec.restartCount }, rt);
    }
    const delay = restartDelayMs(st, rec.restartCount);
    const finished = st.finishedAt ? Date.parse(st.finishedAt) : Date.now();
    const wait = finished + delay - Date.now();
    if (wait > 0) {
      this.d.requeueAfter(key, wait + 50);
      this.event(i, 'Warning', 'BackOff', `Back-off restarting instance ${i.metadata.name}: its init ${exit}`);
      return this.report(i, { phase: 'Stopped', state: 'BackOff', reason: 'BackOff', message: `its init ${exit}; restarting in ${Math.ceil(wait / 1000)}s`, restartCount: rec.restartCount }, rt);
    }
    this.d.log.info('restarting instance per runStrategy', { instance: key, strategy, exitCode: st.exitCode });
    this.event(i, 'Normal', 'Restarting', `Restarting instance ${i.metadata.name}: its init ${exit} (runStrategy ${strategy})`);
    await driver.delete(id);
    rec.restartCount = (rec.restartCount ?? 0) + 1;
    await this.d.dirs.writeRecord(uid, rec);
    const err = await this.createAndStart(i, rt);
    if (err) {
      this.d.requeueAfter(key, NOT_READY_RETRY_MS);
      return this.report(i, { phase: 'Failed', state: 'Error', reason: err.reason, message: err.message, restartCount: rec.restartCount }, rt);
    }
    const now = await this.state(driver, id);
    return this.report(i, { phase: now?.status === 'running' ? 'Running' : 'Starting', startedAt: now?.startedAt, restartCount: rec.restartCount, ...this.noteOf(uid) }, rt);
  }

  private noteOf(uid: string): Pick<Observed, 'reason' | 'message'> {
    const n = this.notes.get(uid);
    return n ? { reason: n.reason, message: n.message } : {};
  }

  private async report(i: Instance, o: Observed, rt?: InstanceRuntime): Promise<void> {
    const uid = String(i.metadata.uid);
    const digest = this.digests.get(uid) ?? (i.status as { imageDigest?: string } | undefined)?.imageDigest;
    const net = await this.addressesOf(i);
    await writeStatus(this.d.client, i, { ...buildStatus(i, this.d.nodeName, { ...o, imageDigest: digest, accelerator: rt?.accelerator }), ...net, ...this.diskStatus.get(uid) });
  }

  /** An Instance's addresses on its networks (cached once complete: read from the IPAM files only until then, or when spec.networks changed). */
  private async addressesOf(i: Instance): Promise<Pick<InstanceStatus, 'ip' | 'ips' | 'interfaces'>> {
    if (!this.d.networking) return {};
    const uid = String(i.metadata.uid);
    const spec = JSON.stringify(i.spec?.networks ?? null);
    const known = this.addresses.get(uid);
    if (known?.spec === spec) return known.status;
    const { status, complete } = await interfaceStatus(i, this.d.networking);
    if (complete) this.addresses.set(uid, { spec, status });
    return status;
  }

  /** Create and start a workload; the reason when it cannot be made yet. */
  private async createAndStart(i: Instance, rt: InstanceRuntime): Promise<InstanceNotReadyError | undefined> {
    const uid = String(i.metadata.uid);
    await this.report(i, { phase: 'Starting', restartCount: i.status?.restartCount ?? 0 }, rt);
    let built;
    const restoreState = this.restoreStates.get(uid);
    // One try: a state that does not load is not tried again; the instance boots from the restored disk instead.
    this.restoreStates.delete(uid);
    try {
      built = await rt.build(i, restoreState ? { restoreState } : {});
    } catch (e) {
      if (e instanceof InstanceNotReadyError) return this.failed(i, e);
      throw e;
    }
    this.notes.set(uid, built.note);
    if (built.digest) this.digests.set(uid, built.digest);
    try {
      await rt.driver.create(built.spec);
    } catch (e) {
      // The driver undid what it made; say why in the status (and try again later) instead of only logging it.
      return this.failed(i, new InstanceNotReadyError('CreateFailed', (e as Error).message));
    }
    await rt.driver.start(built.spec.id);
    this.event(i, 'Normal', 'Started', `Started instance ${i.metadata.name}`);
    return undefined;
  }

  /** The Failed event of a workload that cannot be made (retried every NOT_READY_RETRY_MS: the recorder counts the repeats). */
  private failed(i: Instance, e: InstanceNotReadyError): InstanceNotReadyError {
    this.event(i, 'Warning', 'Failed', `Error: ${e.reason}: ${e.message}`);
    return e;
  }

  /** Graceful stop (the init's own shutdown), then delete the workload; the instance's disk stays. */
  private async stopAndDelete(i: Instance, rt: InstanceRuntime, st: WorkloadState, rec: AgentRecord): Promise<void> {
    const id = instanceId(String(i.metadata.uid));
    if (st.status !== 'stopped') {
      await this.report(i, { phase: 'Stopping', restartCount: rec.restartCount ?? 0 }, rt);
      await rt.driver.stop(id, this.graceMs(i));
      this.event(i, 'Normal', 'Stopped', `Stopped instance ${i.metadata.name}`);
    }
    await rt.driver.delete(id);
  }

  /** Deleted: stop, remove the workload and everything on the node, then let the Instance go. */
  private async finalize(key: string, i: Instance): Promise<void> {
    if (!(i.metadata.finalizers ?? []).includes(INSTANCE_FINALIZER)) return;
    const uid = String(i.metadata.uid);
    // Linked copies read this instance's layers: it goes after them (or after they are flattened).
    const readers = this.d.disks.linkedCopiesOf(i);
    if (readers.length) {
      await this.report(i, { phase: 'Stopping', reason: 'WaitingForCopies', message: `deletion waits for linked copies: ${readers.map((c) => c.metadata.name).join(', ')}`, restartCount: i.status?.restartCount ?? 0 });
      this.d.requeueAfter(key, 5000);
      return;
    }
    const rt = this.d.runtime(typeOf(i));
    if (!(rt instanceof InstanceNotReadyError)) {
      const st = await this.state(rt.driver, instanceId(uid));
      if (st && st.status !== 'stopped') {
        await this.report(i, { phase: 'Stopping', reason: 'Deleting', restartCount: i.status?.restartCount ?? 0 }, rt);
        await rt.driver.stop(instanceId(uid), this.graceMs(i, true)).catch((e: Error) => this.d.log.warn('stop failed; deleting anyway', { uid, error: e.message }));
      }
    }
    await this.teardown(uid);
    await this.d.disks.releaseSnapshots(i);
    this.diskStatus.delete(uid);
    const next: KubeObject = structuredClone(i) as KubeObject;
    next.metadata.finalizers = (i.metadata.finalizers ?? []).filter((f) => f !== INSTANCE_FINALIZER);
    try {
      await this.d.client.update(INSTANCES, next, { fieldManager: MANAGER });
      this.d.log.info('instance stopped and removed', { instance: `${i.metadata.namespace}/${i.metadata.name}` });
    } catch (e) {
      // 409: our own status write changed it meanwhile; that change's event brings it back here (teardown is idempotent).
      if (!hasStatus(e, 404, 409)) throw e;
    }
  }

  /** Remove an instance's workload (from whichever driver holds it) and its node state. Idempotent. */
  async teardown(uid: string, drivers?: InstanceDriver[]): Promise<void> {
    const id = instanceId(uid);
    const all = drivers ?? (['container', 'vm'] as const).map((t) => this.d.runtime(t)).flatMap((r) => (r instanceof InstanceNotReadyError ? [] : [r.driver]));
    for (const driver of all) await driver.delete(id);
    // Unplug (a container's veth, a VM's tap) and free its address before its namespace and dir go; a no-op for an instance without one.
    if (this.d.networking) await releaseNetworks(uid, this.d.networking);
    this.addresses.delete(uid);
    await this.d.dirs.remove(uid);
    this.notes.delete(uid);
    this.digests.delete(uid);
  }

  /** A bound Instance carries the agent's finalizer, so its deletion waits for the node to clean up. */
  private async ensureFinalizer(i: Instance): Promise<void> {
    if ((i.metadata.finalizers ?? []).includes(INSTANCE_FINALIZER)) return;
    const next: KubeObject = structuredClone(i) as KubeObject;
    next.metadata.finalizers = [...(i.metadata.finalizers ?? []), INSTANCE_FINALIZER];
    try {
      await this.d.client.update(INSTANCES, next, { fieldManager: MANAGER });
    } catch (e) {
      // Changed meanwhile: the watch brings the new version, and its sync adds the finalizer.
      if (!hasStatus(e, 409)) throw e;
    }
  }
}
