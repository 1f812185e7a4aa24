// What the node keeps about an instance's disk besides the files
// themselves: which file is the writable top, the snapshots and the layer
// each froze, layers kept for linked copies, and an operation in flight.
// <instance dir>/storage.json, replaced atomically (write + rename), so a
// SIGKILL at any moment leaves the old record or the new one, never half.
// A multi-step operation writes its intent (pending) first and the outcome
// last: a restarted agent finishes or rolls back what the intent names
// (recover() of each store), so no half-made snapshot is ever visible and no
// file is leaked.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SnapshotRecord {
  /** The Snapshot object's uid and name. */
  uid: string;
  name: string;
  createdAt: string;
  /** VM: the qcow2 layer frozen at the snapshot (never written again; never moved: later layers name it as their backing file). */
  layer?: string;
  /** Container: a copy of the writable layer at the snapshot. */
  upper?: string;
  /** Memory state: a VM's migration stream file, a container's CRIU image dir. */
  state?: string;
  /** Whether file systems were frozen through the guest agent (VMs), else crash-consistent. */
  frozen?: boolean;
  sizeBytes?: number;
}

export type PendingOp =
  | { op: 'snapshot'; snapshotUid: string; name: string; dir: string; newTop?: string; oldTop?: string }
  | { op: 'delete-snapshot'; snapshotUid: string }
  | { op: 'restore'; snapshotUid: string; newTop?: string; oldTop?: string }
  | { op: 'freeze-for-copy'; newTop: string; oldTop: string }
  | { op: 'build-copy'; created: string[] }
  | { op: 'flatten'; created: string[] };

export interface StorageRecord {
  /** VM: the writable top of the root disk (absolute path). Unset: the instance's disk.qcow2 (made at first start). */
  activeDisk?: string;
  /** VM: the backing file of every layer this instance made (layer → parent), to find a layer's children without opening files. */
  parents?: Record<string, string | null>;
  /** By Snapshot uid. */
  snapshots: Record<string, SnapshotRecord>;
  /** VM layers frozen for a linked copy of the current state (no snapshot of their own): merged away once no copy reads them. */
  copyLayers?: string[];
  /** Container: a linked copy's extra read-only layer (its source snapshot's upper), above the image's layers. */
  lowerLayer?: string;
  /** A copy (spec.source): its disk has been made from the source. */
  copied?: boolean;
  /** A copy's disk no longer reads from its source. */
  flattened?: boolean;
  pending?: PendingOp;
}

export const recordPath = (dir: string): string => join(dir, 'storage.json');

export async function readStorageRecord(dir: string): Promise<StorageRecord> {
  try {
    const r = JSON.parse(await readFile(recordPath(dir), 'utf8')) as StorageRecord;
    r.snapshots ??= {};
    return r;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { snapshots: {} };
    throw new Error(`unreadable storage record in ${dir}: ${(e as Error).message}`);
  }
}

export async function writeStorageRecord(dir: string, r: StorageRecord): Promise<void> {
  const path = recordPath(dir);
  await writeFile(`${path}.tmp`, JSON.stringify(r, null, 1));
  await rename(`${path}.tmp`, path);
}
