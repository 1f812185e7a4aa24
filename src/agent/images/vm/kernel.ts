// The guest kernel from Debian's linux-image-cloud-amd64 (it probes fewer
// devices than the generic flavour): fetched into the shared .deb cache,
// unpacked, and turned into an ELF vmlinux QEMU boots through its PVH entry.
import { readdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_DEB_CACHE, fetchDeb, resolveDependency, unpackDeb } from './debs.js';
import { hasPvhEntry } from './elf.js';
import { extractVmlinux } from './extract-vmlinux.js';
import { modulesToLoad, readModuleTree } from './modules.js';

export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/**
 * What the guest loads from its initramfs when the kernel has it as a module:
 * virtio transports (PCI for q35/pc, MMIO for microvm), the root disk, the
 * network, virtio-serial (console and guest agent) and, for ACPI power-button
 * shutdown through busybox acpid, the button driver and evdev; pvpanic so a
 * guest panic reaches QEMU (the VM driver adds the device) as GUEST_PANICKED.
 * isofs reads the cloud-init seed disk (ISO 9660, first-boot/seed-disk.ts).
 */
export const REQUIRED_MODULES = ['virtio_pci', 'virtio_blk', 'ext4', 'isofs'];
export const OPTIONAL_MODULES = ['virtio_mmio', 'virtio_net', 'virtio_console', 'virtio_rng', 'button', 'evdev', 'pvpanic_mmio', 'pvpanic_pci'];

export interface PreparedKernel {
  /** The kernel package's version string (uname -r), e.g. 6.1.0-56-cloud-amd64. */
  release: string;
  /** The package it came from. */
  package: string;
  /** Path of the kernel to boot: vmlinux when it has a PVH note, else the bzImage. */
  kernel: string;
  pvh: boolean;
  /** Absolute paths of the module files to load, in order. */
  modules: string[];
  /** /lib/modules/<release> in the unpacked tree (module paths are below it). */
  modulesDir: string;
}

export interface KernelOptions {
  debCache?: string;
  /** A versioned package to use instead of resolving the metapackage. */
  package?: string;
}

/** Unpacks the kernel into `workDir` and writes the bootable kernel to `outDir`. */
export async function prepareKernel(workDir: string, outDir: string, opts: KernelOptions = {}): Promise<PreparedKernel> {
  const pkg = opts.package ?? (await resolveDependency(KERNEL_METAPACKAGE, /^linux-image-\d.*-cloud-amd64$/));
  const deb = await fetchDeb(pkg, opts.debCache ?? DEFAULT_DEB_CACHE);
  await unpackDeb(deb, workDir);
  const vmlinuzName = (await readdir(join(workDir, 'boot'))).find((n) => n.startsWith('vmlinuz-'));
  if (!vmlinuzName) throw new Error(`${deb} has no boot/vmlinuz-*`);
  const release = vmlinuzName.slice('vmlinuz-'.length);
  const vmlinuz = join(workDir, 'boot', vmlinuzName);
  let kernel = join(outDir, 'vmlinuz');
  let pvh = false;
  try {
    const { vmlinux } = await extractVmlinux(await readFile(vmlinuz));
    if (hasPvhEntry(vmlinux)) {
      kernel = join(outDir, 'vmlinux');
      pvh = true;
      await writeFile(kernel, vmlinux);
    }
  } catch (e) {
    // The bzImage still boots, only slower: keep going, but say why.
    process.emitWarning(`using the compressed kernel ${vmlinuzName}: ${(e as Error).message}`);
  }
  if (!pvh) await copyFile(vmlinuz, kernel);
  const modulesDir = join(workDir, 'lib/modules', release);
  const tree = await readModuleTree(modulesDir);
  const modules = (await modulesToLoad(tree, REQUIRED_MODULES, OPTIONAL_MODULES)).map((rel) => join(modulesDir, rel));
  return { release, package: pkg, kernel, pvh, modules, modulesDir };
}
