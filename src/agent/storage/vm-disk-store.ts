// A VM's root disk as a tree of qcow2 layers, in its instance dir:
// disk.qcow2 (the first top) and layers/*.qcow2. A snapshot freezes the
// current top (it becomes the snapshot's layer, never written again) and a
// new empty top continues on it — O(1) whatever the disk's size, and for a
// running VM through QMP (blockdev-snapshot-sync) so the guest never stops.
// A restore is a new top on the snapshot's layer; a linked copy is another
// instance's top on one of these layers. Deleting a snapshot merges its
// layer into the layers that read it (QEMU's block-stream for the running
// top, qemu-img rebase for the rest) and only then removes it.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../images/run.js';
import { exists } from '../images/fsutil.js';
import { failpoint } from '../../util/failpoint.js';
import { allocatedBytes, createOverlay, qcow2Info, rebase } from './qcow2.js';
import { readStorageRecord, writeStorageRecord, type SnapshotRecord, type StorageRecord } from './storage-record.js';

/** What the VM driver does for the store on a running VM (drivers/vm). */
export interface LiveVmDisk {
  snapshotDisk(id: string, newTop: string, opts?: { freeze?: boolean }): Promise<{ frozen: boolean }>;
  diskChain(id: string): Promise<string[]>;
  saveState(id: string, file: string, opts?: { beforeSave?: () => Promise<void> }): Promise<{ ms: number; bytes: number }>;
  streamDisk(id: string, base: string | null): Promise<void>;
}

/** The workload of the instance when it runs (or is paused): its id and its driver. */
export interface Live {
  id: string;
  vm: LiveVmDisk;
}


export class SnapshotError extends Error {}

export class VmDiskStore {
  constructor(
    /** The instance's dir (<data>/instances/<uid>). */
    readonly dir: string,
  ) {}

  /** The instance's first top, made by the driver at the first start (VmSpec.persistentDisk). */
  get initialDisk(): string {
    return join(this.dir, 'disk.qcow2');
  }

  private newLayer(): string {
    return join(this.dir, 'layers', `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.qcow2`);
  }

  async record(): Promise<StorageRecord> {
    return readStorageRecord(this.dir);
  }

  /** The writable top the VM boots from. */
  async activeDisk(): Promise<string> {
    return (await this.record()).activeDisk ?? this.initialDisk;
  }

  private async parentOf(r: StorageRecord, layer: string): Promise<string | null> {
    if (r.parents && layer in r.parents) return r.parents[layer] ?? null;
    return (await qcow2Info(layer)).backing ?? null;
  }

  /** Freeze the top and continue on a new one: for running VMs through QEMU, else with qemu-img. Whether the guest's file systems were frozen for it. */
  private async freezeTop(r: StorageRecord, newTop: string, live: Live | undefined, freeze: boolean): Promise<boolean> {
    await mkdir(join(this.dir, 'layers'), { recursive: true });
    const oldTop = r.activeDisk ?? this.initialDisk;
    if (live) return (await live.vm.snapshotDisk(live.id, newTop, { freeze })).frozen;
    await createOverlay(newTop, oldTop);
    return false;
  }

  async snapshot(snap: { uid: string; name: string; stateful: boolean }, live: Live | undefined): Promise<SnapshotRecord> {
    const r = await this.record();
    if (r.snapshots[snap.uid]) return r.snapshots[snap.uid];
    const oldTop = r.activeDisk ?? this.initialDisk;
    if (!(await exists(oldTop))) throw new SnapshotError('the instance has no disk yet: start it once first');
    if (snap.stateful && !live) throw new SnapshotError('a stateful snapshot needs the instance running: a stopped VM has no memory state');
    const newTop = this.newLayer();
    const dir = join(this.dir, 'snapshots', snap.uid);
    r.pending = { op: 'snapshot', snapshotUid: snap.uid, name: snap.name, dir, newTop, oldTop };
    await writeStorageRecord(this.dir, r);
    await mkdir(dir, { recursive: true });
    let frozen = false;
    let state: string | undefined;
    if (snap.stateful && live) {
      state = join(dir, 'memory.state');
      // The disk switches while the vCPUs are stopped, so the layer and the memory are of one moment.
      // Written under another name and renamed when complete: a state file that exists is a whole one.
      await live.vm.saveState(live.id, `${state}.partial`, { beforeSave: async () => void (await this.freezeTop(r, newTop, live, false)) });
      await rename(`${state}.partial`, state);
    } else {
      frozen = await this.freezeTop(r, newTop, live, true);
    }
    failpoint('vm-snapshot-switched');
    return this.commitSnapshot(r, { uid: snap.uid, name: snap.name, dir, newTop, oldTop, state, frozen });
  }

  private async commitSnapshot(r: StorageRecord, s: { uid: string; name: string; dir: string; newTop: string; oldTop: string; state?: string; frozen: boolean }): Promise<SnapshotRecord> {
    const sizeBytes = (await allocatedBytes(s.oldTop).catch(() => 0)) + (s.state ? await allocatedBytes(s.state).catch(() => 0) : 0);
    const rec: SnapshotRecord = { uid: s.uid, name: s.name, createdAt: new Date().toISOString(), layer: s.oldTop, frozen: s.frozen, sizeBytes, ...(s.state ? { state: s.state } : {}) };
    r.snapshots[s.uid] = rec;
    r.parents = { ...(r.parents ?? {}), [s.newTop]: s.oldTop };
    r.activeDisk = s.newTop;
    delete r.pending;
    await writeStorageRecord(this.dir, r);
    return rec;
  }

  /**
   * Finish or roll back what an agent killed mid-operation left. A frozen
   * top that QEMU already writes to is kept (rolling it back would lose the
   * guest's writes); one that nothing uses is removed.
   */
  async recover(live: Live | undefined): Promise<void> {
    const r = await this.record();
    const p = r.pending;
    if (!p) return;
    if (p.op === 'snapshot' && p.newTop && p.oldTop) {
      let switched = false;
      if (await exists(p.newTop)) {
        if (live) switched = (await live.vm.diskChain(live.id).catch(() => []))[0] === p.newTop;
        else switched = (await qcow2Info(p.newTop).catch(() => undefined))?.backing === p.oldTop;
      }
      if (switched) {
        const state = join(p.dir, 'memory.state');
        // A state file whose save was cut short is not a state to restore.
        const complete = await exists(state);
        await this.commitSnapshot(r, { uid: p.snapshotUid, name: p.name, dir: p.dir, newTop: p.newTop, oldTop: p.oldTop, frozen: false, ...(complete ? { state } : {}) });
        return;
      }
      await rm(p.newTop, { force: true });
      await rm(p.dir, { recursive: true, force: true });
    } else if (p.op === 'delete-snapshot') {
      delete r.pending;
      await writeStorageRecord(this.dir, r);
      await this.deleteSnapshot(p.snapshotUid, live);
      return;
    } else if (p.op === 'restore' && p.newTop) {
      if (r.activeDisk !== p.newTop) await rm(p.newTop, { force: true });
      else if (p.oldTop && p.oldTop !== p.newTop) await this.discard(r, p.oldTop);
    } else if (p.op === 'freeze-for-copy') {
      const switched = (await exists(p.newTop)) && (live ? (await live.vm.diskChain(live.id).catch(() => []))[0] === p.newTop : (await qcow2Info(p.newTop).catch(() => undefined))?.backing === p.oldTop);
      if (switched) {
        r.activeDisk = p.newTop;
        r.parents = { ...(r.parents ?? {}), [p.newTop]: p.oldTop };
        r.copyLayers = [...new Set([...(r.copyLayers ?? []), p.oldTop])];
      } else await rm(p.newTop, { force: true });
    } else if (p.op === 'build-copy' || p.op === 'flatten') {
      if (!(p.op === 'build-copy' ? r.copied : r.flattened)) for (const f of p.created) await rm(f, { recursive: true, force: true });
    }
    delete r.pending;
    await writeStorageRecord(this.dir, r);
  }

  /** Remove a layer nothing reads (an old top after a restore). */
  private async discard(r: StorageRecord, file: string): Promise<void> {
    if (Object.values(r.parents ?? {}).includes(file)) return;
    await rm(file, { force: true });
    if (r.parents) delete r.parents[file];
  }

  /**
   * Make `layer` unnecessary and remove it: whatever reads through it gets
   * its data first (the running top by QEMU's block-stream, other layers by
   * qemu-img rebase), then reads from its parent directly.
   */
  private async mergeAway(r: StorageRecord, layer: string, live: Live | undefined): Promise<void> {
    const parent = await this.parentOf(r, layer);
    if (live) {
      const chain = await live.vm.diskChain(live.id);
      if (chain.includes(layer)) {
        await live.vm.streamDisk(live.id, parent);
        r.parents = { ...(r.parents ?? {}), [chain[0]]: parent };
      }
    }
    // What still reads the layer is in parents (every layer this store made is): none of it is open in QEMU now.
    const children = Object.entries(r.parents ?? {}).filter(([, p]) => p === layer).map(([c]) => c);
    for (const c of children) {
      if (!(await exists(c)) || (await qcow2Info(c)).backing !== layer) continue;
      await rebase(c, parent);
      r.parents = { ...(r.parents ?? {}), [c]: parent };
    }
    await rm(layer, { force: true });
    if (r.parents) delete r.parents[layer];
    r.copyLayers = (r.copyLayers ?? []).filter((l) => l !== layer);
  }

  async deleteSnapshot(snapshotUid: string, live: Live | undefined): Promise<void> {
    const r = await this.record();
    const s = r.snapshots[snapshotUid];
    if (!s) return;
    r.pending = { op: 'delete-snapshot', snapshotUid };
    await writeStorageRecord(this.dir, r);
    // Another snapshot, or a copy layer, may be the very same file only by mistake; never remove a layer something else names.
    const shared = Object.values(r.snapshots).some((o) => o.uid !== snapshotUid && o.layer === s.layer) || (r.copyLayers ?? []).includes(s.layer ?? '');
    if (s.layer && !shared && (await exists(s.layer))) await this.mergeAway(r, s.layer, live);
    await rm(join(this.dir, 'snapshots', snapshotUid), { recursive: true, force: true });
    delete r.snapshots[snapshotUid];
    delete r.pending;
    await writeStorageRecord(this.dir, r);
  }

  /** Merge away copy layers no linked copy reads any more (`stillRead` says which are). */
  async collectCopyLayers(stillRead: boolean, live: Live | undefined): Promise<void> {
    const r = await this.record();
    if (stillRead || !r.copyLayers?.length) return;
    for (const l of [...r.copyLayers]) if (await exists(l)) await this.mergeAway(r, l, live);
    r.copyLayers = [];
    await writeStorageRecord(this.dir, r);
  }

  /** With the workload deleted: a new top on the snapshot's layer; the old top goes. The memory state to load, if any. */
  async restore(snapshotUid: string): Promise<{ state?: string }> {
    const r = await this.record();
    const s = r.snapshots[snapshotUid];
    if (!s?.layer) throw new SnapshotError(`snapshot ${snapshotUid} is not on this node`);
    const oldTop = r.activeDisk ?? this.initialDisk;
    const newTop = this.newLayer();
    r.pending = { op: 'restore', snapshotUid, newTop, oldTop };
    await writeStorageRecord(this.dir, r);
    await mkdir(join(this.dir, 'layers'), { recursive: true });
    await createOverlay(newTop, s.layer);
    failpoint('vm-restore-new-top');
    r.activeDisk = newTop;
    r.parents = { ...(r.parents ?? {}), [newTop]: s.layer };
    await writeStorageRecord(this.dir, r);
    // The old top: nothing reads it (a top is frozen before anything may), so it goes.
    if (oldTop !== s.layer) await this.discard(r, oldTop);
    delete r.pending;
    await writeStorageRecord(this.dir, r);
    return s.state && (await exists(s.state)) ? { state: s.state } : {};
  }

  /**
   * For a linked copy of the current state: freeze the top (as a snapshot
   * does, without one) and return the frozen layer, which the copy's top
   * will read from. Kept as a copy layer until no copy reads it.
   */
  async freezeForCopy(live: Live | undefined): Promise<string> {
    const r = await this.record();
    const oldTop = r.activeDisk ?? this.initialDisk;
    if (!(await exists(oldTop))) throw new SnapshotError('the source has no disk yet: start it once first');
    const newTop = this.newLayer();
    r.pending = { op: 'freeze-for-copy', newTop, oldTop };
    await writeStorageRecord(this.dir, r);
    await this.freezeTop(r, newTop, live, true);
    r.activeDisk = newTop;
    r.parents = { ...(r.parents ?? {}), [newTop]: oldTop };
    r.copyLayers = [...new Set([...(r.copyLayers ?? []), oldTop])];
    delete r.pending;
    await writeStorageRecord(this.dir, r);
    return oldTop;
  }

  /** A copy's first top, on `layer` of its source (O(1)). */
  async buildCopy(layer: string): Promise<void> {
    const r = await this.record();
    if (r.copied) return;
    const top = this.initialDisk;
    r.pending = { op: 'build-copy', created: [top] };
    await writeStorageRecord(this.dir, r);
    await rm(top, { force: true });
    await createOverlay(top, layer);
    failpoint('vm-copy-built');
    r.copied = true;
    r.parents = { ...(r.parents ?? {}), [top]: layer };
    delete r.pending;
    await writeStorageRecord(this.dir, r);
  }

  /**
   * Make this disk independent of every other instance: everything between
   * the top and the image's own disk is copied into the top (QEMU streams
   * it for a running VM). Snapshot layers of this instance keep reading
   * where they did; only a copy (whose layers are all the source's) is flattened.
   */
  async flatten(live: Live | undefined): Promise<void> {
    const r = await this.record();
    if (r.flattened) return;
    const top = r.activeDisk ?? this.initialDisk;
    const chain = JSON.parse(await run('qemu-img', ['info', '-U', '--backing-chain', '--output', 'json', top])) as Array<{ filename: string }>;
    const base = chain.length > 1 ? chain[chain.length - 1].filename : null;
    if (live) await live.vm.streamDisk(live.id, base);
    else await rebase(top, base);
    // Its own snapshot layers may still read from the source: flatten those too (they are not open by QEMU).
    for (const s of Object.values(r.snapshots)) if (s.layer && (await exists(s.layer))) await rebase(s.layer, base);
    r.parents = { ...(r.parents ?? {}), [top]: base };
    r.flattened = true;
    await writeStorageRecord(this.dir, r);
  }
}
