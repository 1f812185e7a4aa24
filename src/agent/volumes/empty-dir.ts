// emptyDir volumes: one directory per volume under the Pod's state dir, made
// on first use and kept until the Pod goes, so it is shared by all of the
// Pod's containers (init containers included) and outlives container
// restarts. `medium: Memory` puts a tmpfs there (sizeLimit as its size),
// mounted on the host side once and bind-mounted into each container like
// any other emptyDir; PodSandboxes.remove unmounts it with the Pod.
import { execFile } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parseQuantity } from '../../apis/core/v1/quantity.js';
import { readMountinfo } from '../drivers/container/mountinfo.js';

const run = promisify(execFile);

export interface EmptyDirSource {
  medium?: string;
  sizeLimit?: string | number;
}

/** Make the volume's directory (world-writable, as the kubelet makes it) and its tmpfs when asked for. */
export async function ensureEmptyDir(dir: string, src: EmptyDirSource, volume: string): Promise<void> {
  if (src.medium && src.medium !== 'Memory') throw new Error(`volume "${volume}": emptyDir medium ${JSON.stringify(src.medium)} is not supported (use "" or Memory)`);
  await mkdir(dir, { recursive: true });
  if (src.medium === 'Memory') {
    const size = parseQuantity(src.sizeLimit);
    await ensureTmpfs(dir, size && size > 0 ? Math.ceil(size) : undefined, 0o777);
  } else {
    // mkdir honours the umask; the kubelet's emptyDir is 0777 so any user in any container can write.
    await chmod(dir, 0o777);
  }
}

/** A tmpfs at dir unless one is there already (a restarted agent finds it mounted). */
export async function ensureTmpfs(dir: string, sizeBytes: number | undefined, mode: number): Promise<void> {
  if ((await readMountinfo()).some((m) => m.mountPoint === dir)) return;
  const opts = ['nodev', 'nosuid', `mode=${mode.toString(8).padStart(4, '0')}`, ...(sizeBytes ? [`size=${sizeBytes}`] : [])];
  try {
    await run('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
  } catch (e) {
    throw new Error(`cannot mount a tmpfs at ${dir}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim()}`);
  }
}

/** Unmount everything mounted at or below dir, deepest first (a mount point listed twice is unmounted twice). Idempotent; throws if a mount stays. */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = (await readMountinfo())
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      await run('umount', [p]);
    } catch (e) {
      // Busy (a process still has a file open there): detach it so the dir can go; the memory is freed with the last user.
      try {
        await run('umount', ['-l', p]);
      } catch {
        throw new Error(`cannot unmount ${p}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim()}`);
      }
    }
  }
}
