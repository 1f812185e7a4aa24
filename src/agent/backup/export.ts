// An instance's disk as an export: its files gathered in a staging dir in
// the instance's own dir (same file system: hard links where the data never
// changes, converted qcow2 files, a frozen copy of a container's writable
// layer), then one tar stream of it with lodge-export.json first.
//
// VM disks: one qcow2 file per snapshot layer plus the current top, each
// holding only its own clusters over the exported file of its nearest
// exported ancestor (named relative to it, in the same disks/ dir). The
// oldest holds the whole chain down to the image's disk (qemu-img convert),
// so the tarball is self-contained: a backup must not depend on an image
// build being byte-identical on the node it is restored to. Layers that are
// not exported (a copy layer, a source instance's layer) are merged into
// the file above them by a safe qemu-img rebase. Everything is read with -U:
// the export never opens a file for writing that a QEMU could have open.
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { run } from '../images/run.js';
import { qcow2Info } from '../storage/qcow2.js';
import type { SnapshotRecord, StorageRecord } from '../storage/storage-record.js';
import type { ExportDisk, ExportManifest, ExportSnapshot } from './manifest.js';

/** A Snapshot to export: its object's spec and its data's record. */
export interface SnapshotToExport {
  short: string;
  stateful: boolean;
  description?: string;
  expiresAt?: string;
  rec: SnapshotRecord;
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** A new staging dir in the instance's dir; leftovers of an export cut short (agent killed) go first. */
export async function newStagingDir(instanceDir: string, kind: 'export' | 'import'): Promise<string> {
  for (const e of await readdir(instanceDir).catch(() => [] as string[])) if (e.startsWith(`${kind}-`) && e.endsWith('.tmp')) await rm(join(instanceDir, e), { recursive: true, force: true });
  const dir = join(instanceDir, `${kind}-${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A file that never changes again, by a hard link (a copy where links cannot be made). */
async function linkFile(src: string, dst: string): Promise<void> {
  await link(src, dst).catch(() => copyFile(src, dst));
}

/** A tree that never changes again (a snapshot's layer or checkpoint): hard links, keeping dirs' xattrs and modes. */
export async function linkTree(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true });
  try {
    await run('cp', ['-a', '--link', `${src}/.`, dst]);
  } catch {
    await rm(dst, { recursive: true, force: true });
    await mkdir(dst, { recursive: true });
    await run('cp', ['-a', '--reflink=auto', `${src}/.`, dst]);
  }
}

/** Stage a VM's disks and memory states; the manifest's VM fields. */
export async function stageVm(rec: StorageRecord, initialDisk: string, snaps: SnapshotToExport[], staging: string): Promise<Pick<ExportManifest, 'disks' | 'current' | 'snapshots'>> {
  await mkdir(join(staging, 'disks'), { recursive: true });
  const top = resolve(rec.activeDisk ?? initialDisk);
  if (!(await exists(top))) throw new Error('the instance has no disk yet (it never started): there is nothing to export');
  // Sources in creation order (a layer is always older than what reads it), then the current top.
  const sources: Array<{ path: string; file: string }> = [];
  const fileOf = new Map<string, string>();
  for (const s of snaps) {
    const layer = resolve(s.rec.layer ?? '');
    if (!s.rec.layer || fileOf.has(layer)) continue;
    if (!(await exists(layer))) throw new Error(`snapshot ${s.short}: its layer ${layer} is missing`);
    const file = `disks/snap-${s.short}.qcow2`;
    sources.push({ path: layer, file });
    fileOf.set(layer, file);
  }
  if (!fileOf.has(top)) {
    sources.push({ path: top, file: 'disks/current.qcow2' });
    fileOf.set(top, 'disks/current.qcow2');
  }
  const parentOf = async (layer: string): Promise<string | null> => {
    const p = rec.parents && layer in rec.parents ? rec.parents[layer] : (await qcow2Info(layer)).backing;
    return p ? resolve(p) : null;
  };
  const disks: ExportDisk[] = [];
  for (const src of sources) {
    const direct = await parentOf(src.path);
    let ancestor: string | null = direct;
    while (ancestor && !fileOf.has(ancestor)) ancestor = await parentOf(ancestor);
    const out = join(staging, src.file);
    if (!ancestor || !direct) {
      // The oldest: the whole chain below it, the image's disk included.
      await run('qemu-img', ['convert', '-U', '-q', '-O', 'qcow2', src.path, out]);
      disks.push({ file: src.file, backing: null });
      continue;
    }
    const directFormat = (await qcow2Info(src.path)).backingFormat ?? 'qcow2';
    // Only the layer's own clusters, over its real parent...
    await run('qemu-img', ['convert', '-U', '-q', '-O', 'qcow2', '-B', direct, '-F', directFormat, src.path, out]);
    // ...then over the exported ancestor when layers between are not exported: what they held is copied in (safe rebase).
    if (ancestor !== direct) await run('qemu-img', ['rebase', '-U', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', ancestor, out]);
    const backing = fileOf.get(ancestor)!;
    // Named relative to the file (both in disks/), so the tarball's files read right wherever it is unpacked.
    await run('qemu-img', ['rebase', '-u', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', basename(backing), out]);
    disks.push({ file: src.file, backing });
  }
  const snapshots: ExportSnapshot[] = [];
  for (const s of snaps) {
    let state: string | undefined;
    if (s.rec.state && (await exists(s.rec.state))) {
      state = `snapshots/${s.short}/memory.state`;
      await mkdir(join(staging, 'snapshots', s.short), { recursive: true });
      await linkFile(s.rec.state, join(staging, state));
    }
    snapshots.push({ ...common(s), disk: fileOf.get(resolve(s.rec.layer ?? ''))!, ...(s.rec.frozen ? { frozen: true } : {}), ...(state ? { state } : {}) });
  }
  return { disks, current: fileOf.get(top)!, snapshots };
}

const common = (s: SnapshotToExport): ExportSnapshot => ({
  name: s.short,
  stateful: !!s.rec.state,
  createdAt: s.rec.createdAt,
  ...(s.description ? { description: s.description } : {}),
  ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}),
});

/**
 * Stage a container's layers. `copyUpper` copies the writable layer into
 * its destination (frozen for a running container: the caller's freezer).
 */
export async function stageContainer(rec: StorageRecord, snaps: SnapshotToExport[], staging: string, copyUpper: (dst: string) => Promise<void>): Promise<Pick<ExportManifest, 'upper' | 'lower' | 'snapshots'>> {
  await copyUpper(join(staging, 'upper'));
  let lower: string | undefined;
  if (rec.lowerLayer) {
    if (!(await exists(rec.lowerLayer))) throw new Error(`the linked copy's source layer ${rec.lowerLayer} is missing`);
    // Merged into the export as its own dir: the tarball must not need the source instance.
    await linkTree(rec.lowerLayer, join(staging, 'lower'));
    lower = 'lower';
  }
  const snapshots: ExportSnapshot[] = [];
  for (const s of snaps) {
    if (!s.rec.upper || !(await exists(s.rec.upper))) throw new Error(`snapshot ${s.short}: its layer ${s.rec.upper ?? '(none)'} is missing`);
    const base = `snapshots/${s.short}`;
    await linkTree(s.rec.upper, join(staging, base, 'upper'));
    let state: string | undefined;
    if (s.rec.state && (await exists(s.rec.state))) {
      state = `${base}/checkpoint`;
      await linkTree(s.rec.state, join(staging, state));
    }
    snapshots.push({ ...common(s), upper: `${base}/upper`, ...(state ? { state } : {}) });
  }
  return { upper: 'upper', ...(lower ? { lower } : {}), snapshots };
}
