// The `type: vm` side, through the same InstanceDriver as containers: the
// VM driver (drivers/vm/) and VM images (images/vm/). When they cannot be
// opened on this node (no QEMU), a vm Instance reports VMDriverUnavailable
// instead of failing the agent. The only VM-specific code here is the VmSpec
// builder.
import { parseQuantity } from '../../apis/core/v1/quantity.js';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { Logger } from '../../util/log.js';
import { VmDriver } from '../drivers/vm/index.js';
import { FirstBootConfigError } from '../first-boot/config.js';
import { usableDns, type GuestNetwork } from '../first-boot/guest-network.js';
import { noCloudSeed } from '../first-boot/nocloud.js';
import type { TapAddress } from '../node-network.js';
import { writeSeedDisk } from '../first-boot/seed-disk.js';
import { VM_IMAGE_NAMES, VmImages, type VmImageName } from '../images/vm/index.js';
import type { InstanceDriver, VmSpec, WorkloadSpec } from '../runtime/driver.js';
import { VmDiskStore, type LiveVmDisk } from '../storage/vm-disk-store.js';
import { InstanceNotReadyError, instanceLimits } from './container-instance.js';
import { instanceCgroup, instanceId } from './ids.js';
import type { InstanceDirs } from './instance-dirs.js';
import { attachVmNetworks, type InstanceNetworking } from './instance-networks.js';
import type { DnsConfig } from '../dns/resolv-conf.js';

/** What VmImages.ensure(name) gives: the boot files and the base disk of a VM image. */
export interface VmImageFiles {
  kernel: string;
  initrd?: string;
  cmdline: string;
  disk: { path: string; format: 'qcow2' | 'raw' };
}

export interface VmSupport {
  driver: InstanceDriver & LiveVmDisk;
  images: { ensure(name: string): Promise<VmImageFiles> };
  /** kvm or tcg, from the driver's probe. */
  accelerator?: string;
}

const GiB = 2 ** 30;

/** What puts a VM on the node's network: its tap and address, and the cluster's resolver for the guest. */
export interface VmNetworkDeps {
  /** The node's networks; VMs get no NIC when unset (lodge up --no-network). */
  networking?: InstanceNetworking;
  /** The guest's resolver in that namespace; read at each create (the seed is made then), so a VM started before cluster DNS existed gets it at its next start. */
  dns(namespace: string): Promise<DnsConfig>;
}

export function buildVmSpec(i: Instance, img: VmImageFiles, seedPath?: string, nics: Array<Pick<TapAddress, 'tap' | 'mac'>> = []): VmSpec {
  const cpus = Math.max(1, Math.round(parseQuantity(i.spec?.cpu) ?? 1));
  const memoryBytes = Math.round(parseQuantity(i.spec?.memory) ?? GiB);
  const disk = parseQuantity(i.spec?.diskSize);
  return {
    kernel: img.kernel,
    ...(img.initrd ? { initrd: img.initrd } : {}),
    cmdline: img.cmdline,
    baseDisk: img.disk,
    ...(disk !== undefined ? { diskSizeBytes: Math.round(disk) } : {}),
    cpus,
    memoryBytes,
    ...(seedPath ? { seed: { path: seedPath, format: 'raw' as const } } : {}),
    ...(nics.length ? { nics: nics.map((n) => ({ tap: n.tap.name, mac: n.mac })) } : {}),
  };
}

/**
 * The instance's cloud-init seed disk, made again at every create (cheap,
 * and a changed spec is then what the disk says), in the instance's own dir
 * so it lives as long as the instance. The guest applies it once per
 * instance-id (the uid), whatever else changes.
 */
async function ensureSeed(i: Instance, dirs: InstanceDirs, network: GuestNetwork[]): Promise<{ path: string; hostname: string }> {
  const path = dirs.guestFile(String(i.metadata.uid), 'cidata.iso');
  let seed;
  try {
    seed = noCloudSeed(i, network);
  } catch (e) {
    if (e instanceof FirstBootConfigError) throw new InstanceNotReadyError('InvalidCloudInit', e.message);
    throw e;
  }
  try {
    await writeSeedDisk(seed, path);
  } catch (e) {
    throw new InstanceNotReadyError('SeedDiskFailed', (e as Error).message);
  }
  return { path, hostname: seed.config.hostname };
}

export async function vmWorkload(i: Instance, vm: VmSupport, nodeName: string, dirs: InstanceDirs, net: VmNetworkDeps, restoreState?: string): Promise<WorkloadSpec> {
  const uid = String(i.metadata.uid);
  let img: VmImageFiles;
  try {
    img = await vm.images.ensure(i.spec?.image ?? '');
  } catch (e) {
    throw new InstanceNotReadyError('ImagePrepareFailed', `VM image ${i.spec?.image ?? ''}: ${(e as Error).message}`);
  }
  // The state dir first: it is what tells the agent's orphan sweep that the address and tap are still wanted.
  await dirs.ensureDir(uid);
  // Its taps (the same ones at every create: kept per uid and interface); a requested address that cannot be given says so in status.
  const nics = net.networking ? await attachVmNetworks(i, net.networking) : [];
  const dns = nics.length ? usableDns(await net.dns(String(i.metadata.namespace ?? 'default'))) : undefined;
  const guestNet: GuestNetwork[] = dns ? nics.map((n) => ({ mac: n.mac, interfaceName: n.interfaceName, address: n.ip, prefixLength: n.prefixLength, gateway: n.gateway, ...dns })) : [];
  const seed = await ensureSeed(i, dirs, guestNet);
  const { pids: _pids, ...limits } = instanceLimits(i);
  return {
    id: instanceId(uid),
    node: nodeName,
    rootfs: { lowerDirs: [] },
    args: [],
    env: [],
    cwd: '/',
    // The seed's local-hostname (a #cloud-config hostname wins, as there): the kernel command line carries the same name.
    hostname: seed.hostname,
    limits,
    cgroupsPath: instanceCgroup(uid),
    mounts: [],
    logPath: dirs.consoleLog(uid),
    // The root disk lives with the instance (kept across stop/start/restart, removed with it), as a system container's upper layer does.
    // Its top layer: disk.qcow2 at first, another after a snapshot or restore (storage/vm-disk-store.ts).
    vm: { ...buildVmSpec(i, img, seed.path, nics), persistentDisk: await new VmDiskStore(dirs.dir(uid)).activeDisk(), ...(restoreState ? { incomingState: restoreState } : {}) },
  };
}

/**
 * Open the VM driver and VM images. Returns why they cannot be used instead
 * of throwing (no QEMU on this node, say): containers must run regardless,
 * and a vm Instance then says why in its status.
 */
export async function loadVmSupport(o: { driverRoot: string; images: VmImages; log: Logger }): Promise<VmSupport | { unavailable: string }> {
  try {
    const driver = await VmDriver.open({ root: o.driverRoot, logger: o.log });
    const images = o.images;
    return {
      driver,
      images: {
        ensure: async (name) => {
          if ((VM_IMAGE_NAMES as readonly string[]).includes(name)) return images.ensure(name as VmImageName, (step) => o.log.info('building VM image', { image: name, step }));
          // An imported one (lodge image import DISK NAME --kernel K): there when its Image is Ready on this node.
          const imported = await images.get(name);
          if (!imported) throw new Error(`no VM image ${JSON.stringify(name)} on this node: build one of ${VM_IMAGE_NAMES.join(', ')} or import a disk with lodge image import DISK ${name} --kernel KERNEL`);
          return imported;
        },
      },
      accelerator: driver.accelerator,
    };
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
}
