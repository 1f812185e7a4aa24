// The root filesystem of the busybox-vm image: busybox init on the VM's disk.
// Its rcS brings up the basics, runs acpid so QMP system_powerdown (the ACPI
// power button) shuts the guest down cleanly, starts the guest agent when an
// image carries one, and prints the ready marker the VM driver and the
// benches wait for. A shell stays on ttyS0 for `lodge console`.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FIRST_BOOT_SCRIPT } from '../../first-boot/rootfs.js';
import { LODGE_NETWORK_FILE } from '../../first-boot/guest-network.js';
import { LODGE_FIRST_BOOT_FILE, SEED_LABEL } from '../../first-boot/nocloud.js';
import { buildBusybox } from '../builtin.js';

/** Printed on ttyS0 once userspace is up; what "guest ready" means for VMs. */
export const GUEST_READY_MARKER = 'LODGE-GUEST-READY';
/** The guest agent (guest-agent.ts: qemu-ga on its virtio-serial port); started at boot when present. */
export const GUEST_AGENT_PATH = '/usr/lib/lodge/guest-agent';
/** Executables run in name order at each boot before the ready marker (first-boot configuration hooks). */
export const BOOT_HOOKS_DIR = '/etc/lodge/boot.d';
/** The instance-id whose first-boot configuration this disk has had (cloud-init's per-instance semantics). */
export const INSTANCE_ID_MARKER = '/var/lib/lodge/instance-id';

// The user-data script runs after rcS, once per instance (the applier
// removes its .done when a new instance-id installs one), as in system
// containers' init: a long script does not hold up the boot.
const INITTAB = `::sysinit:/etc/init.d/rcS
::once:/bin/sh -c '[ ! -x ${FIRST_BOOT_SCRIPT} ] || [ -e ${FIRST_BOOT_SCRIPT}.done ] || { ${FIRST_BOOT_SCRIPT} >/var/log/lodge-user-data.log 2>&1; rc=$?; echo $rc >${FIRST_BOOT_SCRIPT}.done; echo "lodge: user-data finished (exit $rc)"; }'
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
`;

const RCS = `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -o remount,rw /
# First-boot configuration from the cloud-init NoCloud seed disk (label
# ${SEED_LABEL}; /dev/vdb when findfs cannot tell): this image has no cloud-init,
# so it runs the seed's ${LODGE_FIRST_BOOT_FILE} (host name, users, files, the
# user-data script), once per instance-id: a reboot, or the same disk booted
# again, does not apply it twice.
seed=$(findfs LABEL=${SEED_LABEL} 2>/dev/null || findfs LABEL=${SEED_LABEL.toUpperCase()} 2>/dev/null || echo /dev/vdb)
mkdir -p /run/cidata
if [ -b "$seed" ] && mount -t iso9660 -o ro "$seed" /run/cidata 2>/dev/null; then
  iid=$(sed -n 's/^instance-id: *//p' /run/cidata/meta-data 2>/dev/null | tr -d "'\\"\\r")
  if [ -n "$iid" ] && [ "$iid" != "$(cat ${INSTANCE_ID_MARKER} 2>/dev/null)" ] && [ -f /run/cidata/${LODGE_FIRST_BOOT_FILE} ]; then
    if sh /run/cidata/${LODGE_FIRST_BOOT_FILE}; then
      mkdir -p ${INSTANCE_ID_MARKER.replace(/\/[^/]+$/, '')} && echo "$iid" >${INSTANCE_ID_MARKER}
      echo "lodge: first-boot configuration applied (instance $iid)" >/dev/ttyS0
    else
      echo "lodge: first-boot configuration failed; it is tried again at the next boot" >/dev/ttyS0
    fi
  fi
  # The address Lodge gives this VM's NIC, at every boot: it is Lodge's, not
  # first-boot state, and the seed (made at each start) says what it is now.
  if [ -f /run/cidata/${LODGE_NETWORK_FILE} ]; then
    sh /run/cidata/${LODGE_NETWORK_FILE} >/dev/ttyS0 2>&1 || echo "lodge: network configuration failed" >/dev/ttyS0
  fi
  umount /run/cidata
fi
hostname -F /etc/hostname
ip link set lo up
mkdir -p /var/log
# The power button (QMP system_powerdown) runs /etc/acpi/PWRF/00000080; acpid
# exits at once when it cannot open its log, hence the directory above.
acpid -l /var/log/acpid.log
if [ -x ${GUEST_AGENT_PATH} ]; then setsid ${GUEST_AGENT_PATH} </dev/null >/dev/null 2>&1 & fi
for hook in ${BOOT_HOOKS_DIR}/*; do [ -x "$hook" ] && "$hook"; done
echo ${GUEST_READY_MARKER} >/dev/ttyS0
`;

// busybox init runs its shutdown actions before it signals every process, so
// whatever still holds a file open for writing (acpid's log, a shell) would
// keep the root from going read-only: stop them first, then unmount.
const RCK = `#!/bin/sh
kill -TERM -1 2>/dev/null
usleep 200000
kill -KILL -1 2>/dev/null
sync
umount -a -r
`;

const FILES: Record<string, { text: string; mode: number }> = {
  'etc/inittab': { text: INITTAB, mode: 0o644 },
  'etc/init.d/rcS': { text: RCS, mode: 0o755 },
  'etc/init.d/rcK': { text: RCK, mode: 0o755 },
  'etc/acpi/PWRF/00000080': { text: '#!/bin/sh\nexec poweroff\n', mode: 0o755 },
  'etc/hostname': { text: 'lodge\n', mode: 0o644 },
  'etc/profile': { text: "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\h:\\w\\$ '\n", mode: 0o644 },
  'etc/fstab': { text: '', mode: 0o644 },
};

/** Fills the empty directory `dir` with the busybox-vm root filesystem. */
export async function buildBusyboxVmRoot(dir: string, busybox: string): Promise<void> {
  await buildBusybox(dir, busybox);
  for (const [rel, f] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), f.text);
    await chmod(join(dir, rel), f.mode);
  }
  await mkdir(join(dir, BOOT_HOOKS_DIR), { recursive: true });
  await mkdir(join(dir, 'var/log'), { recursive: true });
  await mkdir(join(dir, dirname(GUEST_AGENT_PATH)), { recursive: true });
}
