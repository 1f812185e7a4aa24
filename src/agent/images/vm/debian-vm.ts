// The root filesystem of the debian-vm image: Debian (debootstrap minbase)
// with systemd as init, udev, qemu-guest-agent and OpenSSH, plus the guest
// kernel's modules, on the VM's disk. The kernel and the initramfs are
// busybox-vm's (kernel.ts, initramfs.ts): the initramfs loads the virtio
// modules and switch_roots to /sbin/init, which here is systemd.
//
// debootstrap is the slow part (minutes, mostly dpkg in a chroot), and its
// result depends only on the release and the package list, so it is kept as
// a tarball in a cache shared by every build on the machine (next to the
// kernel .deb cache): tests and CI reruns unpack it in seconds. What Lodge
// adds on top (units, fstab, modules) is cheap and is redone every build.
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildDebian, DEFAULT_DEBIAN_RELEASE, debianMirror } from '../builtin.js';
import { exists, tempName } from '../fsutil.js';
import { run } from '../run.js';
import { LODGE_NETWORK_FILE } from '../../first-boot/guest-network.js';
import { LODGE_FIRST_BOOT_FILE, SEED_LABEL } from '../../first-boot/nocloud.js';
import { FIRST_BOOT_SCRIPT } from '../../first-boot/rootfs.js';
import { BOOT_HOOKS_DIR, GUEST_READY_MARKER, INSTANCE_ID_MARKER } from './busybox-vm.js';
import { GUEST_AGENT_PORT_NAME } from './guest-agent.js';

export const DEBIAN_VM_RELEASE = DEFAULT_DEBIAN_RELEASE;

/**
 * What debootstrap adds to minbase. systemd-sysv makes systemd /sbin/init;
 * dbus is what logind (the ACPI power button) and hostnamed need; kmod for
 * udev's module loading and depmod; systemd-resolved because networkd's DHCP
 * DNS reaches resolv.conf only through it; procps and iproute2 so a console
 * session can see what runs. No cloud-init: measured here it adds 51
 * packages and ~107 MB to the root (python3), and debootstrap cannot install
 * it at all (python3-cryptography depends on a virtual package,
 * python3-cffi-backend-api-max, which debootstrap does not resolve, so
 * configuring fails). The seed is read by Lodge's own applier instead
 * (lodge-first-boot.service below); cloud-init installed later in the guest
 * takes over (that unit steps aside when /etc/cloud/cloud.cfg exists).
 */
export const DEBIAN_VM_PACKAGES = ['systemd-sysv', 'udev', 'dbus', 'kmod', 'systemd-resolved', 'iproute2', 'procps', 'qemu-guest-agent', 'openssh-server'];

/** The root disk's virtual size: room for apt installs in the guest; the qcow2 holds only what is written. */
export const DEBIAN_VM_DISK_BYTES = 2 * 1024 ** 3;

export const DEFAULT_DEBOOTSTRAP_CACHE = '/var/cache/lodge/debootstrap';

/**
 * A cached debootstrap older than this is made again, so images built on a
 * long-lived machine pick up Debian's security updates; if that fails (no
 * mirror), the old one is used with a warning rather than failing the build.
 */
export const DEBOOTSTRAP_CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** Bumped when buildDebian's output changes in a way the cache key cannot see. */
const DEBOOTSTRAP_CACHE_FORMAT = 1;

export interface DebianVmRootOptions {
  /** Where debootstrap results are kept across builds (default DEFAULT_DEBOOTSTRAP_CACHE). */
  cacheDir?: string;
  mirror?: string;
  release?: string;
  maxAgeMs?: number;
  progress?: (step: string) => void;
}

export interface DebootstrapResult {
  /** The cache tarball the root came from. */
  tarball: string;
  /** True when it was unpacked from the cache rather than made now. */
  cached: boolean;
}

const tarArgs = ['--numeric-owner', '--xattrs', '--xattrs-include=*'];

/**
 * debootstrap minbase + `include` into the empty directory `dir`, through
 * the cache: unpacked from it when there, else made and added to it (staged
 * under a private name and renamed, so concurrent builds never read half a
 * tarball; two builds racing both debootstrap and the last rename wins).
 */
export async function debootstrapCached(dir: string, include: string[], opts: DebianVmRootOptions = {}): Promise<DebootstrapResult> {
  const release = opts.release ?? DEBIAN_VM_RELEASE;
  const cacheDir = opts.cacheDir ?? DEFAULT_DEBOOTSTRAP_CACHE;
  const progress = opts.progress ?? (() => undefined);
  const key = createHash('sha256')
    .update(JSON.stringify({ format: DEBOOTSTRAP_CACHE_FORMAT, release, variant: 'minbase', include: [...include].sort() }))
    .digest('hex')
    .slice(0, 16);
  const tarball = join(cacheDir, `debian-${release}-${key}.tar`);
  await mkdir(cacheDir, { recursive: true });
  const age = await stat(tarball).then(
    (s) => Date.now() - s.mtimeMs,
    () => undefined,
  );
  if (age !== undefined && age <= (opts.maxAgeMs ?? DEBOOTSTRAP_CACHE_MAX_AGE_MS)) {
    progress(`unpacking the cached debootstrap ${tarball}`);
    await unpack(tarball, dir);
    return { tarball, cached: true };
  }
  progress(`debootstrap ${release} (minbase + ${include.join(', ')}): takes minutes; cached in ${cacheDir} for the next build`);
  const tmp = tempName(cacheDir, '.debootstrap');
  try {
    await buildDebian(dir, release, opts.mirror ?? (await debianMirror()), { include });
    await run('tar', ['--create', `--file=${tmp}`, `--directory=${dir}`, ...tarArgs, '--sort=name', '--one-file-system', '.']).catch((e: Error) => {
      throw new Error(`archiving the debootstrap of ${dir} into the cache: ${e.message}`);
    });
    await rename(tmp, tarball);
    return { tarball, cached: false };
  } catch (e) {
    if (age === undefined) throw e;
    // Stale but usable: better an older Debian than no image while the mirror is away.
    process.emitWarning(`refreshing the cached debootstrap ${tarball} failed (${(e as Error).message}); using the one from ${Math.round(age / 86_400_000)} days ago`);
    await emptyDir(dir);
    await unpack(tarball, dir);
    // Not touched: the next build tries the refresh again.
    return { tarball, cached: true };
  } finally {
    await rm(tmp, { force: true });
  }
}

async function unpack(tarball: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('tar', ['--extract', `--file=${tarball}`, `--directory=${dir}`, ...tarArgs, '--same-permissions']).catch((e: Error) => {
    throw new Error(`unpacking the cached debootstrap ${tarball} (delete it to have it made again): ${e.message}`);
  });
}

async function emptyDir(dir: string): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, n), { recursive: true, force: true });
}

/** Sets the host name from lodge.hostname= (what the VM driver passes) and keeps it in /etc/hostname across reboots. */
const HOSTNAME_SCRIPT = `#!/bin/sh
name=
for arg in $(cat /proc/cmdline); do
  case "$arg" in lodge.hostname=?*) name="\${arg#lodge.hostname=}" ;; esac
done
[ -n "$name" ] || exit 0
[ "$(cat /etc/hostname 2>/dev/null)" = "$name" ] || echo "$name" >/etc/hostname
echo "$name" >/proc/sys/kernel/hostname
`;

/**
 * Run once userspace is up: the boot hooks (as busybox-vm's rcS does, so a
 * first-boot applier can target both images), then the marker on ttyS0 the
 * VM driver, tests and benches wait for.
 */
const READY_SCRIPT = `#!/bin/sh
for hook in ${BOOT_HOOKS_DIR}/*; do [ -x "$hook" ] && "$hook"; done
echo ${GUEST_READY_MARKER} >/dev/ttyS0
`;

/**
 * The NoCloud seed (first-boot/nocloud.ts), read as busybox-vm's rcS reads
 * it and with the same console messages: the seed's lodge-first-boot.sh
 * (host name, users and keys, files, the user-data script) run once per
 * instance-id, and the seed's lodge-network.sh (the NIC's address) at every
 * boot. This image has no cloud-init (see DEBIAN_VM_PACKAGES), and the
 * applier needs only sh, awk, base64 and coreutils, which minbase has.
 */
const SEED_SCRIPT = `#!/bin/sh
seed=$(findfs LABEL=${SEED_LABEL} 2>/dev/null || findfs LABEL=${SEED_LABEL.toUpperCase()} 2>/dev/null || echo /dev/vdb)
[ -b "$seed" ] || exit 0
mkdir -p /run/cidata
mount -t iso9660 -o ro "$seed" /run/cidata 2>/dev/null || exit 0
iid=$(sed -n 's/^instance-id: *//p' /run/cidata/meta-data 2>/dev/null | tr -d "'\\"\\r")
if [ -n "$iid" ] && [ "$iid" != "$(cat ${INSTANCE_ID_MARKER} 2>/dev/null)" ] && [ -f /run/cidata/${LODGE_FIRST_BOOT_FILE} ]; then
  if sh /run/cidata/${LODGE_FIRST_BOOT_FILE}; then
    mkdir -p ${dirname(INSTANCE_ID_MARKER)} && echo "$iid" >${INSTANCE_ID_MARKER}
    echo "lodge: first-boot configuration applied (instance $iid)" >/dev/ttyS0
  else
    echo "lodge: first-boot configuration failed; it is tried again at the next boot" >/dev/ttyS0
  fi
fi
# Lodge's address for the NIC, at every boot (a networkd file in /run: networkd starts after this unit).
if [ -f /run/cidata/${LODGE_NETWORK_FILE} ]; then
  sh /run/cidata/${LODGE_NETWORK_FILE} >/dev/ttyS0 2>&1 || echo "lodge: network configuration failed" >/dev/ttyS0
fi
umount /run/cidata
cat /etc/hostname >/proc/sys/kernel/hostname
`;

// Early (users and host name before logins, sshd and DHCP), but after the
// root is writable and the disks are there: the initramfs loaded
// virtio_blk, so /dev/vdb exists when systemd starts; isofs is loaded by
// mount itself (the modules are depmod'd).
const SEED_UNIT = `[Unit]
Description=Lodge configuration from the NoCloud seed (first boot once per instance-id; the address at every boot)
DefaultDependencies=no
After=systemd-remount-fs.service lodge-hostname.service local-fs.target
Before=sysinit.target systemd-networkd.service systemd-user-sessions.service ssh.service
ConditionPathExists=!/etc/cloud/cloud.cfg

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/lodge/first-boot-from-seed

[Install]
WantedBy=sysinit.target
`;

/** Runs the user-data script; its .done (holding the exit status) marks it run, as in busybox-vm's inittab. */
const USER_DATA_SCRIPT = `#!/bin/sh
${FIRST_BOOT_SCRIPT} >/var/log/lodge-user-data.log 2>&1
rc=$?
echo $rc >${FIRST_BOOT_SCRIPT}.done
echo "lodge: user-data finished (exit $rc)" >/dev/ttyS0
`;

// The user-data script the applier installs, run once after boot as
// busybox-vm's init does (not holding up the ready marker: a script may run long).
const USER_DATA_UNIT = `[Unit]
Description=Lodge user-data script (once)
After=multi-user.target network-online.target
ConditionFileIsExecutable=${FIRST_BOOT_SCRIPT}
ConditionPathExists=!${FIRST_BOOT_SCRIPT}.done

[Service]
Type=oneshot
ExecStart=/usr/lib/lodge/user-data-once

[Install]
WantedBy=multi-user.target
`;

// PID 1 sets the host name from /etc/hostname before any unit; this runs as
// soon as the root is writable (the initramfs mounts it rw) and before
// anything that reports the name (networkd's DHCP, the getty's prompt).
const HOSTNAME_UNIT = `[Unit]
Description=Host name from the kernel command line (lodge.hostname=)
DefaultDependencies=no
ConditionKernelCommandLine=lodge.hostname
After=systemd-remount-fs.service
Before=sysinit.target network-pre.target systemd-networkd.service systemd-hostnamed.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/lodge/hostname-from-cmdline

[Install]
WantedBy=sysinit.target
`;

// Ordered after multi-user.target (and the guest agent, when its port exists
// and udev started it) so the marker means what it does for busybox-vm:
// userspace is up and exec can be tried.
const READY_UNIT = `[Unit]
Description=Tell the host the guest is up (${GUEST_READY_MARKER} on ttyS0)
After=multi-user.target qemu-guest-agent.service

[Service]
Type=oneshot
ExecStart=/usr/lib/lodge/guest-ready

[Install]
WantedBy=multi-user.target
`;

// Host keys made by the openssh-server postinst would be shared by every
// VM cloned from the image; they are removed from the image and each clone
// makes its own at its first boot. Ed25519 and ECDSA only: they take
// milliseconds, where the RSA-3072 key `ssh-keygen -A` also makes took ~5 s
// under TCG on the way to the ready marker (sshd is part of
// multi-user.target); `ssh-keygen -A` in the guest adds it for old clients.
const SSH_KEYS_UNIT = `[Unit]
Description=SSH host keys of this machine (made at its first boot)
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key

[Install]
WantedBy=ssh.service
`;

// A lab image: root is logged in on the serial console, which only root on
// the host reaches (lodge console, the console socket); the root password
// stays locked, so nothing else (ssh, a getty elsewhere) logs in without a
// key given at first boot.
const AUTOLOGIN_DROPIN = `[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 - $TERM
`;

// logind's default already powers off on the power button; said explicitly
// because it is how the VM driver stops a guest (QMP system_powerdown), and
// an inhibitor lock (a package's, a user's) must not turn a stop into the
// driver's timeout and a hard quit.
const LOGIND_DROPIN = `[Login]
HandlePowerKey=poweroff
PowerKeyIgnoreInhibited=yes
`;

const DHCP_NETWORK = `[Match]
Name=en* eth*

[Network]
DHCP=yes
`;

const FILES: Record<string, { text: string; mode: number }> = {
  // The initramfs mounts the root rw; systemd then only remounts it with these options.
  'etc/fstab': { text: '/dev/vda / ext4 rw,errors=remount-ro 0 1\n', mode: 0o644 },
  'etc/hostname': { text: 'debian\n', mode: 0o644 },
  'etc/hosts': { text: '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n', mode: 0o644 },
  // Empty: systemd makes a new one at each clone's first boot (and treats that boot as its first).
  'etc/machine-id': { text: '', mode: 0o444 },
  'usr/lib/lodge/hostname-from-cmdline': { text: HOSTNAME_SCRIPT, mode: 0o755 },
  'usr/lib/lodge/guest-ready': { text: READY_SCRIPT, mode: 0o755 },
  'usr/lib/lodge/first-boot-from-seed': { text: SEED_SCRIPT, mode: 0o755 },
  'usr/lib/lodge/user-data-once': { text: USER_DATA_SCRIPT, mode: 0o755 },
  'etc/systemd/system/lodge-first-boot.service': { text: SEED_UNIT, mode: 0o644 },
  'etc/systemd/system/lodge-user-data.service': { text: USER_DATA_UNIT, mode: 0o644 },
  'etc/systemd/system/lodge-hostname.service': { text: HOSTNAME_UNIT, mode: 0o644 },
  'etc/systemd/system/lodge-guest-ready.service': { text: READY_UNIT, mode: 0o644 },
  'etc/systemd/system/lodge-ssh-host-keys.service': { text: SSH_KEYS_UNIT, mode: 0o644 },
  'etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf': { text: AUTOLOGIN_DROPIN, mode: 0o644 },
  'etc/systemd/logind.conf.d/lodge-power-key.conf': { text: LOGIND_DROPIN, mode: 0o644 },
  'etc/systemd/network/80-lodge-dhcp.network': { text: DHCP_NETWORK, mode: 0o644 },
};

/**
 * getty@tty1: there is no display (-display none), so a getty on a virtual
 * terminal only costs boot time; e2scrub_reap looks for LVM snapshots this
 * disk cannot have, and took ~6 s of a TCG boot.
 */
const DISABLE = ['getty@tty1.service', 'e2scrub_reap.service'];
const ENABLE = ['lodge-hostname.service', 'lodge-first-boot.service', 'lodge-user-data.service', 'lodge-guest-ready.service', 'lodge-ssh-host-keys.service', 'systemd-networkd.service', 'serial-getty@ttyS0.service'];
/**
 * systemd-firstboot would ask on the console for a locale, time zone and
 * root password on each clone's first boot (the machine-id is empty) and
 * wait for an answer that never comes.
 */
const MASK = ['systemd-firstboot.service'];

/** In the guest root, as root on the host: the guest's own tools, needing no /proc or mounts. */
function chroot(root: string, args: string[]): Promise<string> {
  return run('chroot', [root, ...args]).catch((e: Error) => {
    throw new Error(`in the guest root ${root}: ${e.message}`);
  });
}

/**
 * Fills the empty directory `dir` with the debian-vm root filesystem; the
 * kernel's modules come from `kernel.modulesDir` (its unpacked
 * linux-image package) so the guest's udev loads what its kernel needs.
 */
export async function buildDebianVmRoot(dir: string, kernel: { release: string; modulesDir: string }, opts: DebianVmRootOptions = {}): Promise<DebootstrapResult> {
  const progress = opts.progress ?? (() => undefined);
  const result = await debootstrapCached(dir, DEBIAN_VM_PACKAGES, opts);

  progress(`adding the kernel modules of ${kernel.release}`);
  // lib is usr/lib (merged /usr), a relative link that resolves inside dir.
  const modules = join(dir, 'lib/modules', kernel.release);
  await mkdir(dirname(modules), { recursive: true });
  await cp(kernel.modulesDir, modules, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  // The .deb carries no modules.dep (its postinst runs depmod).
  await chroot(dir, ['depmod', '-a', kernel.release]);

  progress('configuring systemd, the console, the guest agent and ssh');
  for (const [rel, f] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await rm(join(dir, rel), { force: true });
    await writeFile(join(dir, rel), f.text);
    await chmod(join(dir, rel), f.mode);
  }
  await mkdir(join(dir, BOOT_HOOKS_DIR), { recursive: true });
  // dbus keeps its own copy when it is not a link; it would then be the same in every clone.
  await rm(join(dir, 'var/lib/dbus/machine-id'), { force: true });
  await symlink('/etc/machine-id', join(dir, 'var/lib/dbus/machine-id'));
  // buildDebian drops the host's resolv.conf; resolved serves the guest's.
  await rm(join(dir, 'etc/resolv.conf'), { force: true });
  await symlink('../run/systemd/resolve/stub-resolv.conf', join(dir, 'etc/resolv.conf'));
  for (const n of await readdir(join(dir, 'etc/ssh'))) if (/^ssh_host_.*_key(\.pub)?$/.test(n)) await rm(join(dir, 'etc/ssh', n));
  await checkGuestAgentUnit(dir);

  await chroot(dir, ['systemctl', 'enable', ...ENABLE]);
  await chroot(dir, ['systemctl', 'disable', ...DISABLE]);
  await chroot(dir, ['systemctl', 'mask', ...MASK]);
  return result;
}

/**
 * Debian's qemu-guest-agent has no [Install]: udev starts it when the
 * virtio-serial port appears (its rules file). Checked here, so a Debian
 * change breaks the build with a reason rather than `lodge exec` at run time.
 */
async function checkGuestAgentUnit(dir: string): Promise<void> {
  const unit = join(dir, 'lib/systemd/system/qemu-guest-agent.service');
  if (!(await exists(unit))) throw new Error(`qemu-guest-agent installed no ${unit}`);
  const rulesDir = join(dir, 'lib/udev/rules.d');
  const rules = (await readdir(rulesDir).catch(() => [] as string[])).filter((n) => n.includes('qemu-guest-agent'));
  const texts = await Promise.all([unit, ...rules.map((r) => join(rulesDir, r))].map((f) => readFile(f, 'utf8')));
  if (!rules.length || !texts.every((t) => t.includes(GUEST_AGENT_PORT_NAME))) {
    throw new Error(`qemu-guest-agent's unit and udev rules (${rules.join(', ') || 'none'}) do not both name the port ${GUEST_AGENT_PORT_NAME}; udev would not start it for the VM driver's port`);
  }
}
