// Copies of container layers: `cp -a` keeps what overlayfs needs in a
// layer (owners, modes, hard links, whiteouts as 0/0 character devices,
// trusted.overlay.* xattrs), and --reflink=auto shares the blocks where
// the file system can (btrfs, xfs), so a copy there costs metadata only.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { run } from '../images/run.js';

/** Copy the contents of `src` into a new dir `dst`, atomically: made under another name, renamed when whole. */
export async function copyTree(src: string, dst: string): Promise<void> {
  const partial = `${dst}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  if (await stat(src).then(() => true, () => false)) await run('cp', ['-a', '--reflink=auto', `${src}/.`, partial]);
  await rename(partial, dst);
}

/** Bytes a tree takes on disk (du), 0 when it is gone. */
export async function treeBytes(dir: string): Promise<number> {
  try {
    return Number((await run('du', ['-s', '-B1', dir])).split(/\s/)[0]) || 0;
  } catch {
    return 0;
  }
}
