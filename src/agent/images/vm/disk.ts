// A root disk from a directory without loop mounts (no privileges, no
// mount namespace): mkfs.ext4 -d populates the filesystem as it makes it,
// then qemu-img turns the sparse raw file into a compact qcow2.
import { rm } from 'node:fs/promises';
import { run } from '../run.js';

export const DEFAULT_ROOT_DISK_BYTES = 128 << 20;

export async function ext4DiskFromDir(dir: string, qcow2: string, opts: { sizeBytes?: number; label?: string } = {}): Promise<void> {
  const raw = `${qcow2}.raw`;
  try {
    const size = opts.sizeBytes ?? DEFAULT_ROOT_DISK_BYTES;
    // Initialise inode tables and journal now: left lazy, the guest's
    // ext4lazyinit thread would write them at first boot, into every VM's
    // overlay. Zeros written here cost nothing: qemu-img skips them.
    await run('mkfs.ext4', ['-q', '-F', '-L', opts.label ?? 'lodge-root', '-E', 'lazy_itable_init=0,lazy_journal_init=0', '-d', dir, raw, `${Math.ceil(size / 1024)}k`]).catch((e: Error) => {
      throw new Error(`making the root filesystem from ${dir}: ${e.message}`);
    });
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]).catch((e: Error) => {
      throw new Error(`converting the root disk to qcow2: ${e.message}`);
    });
  } finally {
    await rm(raw, { force: true });
  }
}
