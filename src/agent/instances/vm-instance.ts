// The `type: vm` side, through the same InstanceDriver as containers: the
// VM driver (drivers/vm/) and VM images (images/vm/). When they cannot be
// opened on this node (no QEMU), a vm Instance reports VMDriverUnavailable
// instead of failing the agent. The only VM-specific code here is the VmSpec
// builder.
import { parseQuantity } from '../../apis/core/v1/quantity.js';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { Logger } from '../../util/log.js';
import { VmDriver } from '../drivers/vm/index.js';
import { VM_IMAGE_NAMES, VmImages, type VmImageName } from '../images/vm/index.js';
import type { InstanceDriver, VmSpec, WorkloadSpec } from '../runtime/driver.js';
import { InstanceNotReadyError, instanceLimits } from './container-instance.js';
import { instanceCgroup, instanceId } from './ids.js';
import type { InstanceDirs } from './instance-dirs.js';

/** What VmImages.ensure(name) gives: the boot files and the base disk of a VM image. */
export interface VmImageFiles {
  kernel: string;
  initrd?: string;
  cmdline: string;
  disk: { path: string; format: 'qcow2' | 'raw' };
}

export interface VmSupport {
  driver: InstanceDriver;
  images: { ensure(name: string): Promise<VmImageFiles> };
  /** kvm or tcg, from the driver's probe. */
  accelerator?: string;
}

const GiB = 2 ** 30;

export function buildVmSpec(i: Instance, img: VmImageFiles): VmSpec {
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
  };
}

export async function vmWorkload(i: Instance, vm: VmSupport, nodeName: string, dirs: InstanceDirs): Promise<WorkloadSpec> {
  const uid = String(i.metadata.uid);
  let img: VmImageFiles;
  try {
    img = await vm.images.ensure(i.spec?.image ?? '');
  } catch (e) {
    throw new InstanceNotReadyError('ImagePrepareFailed', `VM image ${i.spec?.image ?? ''}: ${(e as Error).message}`);
  }
  await dirs.ensureDir(uid);
  const { pids: _pids, ...limits } = instanceLimits(i);
  return {
    id: instanceId(uid),
    node: nodeName,
    rootfs: { lowerDirs: [] },
    args: [],
    env: [],
    cwd: '/',
    hostname: (i.spec?.cloudInit?.hostname || String(i.metadata.name)).slice(0, 63),
    limits,
    cgroupsPath: instanceCgroup(uid),
    mounts: [],
    logPath: dirs.consoleLog(uid),
    vm: buildVmSpec(i, img),
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
        ensure: (name) => {
          if (!(VM_IMAGE_NAMES as readonly string[]).includes(name)) return Promise.reject(new Error(`no VM image ${JSON.stringify(name)}; this node builds ${VM_IMAGE_NAMES.join(', ')}`));
          return images.ensure(name as VmImageName, (step) => o.log.info('building VM image', { image: name, step }));
        },
      },
      accelerator: driver.accelerator,
    };
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
}
