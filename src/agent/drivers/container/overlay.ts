// The copy-on-write root of a container: overlayfs with the image layers as
// lowerdirs and the writable upper/work dirs in the container's state dir.
// Mounted in the host's mount namespace so it outlives the agent (a
// re-adopted container keeps its root) and unmounted only by delete.
import { stat } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { mustRun, runCommand } from './command.js';
import { isMountPoint } from './mountinfo.js';

// mount(2) takes its options in one page; longer lowerdir lists must be
// shortened (containerd does the same: relative paths from a common parent).
const MAX_MOUNT_DATA = 4095;

export interface OverlayDirs {
  /** Topmost first, as overlayfs wants them. */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  target: string;
}

export async function mountOverlay(d: OverlayDirs): Promise<void> {
  if (d.lowerDirs.length === 0) throw new Error(`overlay for ${d.target}: rootfs has no lower dirs`);
  for (const dir of d.lowerDirs) {
    // ':' separates lowerdirs and ',' separates options: such a path cannot be expressed unescaped.
    if (/[:,\n]/.test(dir)) throw new Error(`overlay for ${d.target}: layer path ${JSON.stringify(dir)} contains ':' ',' or a newline`);
    const s = await stat(dir).catch((e: Error) => {
      throw new Error(`overlay for ${d.target}: layer ${dir} is not readable: ${e.message}`);
    });
    if (!s.isDirectory()) throw new Error(`overlay for ${d.target}: layer ${dir} is not a directory`);
  }
  let options = overlayOptions(d.lowerDirs, d.upperDir, d.workDir);
  let cwd: string | undefined;
  if (options.length > MAX_MOUNT_DATA) {
    cwd = commonParent(d.lowerDirs);
    options = overlayOptions(
      d.lowerDirs.map((l) => relative(cwd as string, l) || '.'),
      d.upperDir,
      d.workDir,
    );
    if (options.length > MAX_MOUNT_DATA) throw new Error(`overlay for ${d.target}: ${d.lowerDirs.length} layers do not fit in one mount (options are ${options.length} bytes)`);
  }
  await mustRun(['mount', '-t', 'overlay', 'overlay', '-o', options, d.target], { cwd });
}

function overlayOptions(lower: string[], upper: string, work: string): string {
  return `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`;
}

function commonParent(paths: string[]): string {
  let prefix = dirname(paths[0]);
  while (!paths.every((p) => p === prefix || p.startsWith(prefix.endsWith(sep) ? prefix : prefix + sep))) prefix = dirname(prefix);
  return prefix;
}

/**
 * Unmount the container root if it is mounted. Busy means a process still
 * uses it: retry briefly (a killed container's last process may still be
 * exiting), then detach lazily so delete never leaves it mounted for good.
 */
export async function unmountOverlay(target: string, onLazy: (error: string) => void): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    if (!(await isMountPoint(target))) return;
    const r = await runCommand(['umount', target]);
    if (r.code === 0) continue;
    if (!/busy/i.test(r.stderr)) throw new Error(`umount ${target} failed: ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 20 * (attempt + 1)));
  }
  if (!(await isMountPoint(target))) return;
  onLazy('still busy after retries');
  await mustRun(['umount', '-l', target]);
}
