// QEMU's command line for one VM. Every device is explicit (-nodefaults,
// -no-user-config): what the guest sees does not depend on QEMU's defaults
// or on config files on the host.
import type { VmSpec } from '../../runtime/driver.js';
import type { BootProfile } from '../../images/vm/boot-profile.js';
import { GUEST_AGENT_PORT_NAME } from '../../images/vm/guest-agent.js';
import { qemuNicArgs } from '../../network/tap.js';
import type { Accelerator } from './accel.js';
import type { VmPaths } from './layout.js';

export interface QemuArgsInput {
  id: string;
  vm: VmSpec;
  paths: VmPaths;
  logPath: string;
  accelerator: Accelerator;
  profile: BootProfile;
  /** The boot profile's kernel options on this host (profileCmdline()). */
  profileCmdline: string;
  /** TCG translation cache, MiB: bounded so the cgroup's memory limit can be (QEMU's default is 1 GiB). */
  tcgTbSizeMiB: number;
  /** The guest's host name (WorkloadSpec.hostname), passed on the kernel command line. */
  hostname?: string;
}

/** An RFC 1123 host name: anything else is left off the command line (the guest keeps its own), as it could split the line or inject options. */
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** QEMU's option syntax: a comma inside a value is written twice. */
const opt = (s: string): string => s.replace(/,/g, ',,');

/** The -name argument; also how a pid is recognised as this VM's QEMU (its argv must contain it). */
export const qemuName = (id: string): string => `guest=${id},debug-threads=on`;

/**
 * The image's command line plus the console, a root device when the image
 * names none, the host name and the profile's options. The host name's
 * source is the instance's first-boot configuration, which also writes it
 * into the seed disk's meta-data (local-hostname); lodge.hostname= carries
 * the same value for images that do not read the seed (debian-vm as it
 * stands), while busybox-vm takes it from the seed, once per instance.
 */
export function kernelCmdline(vm: VmSpec, profileCmdline: string, hostname?: string): string {
  const parts = [vm.cmdline.trim()];
  if (!/(^|\s)root=/.test(vm.cmdline)) parts.push('root=/dev/vda');
  if (hostname && hostname.length <= 253 && HOSTNAME.test(hostname)) parts.push(`lodge.hostname=${hostname}`);
  // Last console= wins for /dev/console: ours, so init's output reaches the log.
  parts.push('console=ttyS0', profileCmdline);
  return parts.filter(Boolean).join(' ');
}

export function qemuArgs(i: QemuArgsInput): string[] {
  const { paths, vm, profile } = i;
  const microvm = profile.machine.startsWith('microvm');
  const hasCpu = profile.qemuArgs.includes('-cpu');
  return [
    '-name', qemuName(i.id),
    '-machine', profile.machine,
    '-accel', i.accelerator === 'kvm' ? 'kvm' : `tcg,tb-size=${i.tcgTbSizeMiB}`,
    ...(i.accelerator === 'kvm' && !hasCpu ? ['-cpu', 'host'] : []),
    ...profile.qemuArgs,
    '-smp', String(vm.cpus),
    '-m', `${Math.ceil(vm.memoryBytes / (1024 * 1024))}M`,
    '-nodefaults', '-no-user-config', '-display', 'none',
    // Created paused: start() is QMP cont. Daemonized, so QEMU outlives the agent.
    '-S', '-daemonize', '-pidfile', paths.qemuPidFile,
    '-qmp', `unix:${opt(paths.qmpSocket)},server=on,wait=off`,
    // The serial console: a socket for `lodge console`, and everything the guest prints also in the log, whether or not anyone is attached.
    '-chardev', `socket,id=console,path=${opt(paths.consoleSocket)},server=on,wait=off,logfile=${opt(i.logPath)},logappend=on`,
    '-serial', 'chardev:console',
    // The guest agent's channel: a virtio-serial port the image's agent opens by name, and a socket here for exec (drivers/vm/guest-agent/).
    '-chardev', `socket,id=guest-agent,path=${opt(paths.guestAgentSocket)},server=on,wait=off`,
    '-device', `${microvm ? 'virtio-serial-device' : 'virtio-serial-pci'},id=vserial`,
    '-device', `virtserialport,bus=vserial.0,chardev=guest-agent,name=${GUEST_AGENT_PORT_NAME}`,
    '-kernel', vm.kernel,
    ...(vm.initrd ? ['-initrd', vm.initrd] : []),
    '-append', kernelCmdline(vm, i.profileCmdline, i.hostname),
    '-drive', `file=${opt(paths.overlay)},format=qcow2,if=none,id=root,cache=writeback,discard=unmap`,
    '-device', `${microvm ? 'virtio-blk-device' : 'virtio-blk-pci'},drive=root`,
    // The cloud-init seed after the root disk, so the root stays /dev/vda and the seed is /dev/vdb (guests find it by its label, cidata, all the same).
    ...(vm.seed
      ? ['-drive', `file=${opt(vm.seed.path)},format=${vm.seed.format},if=none,id=seed,readonly=on`, '-device', `${microvm ? 'virtio-blk-device' : 'virtio-blk-pci'},drive=seed`]
      : []),
    // No default NIC; the VM's own (its taps on the node's bridge, in order: net0 is the first NIC the guest sees).
    '-nic', 'none',
    ...(vm.nics ?? []).flatMap((n, k) => qemuNicArgs({ name: n.tap, guestMac: n.mac, multiQueue: false }, { id: `net${k}`, model: microvm ? 'virtio-net-device' : 'virtio-net-pci' })),
    // A guest kernel panic is reported to QEMU (when the guest loads the pvpanic driver) and the VM is held in status guest-panicked, which state() reports as a failed stop, rather than rebooting in a loop.
    ...(microvm ? [] : ['-device', 'pvpanic']),
    '-action', 'panic=pause',
    // Resuming a saved state: QEMU waits for migrate-incoming (start()), and keeps its own log, where alone it says why a load failed before it exits.
    ...(vm.incomingState ? ['-incoming', 'defer', '-D', paths.qemuLog] : []),
  ];
}
