// VM images on a node: kernel + initramfs + root disk, built from Debian
// packages at run time and kept under <imagesRoot>/vm/<name>/. Each is built
// once in a private directory and renamed into place, so a half-built image
// never looks built, and concurrent ensure() calls share one build.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { findStaticBusybox } from '../builtin.js';
import { exists, isErrno, tempName } from '../fsutil.js';
import { buildBusyboxVmRoot, GUEST_AGENT_PATH } from './busybox-vm.js';
import { buildDebianVmRoot, DEBIAN_VM_DISK_BYTES } from './debian-vm.js';
import { ext4DiskFromDir } from './disk.js';
import { installGuestAgent } from './guest-agent.js';
import { importVmDisk, type ImportedDisk } from './import-disk.js';
import { buildInitramfs } from './initramfs.js';
import { prepareKernel } from './kernel.js';

export type VmImageName = 'busybox-vm' | 'debian-vm';
export const VM_IMAGE_NAMES: readonly VmImageName[] = ['busybox-vm', 'debian-vm'];

/** What the VM driver boots (its VmSpec's kernel, initrd, cmdline and baseDisk). */
export interface VmImage {
  name: string;
  /** Absolute path: an ELF vmlinux (PVH entry) or, failing that, the bzImage. */
  kernel: string;
  initrd?: string;
  /** What the image needs on the kernel command line; the driver adds console= and the boot profile's options. */
  cmdline: string;
  disk: { path: string; format: 'qcow2' };
  /** sha256 over the files and the command line: equal digests boot the same guest. */
  digest: string;
  /** Bytes on the host: kernel, initrd and disk file. */
  sizeBytes: number;
  /** uname -r of the guest kernel, and its package. */
  kernelRelease: string;
  kernelPackage: string;
}

/** image.json: the image with its paths relative to its directory, so the store can move. */
type Manifest = Omit<VmImage, 'kernel' | 'initrd' | 'disk'> & { kernel: string; initrd?: string; disk: { file: string; format: 'qcow2' }; recipe?: number };

export interface VmImagesOptions {
  /** Where downloaded .debs are kept across builds (default /var/cache/lodge/debs). */
  debCache?: string;
  /** The static busybox to put in the guest (default: the host's busybox-static). */
  busybox?: string;
  /** Where debian-vm's debootstrap result is kept across builds (default /var/cache/lodge/debootstrap). */
  debootstrapCache?: string;
  /** Debian mirror for debootstrap (default: LODGE_DEBIAN_MIRROR, the host's apt source, deb.debian.org). */
  debianMirror?: string;
}

export type ProgressFn = (step: string) => void;

const BASE_CMDLINE = 'root=/dev/vda rw rootfstype=ext4';
/**
 * Bumped whenever what a build puts in an image changes (init scripts,
 * modules, disk layout): an image built by an older recipe is built again.
 * The old one is moved aside, not deleted: VMs made from it have overlays
 * backed by its disk.
 */
export const VM_IMAGE_RECIPE = 5;

export class VmImages {
  readonly #dir: string;
  readonly #opts: VmImagesOptions;
  readonly #building = new Map<string, Promise<VmImage>>();

  private constructor(dir: string, opts: VmImagesOptions) {
    this.#dir = dir;
    this.#opts = opts;
  }

  /** The VM images under `imagesRoot`/vm (imagesRoot is the node's image store root, <dataDir>/images). */
  static async open(imagesRoot: string, opts: VmImagesOptions = {}): Promise<VmImages> {
    const dir = join(imagesRoot, 'vm');
    await mkdir(dir, { recursive: true });
    // Builds whose process died leave their private directory behind.
    for (const n of await readdir(dir)) {
      const pid = /^\.build-.*-(\d+)-[0-9a-f]+$/.exec(n)?.[1];
      if (pid && !processAlive(Number(pid))) await rm(join(dir, n), { recursive: true, force: true });
    }
    return new VmImages(dir, opts);
  }

  /** The built image, or undefined. */
  async get(name: string): Promise<VmImage | undefined> {
    const dir = join(this.#dir, name);
    let text: string;
    try {
      text = await readFile(join(dir, 'image.json'), 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
      throw e;
    }
    const m = JSON.parse(text) as Manifest;
    return { ...m, kernel: join(dir, m.kernel), initrd: m.initrd ? join(dir, m.initrd) : undefined, disk: { path: await this.#stableDiskPath(join(dir, m.disk.file), m.digest), format: m.disk.format } };
  }

  /**
   * The disk under a path named by the image's digest (a hard link): VM disks
   * are overlays that name their backing file by path, and an image that is
   * rebuilt or imported again gets a new disk at its old path — an overlay
   * backed by the old one must keep finding the old one.
   */
  async #stableDiskPath(disk: string, digest: string): Promise<string> {
    const stable = join(this.#dir, '.disks', `${digest.replace(/^sha256:/, '')}.qcow2`);
    if (await exists(stable)) return stable;
    await mkdir(dirname(stable), { recursive: true });
    try {
      await link(disk, stable);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw new Error(`VM image disk ${disk}: cannot link it as ${stable}: ${(e as Error).message}`);
    }
    return stable;
  }

  async list(): Promise<VmImage[]> {
    const out: VmImage[] = [];
    for (const n of (await readdir(this.#dir)).sort()) {
      if (n.startsWith('.')) continue;
      const img = await this.get(n);
      if (img) out.push(img);
    }
    return out;
  }

  /** Removes a built image. Running VMs keep working: their overlays hold the disk open, and QEMU has read the kernel. */
  async remove(name: string): Promise<void> {
    const dir = join(this.#dir, name);
    if (!(await exists(dir))) return;
    // Rename first so the image stops looking built at once.
    const doomed = tempName(this.#dir, `.remove-${name}`);
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }

  /**
   * Import a VM disk (qcow2 or raw) with its kernel as image `name`,
   * replacing an earlier import of that name (moved aside, not deleted: VMs
   * made from it have overlays backed by its disk).
   */
  async importDisk(name: string, src: ImportedDisk): Promise<VmImage> {
    if ((VM_IMAGE_NAMES as readonly string[]).includes(name)) throw new Error(`${name} is a built-in VM image; import under another name`);
    const tmp = tempName(this.#dir, `.build-${name}`);
    await mkdir(tmp);
    try {
      const files = await importVmDisk(tmp, src);
      const { source: _source, ...manifest } = files;
      await writeFile(join(tmp, 'image.json'), `${JSON.stringify({ name, ...manifest }, null, 2)}\n`);
      const dir = join(this.#dir, name);
      if (await exists(dir)) await rename(dir, join(this.#dir, `.old-${name}-${Date.now()}`));
      await rename(tmp, dir);
      const img = await this.get(name);
      if (!img) throw new Error(`VM image ${name} vanished right after its import`);
      return img;
    } catch (e) {
      throw new Error(`importing VM image ${name}: ${(e as Error).message}`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The image, built first when it is not yet there. Concurrent calls for one name share a build. */
  ensure(name: VmImageName, onProgress?: ProgressFn): Promise<VmImage> {
    const pending = this.#building.get(name);
    if (pending) return pending;
    const p = this.#ensure(name, onProgress ?? (() => undefined)).finally(() => this.#building.delete(name));
    this.#building.set(name, p);
    return p;
  }

  async #ensure(name: VmImageName, progress: ProgressFn): Promise<VmImage> {
    const dir = join(this.#dir, name);
    const recipe = await readFile(join(dir, 'image.json'), 'utf8').then(
      (t) => (JSON.parse(t) as Manifest).recipe,
      () => undefined,
    );
    const built = await this.get(name);
    if (built && recipe === VM_IMAGE_RECIPE) return built;
    if (built) {
      progress(`image ${name} was built by an older recipe (${recipe ?? 1}): building it again`);
      await rename(dir, join(this.#dir, `.old-${name}-${built.digest.slice(7, 19)}-${Date.now()}`));
    }
    if (!VM_IMAGE_NAMES.includes(name)) throw new Error(`unknown VM image ${JSON.stringify(name)}; known: ${VM_IMAGE_NAMES.join(', ')}`);
    const tmp = tempName(this.#dir, `.build-${name}`);
    await mkdir(tmp);
    try {
      const manifest = await this.#build(name, tmp, progress);
      await writeFile(join(tmp, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      try {
        await rename(tmp, join(this.#dir, name));
      } catch (e) {
        // Another process finished the same build first: use its image.
        if (!isErrno(e, 'ENOTEMPTY', 'EEXIST')) throw e;
      }
      progress('done');
      const img = await this.get(name);
      if (!img) throw new Error(`VM image ${name} vanished right after its build`);
      return img;
    } catch (e) {
      throw new Error(`building VM image ${name}: ${(e as Error).message}`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async #build(name: VmImageName, out: string, progress: ProgressFn): Promise<Manifest> {
    const work = join(out, 'work');
    const busybox = this.#opts.busybox ?? (await findStaticBusybox());
    progress('fetching and unpacking the kernel');
    const kernel = await prepareKernel(join(work, 'kernel'), out, { debCache: this.#opts.debCache });
    progress('making the initramfs');
    await writeFile(join(out, 'initrd.cpio'), await buildInitramfs(busybox, kernel.modules));
    progress('making the root disk');
    if (name === 'debian-vm') {
      // Same kernel and initramfs; the initramfs switch_roots to systemd. The guest agent is Debian's own package there.
      await buildDebianVmRoot(join(work, 'root'), kernel, { cacheDir: this.#opts.debootstrapCache, mirror: this.#opts.debianMirror, progress });
      progress('writing the ext4 root disk');
      await ext4DiskFromDir(join(work, 'root'), join(out, 'disk.qcow2'), { label: name, sizeBytes: DEBIAN_VM_DISK_BYTES });
    } else {
      await buildBusyboxVmRoot(join(work, 'root'), busybox);
      progress('adding the guest agent (qemu-guest-agent)');
      await installGuestAgent(join(work, 'root'), join(work, 'guest-agent'), GUEST_AGENT_PATH, { debCache: this.#opts.debCache });
      await ext4DiskFromDir(join(work, 'root'), join(out, 'disk.qcow2'), { label: name });
    }
    await rm(work, { recursive: true, force: true });
    progress('hashing');
    const files = [basename(kernel.kernel), 'initrd.cpio', 'disk.qcow2'];
    const hash = createHash('sha256').update(`cmdline ${BASE_CMDLINE}\n`);
    let sizeBytes = 0;
    for (const f of files) {
      hash.update(`${f} ${await sha256File(join(out, f))}\n`);
      sizeBytes += (await stat(join(out, f))).size;
    }
    return {
      name,
      kernel: files[0]!,
      initrd: 'initrd.cpio',
      cmdline: BASE_CMDLINE,
      disk: { file: 'disk.qcow2', format: 'qcow2' },
      digest: `sha256:${hash.digest('hex')}`,
      sizeBytes,
      kernelRelease: kernel.release,
      kernelPackage: kernel.package,
      recipe: VM_IMAGE_RECIPE,
    };
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
