// lodge-export.json: the first member of an export tarball, so a reader
// (the CLI before it creates anything, the node before it writes anything)
// knows what the rest is. Paths are relative to the tarball's root.
//
//   VM:        disks/<n>.qcow2, each with its backing file named relative to
//              it (another disks/ file; the oldest has none: it holds the
//              image's data too, so the tarball needs nothing else);
//              snapshots/<snap>/memory.state for stateful snapshots.
//   Container: upper/ (the writable layer), lower/ (a linked copy's source
//              layer, when it had one), snapshots/<snap>/upper and
//              snapshots/<snap>/checkpoint (CRIU) — overlayfs trees as GNU
//              tar stores them with --xattrs (whiteouts, opaque dirs).
import type { InstanceSpec } from '../../apis/lodge/v1alpha1/instance-types.js';

export const EXPORT_FORMAT = 1;
export const MANIFEST_NAME = 'lodge-export.json';

/** A qcow2 file of a VM export and the file it reads through (null: none). */
export interface ExportDisk {
  file: string;
  backing: string | null;
}

export interface ExportSnapshot {
  /** The short name (the Snapshot object is <instance>.<name>). */
  name: string;
  stateful: boolean;
  createdAt: string;
  description?: string;
  expiresAt?: string;
  /** VM: whether file systems were frozen through the guest agent. */
  frozen?: boolean;
  /** VM: the disk file of its frozen layer. Container: its upper dir. */
  disk?: string;
  upper?: string;
  /** The memory state: a VM's state file, a container's CRIU dir. */
  state?: string;
}

export interface ExportManifest {
  format: number;
  exportedAt: string;
  type: 'container' | 'vm';
  image: string;
  instance: { name: string; labels?: Record<string, string>; spec: InstanceSpec };
  /** VM: every qcow2 file, parents before children. */
  disks?: ExportDisk[];
  /** VM: the current top (one of disks). */
  current?: string;
  /** Container: the writable layer and a linked copy's lower layer. */
  upper?: string;
  lower?: string;
  /** Container: whether Lodge already wrote cloud-init's first-boot files into upper (not to be written again). */
  firstBootWritten?: boolean;
  /** In creation order. */
  snapshots: ExportSnapshot[];
}

const SNAPSHOT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]+$/;

/** The manifest of a tarball, checked: throws an Error naming what is wrong. */
export function parseManifest(text: string): ExportManifest {
  let m: ExportManifest;
  try {
    m = JSON.parse(text) as ExportManifest;
  } catch (e) {
    throw new Error(`${MANIFEST_NAME} is not JSON: ${(e as Error).message}`);
  }
  if (!m || typeof m !== 'object') throw new Error(`${MANIFEST_NAME} is not an object`);
  if (m.format !== EXPORT_FORMAT) throw new Error(`${MANIFEST_NAME} has format ${JSON.stringify(m.format)}; this Lodge reads format ${EXPORT_FORMAT}`);
  if (m.type !== 'vm' && m.type !== 'container') throw new Error(`${MANIFEST_NAME}: type must be vm or container, not ${JSON.stringify(m.type)}`);
  if (typeof m.image !== 'string' || !m.image) throw new Error(`${MANIFEST_NAME}: no image`);
  if (!m.instance || typeof m.instance.name !== 'string' || !m.instance.spec || typeof m.instance.spec !== 'object') throw new Error(`${MANIFEST_NAME}: no instance name or spec`);
  if (!Array.isArray(m.snapshots)) throw new Error(`${MANIFEST_NAME}: snapshots must be a list`);
  const path = (what: string, p: unknown): void => {
    if (typeof p !== 'string' || !SAFE_PATH.test(p)) throw new Error(`${MANIFEST_NAME}: ${what} has an unsafe path ${JSON.stringify(p)}`);
  };
  const seen = new Set<string>();
  for (const s of m.snapshots) {
    if (typeof s?.name !== 'string' || !SNAPSHOT_NAME.test(s.name)) throw new Error(`${MANIFEST_NAME}: bad snapshot name ${JSON.stringify(s?.name)}`);
    if (seen.has(s.name)) throw new Error(`${MANIFEST_NAME}: snapshot ${s.name} is listed twice`);
    seen.add(s.name);
    if (typeof s.createdAt !== 'string') throw new Error(`${MANIFEST_NAME}: snapshot ${s.name} has no createdAt`);
    if (s.state !== undefined) path(`snapshot ${s.name}'s state`, s.state);
    if (m.type === 'vm') path(`snapshot ${s.name}'s disk`, s.disk);
    else path(`snapshot ${s.name}'s upper`, s.upper);
  }
  if (m.type === 'vm') {
    if (!Array.isArray(m.disks) || !m.disks.length) throw new Error(`${MANIFEST_NAME}: a VM export lists no disks`);
    const files = new Set<string>();
    for (const d of m.disks) {
      path('a disk', d?.file);
      if (d.backing !== null && !files.has(d.backing)) throw new Error(`${MANIFEST_NAME}: disk ${d.file} reads through ${JSON.stringify(d.backing)}, which is not listed before it`);
      files.add(d.file);
    }
    if (!m.current || !files.has(m.current)) throw new Error(`${MANIFEST_NAME}: the current disk ${JSON.stringify(m.current)} is not one of the disks`);
    for (const s of m.snapshots) if (!files.has(s.disk ?? '')) throw new Error(`${MANIFEST_NAME}: snapshot ${s.name}'s disk ${s.disk} is not one of the disks`);
  } else {
    path('upper', m.upper);
    if (m.lower !== undefined) path('lower', m.lower);
  }
  return m;
}

/**
 * The manifest from the first 512-byte tar header and what follows it, when
 * `head` holds them: the tarball's first member must be lodge-export.json.
 * Returns the size it needs when head is too short; throws naming the problem.
 */
export function manifestFromTarHead(head: Buffer): { manifest: ExportManifest } | { need: number } {
  if (head.length < 512) return { need: 512 };
  const magic = head.subarray(257, 262).toString('latin1');
  const name = head.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
  if (magic !== 'ustar') throw new Error('not a tar archive (no ustar header at its start)');
  if (name !== MANIFEST_NAME && name !== `./${MANIFEST_NAME}`) throw new Error(`not a Lodge export: its first member is ${JSON.stringify(name)}, not ${MANIFEST_NAME}`);
  const size = parseInt(head.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || 'x', 8);
  if (!Number.isFinite(size) || size <= 0 || size > 16 * 1024 * 1024) throw new Error(`not a Lodge export: ${MANIFEST_NAME} has an unreadable size`);
  if (head.length < 512 + size) return { need: 512 + size };
  return { manifest: parseManifest(head.subarray(512, 512 + size).toString('utf8')) };
}
