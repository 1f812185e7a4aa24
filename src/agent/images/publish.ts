// Publishing an instance as an image (a template): the files of one layer
// of its disk over what lies below it, made independent of the instance.
// A VM's layer chain is written out as one standalone qcow2 and imported
// with the kernel of the image the instance came from; a system
// container's layer is mounted read-only over its lower layers (overlayfs
// applies the whiteouts), tarred, and imported as a rootfs image.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { mustRun, runCommand } from '../drivers/container/command.js';
import { isMountPoint, readMountinfo } from '../drivers/container/mountinfo.js';
import type { ImageConfig } from '../runtime/driver.js';
import { convert } from '../storage/qcow2.js';
import { exists } from './fsutil.js';
import type { ImageRecord, ImageStore } from './index.js';
import type { VmImage, VmImages } from './vm/index.js';

/** mount(2) takes its options in one page. */
const MAX_MOUNT_DATA = 4095;

/** A scratch dir under `root`, removed after fn whatever happens. */
async function withScratch<T>(root: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true });
  // Absolute: mount points are compared with /proc/self/mountinfo's.
  const dir = await mkdtemp(join(resolve(root), 'publish-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * VM: `layer` (the top of the chain to publish: a snapshot's frozen layer or
 * a stopped VM's writable top) and everything it reads through, as image
 * `name`, booting with `boot` (copied: the image keeps no path into the
 * source's image or the instance).
 */
export async function publishVmLayer(vm: VmImages, name: string, layer: string, boot: Pick<VmImage, 'kernel' | 'initrd' | 'cmdline'>, scratchRoot: string): Promise<VmImage> {
  if (!(await exists(layer))) throw new Error(`the disk layer ${layer} is missing`);
  return withScratch(scratchRoot, async (dir) => {
    const flat = join(dir, 'disk.qcow2');
    // -U: a snapshot layer may be in the chain of a running QEMU; it is never written again, so reading it is safe.
    await convert(layer, flat);
    return vm.importDisk(name, { disk: flat, kernel: boot.kernel, ...(boot.initrd ? { initrd: boot.initrd } : {}), cmdline: boot.cmdline });
  });
}

/**
 * Container: the merged root of `layers` (topmost first: the layer to
 * publish, then the read-only layers under it) as rootfs image `name`, with
 * the source image's run configuration. /etc/machine-id is left empty, as
 * for a copy: each instance made from the image gets its own at first boot.
 */
export async function publishContainerLayers(
  images: ImageStore,
  name: string,
  layers: string[],
  config: ImageConfig,
  scratchRoot: string,
  opts: { replace: boolean },
): Promise<ImageRecord> {
  for (const l of layers) {
    if (!(await exists(l))) throw new Error(`the layer ${l} is missing`);
    if (/[:,\n]/.test(l)) throw new Error(`the layer path ${JSON.stringify(l)} contains ':' ',' or a newline and cannot be mounted`);
  }
  if (layers.length === 0) throw new Error('nothing to publish: no layers');
  return withScratch(scratchRoot, async (dir) => {
    const tarball = join(dir, 'rootfs.tar');
    if (layers.length === 1) {
      // Nothing under it to hide: the layer is the root itself.
      await tarRoot(layers[0], tarball, dir);
    } else {
      const root = join(dir, 'root');
      await mkdir(root);
      // Read-only with no upper dir: overlayfs merges the layers and applies their whiteouts and opaque dirs.
      const options = `ro,lowerdir=${layers.join(':')}`;
      if (options.length > MAX_MOUNT_DATA) throw new Error(`${layers.length} layers do not fit in one overlay mount (options are ${options.length} bytes)`);
      await mustRun(['mount', '-t', 'overlay', 'overlay', '-o', options, root]);
      try {
        await tarRoot(root, tarball, dir);
      } finally {
        await unmount(root);
      }
    }
    return images.importRootfs(tarball, name, { config, replace: opts.replace });
  });
}

/** tar of a root file system, with an empty /etc/machine-id in place of the source's. */
async function tarRoot(root: string, tarball: string, scratch: string): Promise<void> {
  await mustRun(['tar', '--create', `--file=${tarball}`, `--directory=${root}`, '--numeric-owner', '--sort=name', '--one-file-system', '--exclude=./etc/machine-id', '.']);
  if (await exists(join(root, 'etc', 'machine-id'))) {
    const extra = join(scratch, 'extra');
    await mkdir(join(extra, 'etc'), { recursive: true });
    await writeFile(join(extra, 'etc', 'machine-id'), '', { mode: 0o444 });
    await mustRun(['tar', '--append', `--file=${tarball}`, `--directory=${extra}`, '--numeric-owner', '--owner=0', '--group=0', './etc/machine-id']);
  }
}

/** Unmount, retrying while busy, lazily at last: a publish never leaves a mount behind. */
async function unmount(target: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    if (!(await isMountPoint(target))) return;
    const r = await runCommand(['umount', target]);
    if (r.code === 0) continue;
    await new Promise((res) => setTimeout(res, 20 * (attempt + 1)));
  }
  if (await isMountPoint(target)) await mustRun(['umount', '-l', target]);
}

/** What a publish killed mid-way left under `root`: its read-only mounts (unmounted lazily) and scratch files. */
export async function cleanPublishScratch(dir: string): Promise<void> {
  const root = resolve(dir);
  if (!(await exists(root))) return;
  const prefix = `${root}/`;
  const mounts = (await readMountinfo()).map((m) => m.mountPoint).filter((p) => p.startsWith(prefix));
  // Deepest first.
  for (const m of mounts.sort((a, b) => b.length - a.length)) await runCommand(['umount', '-l', m]);
  if ((await readMountinfo()).some((m) => m.mountPoint.startsWith(prefix))) throw new Error(`mounts under ${root} remain; not removing it`);
  await rm(root, { recursive: true, force: true });
}
