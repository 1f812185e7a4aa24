// A system container's disk: the image's layers under the instance's
// writable layer (upper/). A snapshot is a copy of the writable layer only,
// never of the image (reflinked where the file system can); a stateful one
// also holds a CRIU checkpoint of the running processes. A restore puts a
// copy of the snapshot's layer back as the writable layer. A linked copy
// mounts its source's snapshot layer read-only between the image and its
// own writable layer (O(1)); flattening copies that layer into the copy's
// own dir.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotError } from './vm-disk-store.js';
import { readStorageRecord, writeStorageRecord, type SnapshotRecord, type StorageRecord } from './storage-record.js';
import { copyTree, treeBytes } from './tree-copy.js';
import { exists } from '../images/fsutil.js';
import { failpoint } from '../../util/failpoint.js';

/** What the container driver does for the store on a running container. */
export interface LiveContainer {
  id: string;
  paused: boolean;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  checkpoint(id: string, imageDir: string, opts: { leaveRunning: boolean }): Promise<void>;
}


export class ContainerLayerStore {
  constructor(readonly dir: string) {}

  get upper(): string {
    return join(this.dir, 'upper');
  }

  async record(): Promise<StorageRecord> {
    return readStorageRecord(this.dir);
  }

  /** The read-only layers: a linked copy's source layer above the image's. */
  async lowerDirs(imageLowers: string[]): Promise<string[]> {
    const r = await this.record();
    return r.lowerLayer ? [r.lowerLayer, ...imageLowers] : imageLowers;
  }

  /** Copy the writable layer with the container frozen, so the copy is of one moment. */
  private async copyUpper(from: string, to: string, live: LiveContainer | undefined): Promise<void> {
    const freeze = live && !live.paused;
    if (freeze) await live.pause(live.id);
    try {
      await copyTree(from, to);
    } finally {
      if (freeze) await live.resume(live.id);
    }
  }

  async snapshot(snap: { uid: string; name: string; stateful: boolean }, live: LiveContainer | undefined, criu?: () => Promise<string | undefined>): Promise<SnapshotRecord> {
    const r = await this.record();
    if (r.snapshots[snap.uid]) return r.snapshots[snap.uid];
    if (snap.stateful && !live) throw new SnapshotError('a stateful snapshot needs the instance running: a stopped container has no processes to save');
    if (snap.stateful) {
      const why = await criu?.();
      if (why) throw new SnapshotError(`stateful container snapshots need CRIU: ${why}`);
    }
    const dir = join(this.dir, 'snapshots', snap.uid);
    r.pending = { op: 'snapshot', snapshotUid: snap.uid, name: snap.name, dir };
    await writeStorageRecord(this.dir, r);
    const partial = `${dir}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    // CRIU first (it freezes the processes itself and leaves them running), then the layer, frozen by the freezer.
    if (snap.stateful && live) await live.checkpoint(live.id, join(partial, 'checkpoint'), { leaveRunning: true });
    await this.copyUpper(this.upper, join(partial, 'upper'), live);
    failpoint('container-snapshot-copied');
    await rename(partial, dir);
    return this.commitSnapshot(r, snap.uid, snap.name, dir);
  }

  private async commitSnapshot(r: StorageRecord, uid: string, name: string, dir: string): Promise<SnapshotRecord> {
    const state = join(dir, 'checkpoint');
    const rec: SnapshotRecord = { uid, name, createdAt: new Date().toISOString(), upper: join(dir, 'upper'), sizeBytes: await treeBytes(dir), ...((await exists(state)) ? { state } : {}) };
    r.snapshots[uid] = rec;
    delete r.pending;
    await writeStorageRecord(this.dir, r);
    return rec;
  }

  /** Finish or roll back what an agent killed mid-operation left. */
  async recover(): Promise<void> {
    const r = await this.record();
    const p = r.pending;
    if (!p) return;
    if (p.op === 'snapshot') {
      // Renamed into place means complete.
      if (await exists(p.dir)) return void (await this.commitSnapshot(r, p.snapshotUid, p.name, p.dir));
      await rm(`${p.dir}.partial`, { recursive: true, force: true });
    } else if (p.op === 'delete-snapshot') {
      delete r.pending;
      await writeStorageRecord(this.dir, r);
      return this.deleteSnapshot(p.snapshotUid);
    } else if (p.op === 'restore') {
      await this.finishSwap();
    } else if (p.op === 'build-copy' || p.op === 'flatten') {
      if (!(p.op === 'build-copy' ? r.copied : r.flattened)) for (const f of p.created) await rm(f, { recursive: true, force: true });
    }
    delete r.pending;
    await writeStorageRecord(this.dir, r);
  }

  async deleteSnapshot(snapshotUid: string): Promise<void> {
    const r = await this.record();
    if (!r.snapshots[snapshotUid]) return;
    r.pending = { op: 'delete-snapshot', snapshotUid };
    await writeStorageRecord(this.dir, r);
    await rm(join(this.dir, 'snapshots', snapshotUid), { recursive: true, force: true });
    delete r.snapshots[snapshotUid];
    delete r.pending;
    await writeStorageRecord(this.dir, r);
  }

  /** upper.new → upper, the old one removed; safe to run again after a crash at any point. */
  private async finishSwap(): Promise<void> {
    const next = join(this.dir, 'upper.new');
    const old = join(this.dir, 'upper.old');
    if (await exists(next)) {
      if (await exists(this.upper)) await rename(this.upper, old);
      await rename(next, this.upper);
    }
    await rm(old, { recursive: true, force: true });
    await rm(`${next}.partial`, { recursive: true, force: true });
    // overlayfs's work dir must not hold leftovers of another upper.
    await rm(join(this.dir, 'work'), { recursive: true, force: true });
  }

  /** With the workload deleted: the snapshot's layer becomes the writable layer again. The checkpoint to restore from, if any. */
  async restore(snapshotUid: string): Promise<{ state?: string }> {
    const r = await this.record();
    const s = r.snapshots[snapshotUid];
    if (!s?.upper) throw new SnapshotError(`snapshot ${snapshotUid} is not on this node`);
    r.pending = { op: 'restore', snapshotUid };
    await writeStorageRecord(this.dir, r);
    await copyTree(s.upper, join(this.dir, 'upper.new'));
    failpoint('container-restore-copied');
    await this.finishSwap();
    delete r.pending;
    await writeStorageRecord(this.dir, r);
    return s.state && (await exists(s.state)) ? { state: s.state } : {};
  }

  /**
   * A copy's disk: linked to a source snapshot's layer (O(1)), or a copy of
   * a layer (the source's current writable layer, frozen while copied, or a
   * snapshot's for --full). A fresh identity either way: an empty
   * /etc/machine-id, which systemd fills with a new one at the first boot.
   */
  async buildCopy(from: { linkedLayer: string } | { copyOf: string; live?: LiveContainer }, imageLowers: string[]): Promise<void> {
    const r = await this.record();
    if (r.copied) return;
    const created = [this.upper, join(this.dir, 'lower')];
    r.pending = { op: 'build-copy', created };
    await writeStorageRecord(this.dir, r);
    await rm(this.upper, { recursive: true, force: true });
    if ('linkedLayer' in from) {
      r.lowerLayer = from.linkedLayer;
      await mkdir(this.upper, { recursive: true });
    } else {
      await this.copyUpper(from.copyOf, this.upper, from.live);
    }
    failpoint('container-copy-built');
    const lowers = await this.lowerDirs(imageLowers);
    if (await anyHas([this.upper, ...(r.lowerLayer ? [r.lowerLayer] : []), ...lowers], 'etc/machine-id')) {
      await mkdir(join(this.upper, 'etc'), { recursive: true });
      await writeFile(join(this.upper, 'etc', 'machine-id'), '');
    }
    r.copied = true;
    if (!('linkedLayer' in from)) r.flattened = true;
    delete r.pending;
    await writeStorageRecord(this.dir, r);
  }

  /** Copy the source's layer into this instance's own dir; the workload must be made again to use it. True when something changed. */
  async flatten(): Promise<boolean> {
    const r = await this.record();
    if (r.flattened) return false;
    if (r.lowerLayer) {
      const own = join(this.dir, 'lower');
      r.pending = { op: 'flatten', created: [own] };
      await writeStorageRecord(this.dir, r);
      if (!(await exists(own))) await copyTree(r.lowerLayer, own);
      r.lowerLayer = own;
    }
    r.flattened = true;
    delete r.pending;
    await writeStorageRecord(this.dir, r);
    return true;
  }
}

async function anyHas(dirs: string[], rel: string): Promise<boolean> {
  for (const d of dirs) if (await exists(join(d, rel))) return true;
  return false;
}

export { SnapshotError };
