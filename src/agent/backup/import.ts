// An export written into an instance's dir: unpacked into a staging dir
// there, checked against its manifest, then moved into place (renames on
// one file system) and described by a new storage record, written last —
// the record is what makes the data the instance's. Whatever fails before
// that removes what was moved and the staging dir, so a failed import
// leaves the dir as it was (and a killed agent's leftovers go with the
// Instance, which `lodge import` deletes on failure).
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../images/run.js';
import { allocatedBytes } from '../storage/qcow2.js';
import { writeStorageRecord, type SnapshotRecord, type StorageRecord } from '../storage/storage-record.js';
import { treeBytes } from '../storage/tree-copy.js';
import type { ExportManifest } from './manifest.js';

/** Thrown for content that does not match its manifest (a 400 to the caller). */
export class BadExportError extends Error {}

const kindOf = async (p: string): Promise<'file' | 'dir' | undefined> => {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
};

async function need(staging: string, rel: string, kind: 'file' | 'dir'): Promise<string> {
  const p = join(staging, rel);
  if ((await kindOf(p)) !== kind) throw new BadExportError(`the tarball has no ${kind === 'dir' ? 'directory' : 'file'} ${rel}, which its manifest names`);
  return p;
}

/** A qcow2 file of the tarball, before its backing is set: qcow2 (info does not open the backing file), no external data file. */
async function checkQcow2Header(file: string, rel: string): Promise<void> {
  let info: { format?: string; 'format-specific'?: { data?: { 'data-file'?: string } } };
  try {
    info = JSON.parse(await run('qemu-img', ['info', '-f', 'qcow2', '--output', 'json', file])) as typeof info;
  } catch (e) {
    throw new BadExportError(`${rel} is not a qcow2 image: ${(e as Error).message}`);
  }
  // An external data file would make the disk read (and write) a host file the tarball chose.
  if (info['format-specific']?.data?.['data-file']) throw new BadExportError(`${rel} names an external data file; exports never do`);
}

/** Its metadata consistent (qemu-img check), once its backing is the file the manifest says. */
async function checkQcow2(file: string, rel: string): Promise<void> {
  try {
    await run('qemu-img', ['check', '-q', '-f', 'qcow2', file]);
  } catch (e) {
    throw new BadExportError(`${rel} is not a sound qcow2 image: ${(e as Error).message}`);
  }
}

/** Undo steps of an import, run in reverse when it fails before its record is written. */
class Undo {
  private readonly steps: Array<() => Promise<unknown>> = [];
  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const s of this.steps.reverse()) await s().catch(() => undefined);
  }
}

const newLayer = (dir: string): string => join(dir, 'layers', `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.qcow2`);

/** The snapshots of the manifest with their Snapshot objects' uids and names. */
export type SnapshotIds = Map<string, { uid: string; objectName: string }>;

/** Move a VM export's files into the instance's dir; returns its storage record (not yet written). */
async function placeVm(m: ExportManifest, staging: string, dir: string, ids: SnapshotIds, undo: Undo): Promise<StorageRecord> {
  const pathOf = new Map<string, string>();
  const parents: Record<string, string | null> = {};
  await mkdir(join(dir, 'layers'), { recursive: true });
  for (const d of m.disks ?? []) {
    const src = await need(staging, d.file, 'file');
    await checkQcow2Header(src, d.file);
    // The backing comes from the manifest, never from the file's header: the file names only what we say it does.
    // (An unsafe rebase opens no backing file.)
    const backing = d.backing === null ? null : pathOf.get(d.backing)!;
    await run('qemu-img', ['rebase', '-u', '-q', '-f', 'qcow2', ...(backing ? ['-F', 'qcow2', '-b', backing] : ['-b', '']), src]);
    const dst = newLayer(dir);
    await rename(src, dst);
    undo.add(() => rm(dst, { force: true }));
    await checkQcow2(dst, d.file);
    pathOf.set(d.file, dst);
    parents[dst] = backing;
  }
  const r: StorageRecord = { activeDisk: pathOf.get(m.current!)!, parents, snapshots: {} };
  for (const s of m.snapshots) {
    const id = ids.get(s.name)!;
    const layer = pathOf.get(s.disk!)!;
    const sdir = join(dir, 'snapshots', id.uid);
    await mkdir(sdir, { recursive: true });
    undo.add(() => rm(sdir, { recursive: true, force: true }));
    let state: string | undefined;
    if (s.state) {
      state = join(sdir, 'memory.state');
      await rename(await need(staging, s.state, 'file'), state);
    }
    const sizeBytes = (await allocatedBytes(layer).catch(() => 0)) + (state ? await allocatedBytes(state).catch(() => 0) : 0);
    r.snapshots[id.uid] = { uid: id.uid, name: id.objectName, createdAt: s.createdAt, layer, frozen: !!s.frozen, sizeBytes, ...(state ? { state } : {}) } satisfies SnapshotRecord;
  }
  return r;
}

/** Move a container export's trees into the instance's dir; returns its storage record (not yet written). */
async function placeContainer(m: ExportManifest, staging: string, dir: string, ids: SnapshotIds, undo: Undo): Promise<StorageRecord> {
  const r: StorageRecord = { snapshots: {} };
  const upper = join(dir, 'upper');
  const src = await need(staging, m.upper!, 'dir');
  // Checked empty by the caller: an instance never started has at most an empty upper/ (and work/).
  await rm(upper, { recursive: true, force: true });
  await rm(join(dir, 'work'), { recursive: true, force: true });
  await rename(src, upper);
  undo.add(async () => {
    await rm(upper, { recursive: true, force: true });
    await mkdir(upper, { recursive: true });
  });
  if (m.lower) {
    const lower = join(dir, 'lower');
    await rename(await need(staging, m.lower, 'dir'), lower);
    undo.add(() => rm(lower, { recursive: true, force: true }));
    r.lowerLayer = lower;
  }
  for (const s of m.snapshots) {
    const id = ids.get(s.name)!;
    const sdir = join(dir, 'snapshots', id.uid);
    await mkdir(sdir, { recursive: true });
    undo.add(() => rm(sdir, { recursive: true, force: true }));
    const sUpper = join(sdir, 'upper');
    await rename(await need(staging, s.upper!, 'dir'), sUpper);
    let state: string | undefined;
    if (s.state) {
      state = join(sdir, 'checkpoint');
      await rename(await need(staging, s.state, 'dir'), state);
    }
    r.snapshots[id.uid] = { uid: id.uid, name: id.objectName, createdAt: s.createdAt, upper: sUpper, sizeBytes: await treeBytes(sdir), ...(state ? { state } : {}) };
  }
  return r;
}

/** Whether the instance's dir already holds disk data (an import goes only into an empty instance). */
export async function hasDiskData(dir: string, rec: StorageRecord): Promise<string | undefined> {
  if (rec.activeDisk || Object.keys(rec.snapshots).length || rec.lowerLayer) return 'it already has a disk or snapshots';
  if (await kindOf(join(dir, 'disk.qcow2'))) return 'it already has a disk';
  const upper = await readdir(join(dir, 'upper')).catch(() => [] as string[]);
  if (upper.length) return 'its writable layer is not empty';
  return undefined;
}

/** Place an unpacked export (in `staging`) into instance dir `dir` and write its record. */
export async function placeImport(m: ExportManifest, staging: string, dir: string, ids: SnapshotIds, firstBootMarker: string): Promise<StorageRecord> {
  const undo = new Undo();
  try {
    const r = m.type === 'vm' ? await placeVm(m, staging, dir, ids, undo) : await placeContainer(m, staging, dir, ids, undo);
    if (m.type === 'container' && m.firstBootWritten) {
      // The layer already has cloud-init's first-boot files: writing them again would undo the guest's own changes.
      await mkdir(resolve(firstBootMarker, '..'), { recursive: true });
      await writeFile(firstBootMarker, new Date().toISOString());
      undo.add(() => rm(firstBootMarker, { force: true }));
    }
    await writeStorageRecord(dir, r);
    return r;
  } catch (e) {
    await undo.run();
    throw e;
  }
}
