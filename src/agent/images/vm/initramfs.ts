// The guest's first userspace: an uncompressed initramfs (the kernel unpacks
// it with no decompressor to run) holding busybox and the modules the cloud
// kernel lacks built in. Its /init loads them, mounts the root disk and
// switch_roots, so the root filesystem lives on the VM's disk.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { cpioNewc, type CpioEntry } from './cpio.js';

/**
 * The /init script. root=, rootfstype=, rootflags=, ro/rw and init= come
 * from the kernel command line as with any initramfs; the disk can take a
 * moment to appear after virtio_blk loads, so it is waited for (bounded).
 */
export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
root=/dev/vda; fstype=ext4; flags=; mode=rw; init=/sbin/init
for arg in $(/bin/busybox cat /proc/cmdline); do
  case "$arg" in
    root=*) root="\${arg#root=}" ;;
    rootfstype=*) fstype="\${arg#rootfstype=}" ;;
    rootflags=*) flags="\${arg#rootflags=}" ;;
    ro) mode=ro ;;
    rw) mode=rw ;;
    init=*) init="\${arg#init=}" ;;
  esac
done
while read -r mod; do
  /bin/busybox insmod "/lib/modules/$mod" 2>/dev/null || echo "initramfs: insmod $mod failed" >/dev/console
done </lib/modules/load-order
n=0
while [ ! -b "$root" ] && [ $n -lt 500 ]; do /bin/busybox usleep 10000; n=$((n + 1)); done
if ! /bin/busybox mount -t "$fstype" -o "$mode\${flags:+,$flags}" "$root" /newroot; then
  echo "initramfs: cannot mount $root ($fstype); dropping to a shell" >/dev/console
  exec /bin/busybox sh </dev/console >/dev/console 2>&1
fi
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev 2>/dev/null || /bin/busybox umount /dev
exec /bin/busybox switch_root /newroot "$init"
`;

/** The initramfs archive for `modules` (absolute paths, load order) with the host's static `busybox`. */
export async function buildInitramfs(busybox: string, modules: string[]): Promise<Buffer> {
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map((path): CpioEntry => ({ path, type: 'dir' })),
    // The kernel opens /dev/console for init before anything mounts devtmpfs.
    { path: 'dev/console', type: 'char', major: 5, minor: 1 },
    { path: 'bin/busybox', type: 'file', data: await readFile(busybox), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', data: Buffer.from(INIT_SCRIPT), mode: 0o755 },
  ];
  // Flat names: the archive needs no module tree, only the load order.
  const names = modules.map((m) => basename(m));
  if (new Set(names).size !== names.length) throw new Error(`two kernel modules share a file name: ${names.join(', ')}`);
  for (const m of modules) entries.push({ path: `lib/modules/${basename(m)}`, type: 'file', data: await readFile(m) });
  entries.push({ path: 'lib/modules/load-order', type: 'file', data: Buffer.from(names.join('\n') + '\n') });
  return cpioNewc(entries);
}
