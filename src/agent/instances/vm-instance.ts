// The `type: vm` side, through the same InstanceDriver as containers. The VM
// driver (drivers/vm/) and VM images (images/vm/) are separate modules; they
// are loaded at run time so the agent builds and runs without them, and a vm
// Instance then reports VMDriverUnavailable instead of failing the agent.
// The only VM-specific code here is the VmSpec builder.
import { parseQuantity } from '../../apis/core/v1/quantity.js';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { Logger } from '../../util/log.js';
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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
type Opener = (opts: Record<string, unknown>) => Promise<unknown>;

/** A class's static open(opts), or its constructor, whichever the module offers. */
function opener(cls: unknown): Opener | undefined {
  if (typeof cls !== 'function') return undefined;
  const open = (cls as unknown as Record<string, unknown>).open;
  if (typeof open === 'function') return (o) => Promise.resolve((open as (o: Record<string, unknown>) => unknown).call(cls, o));
  const Ctor = cls as new (o: Record<string, unknown>) => unknown;
  return (o) => Promise.resolve(new Ctor(o));
}

/**
 * Load the VM driver and images, if they are there. Returns the reason they
 * are not otherwise; never throws, as containers must run regardless.
 */
export async function loadVmSupport(o: { root: string; imagesRoot: string; log: Logger }): Promise<VmSupport | { unavailable: string }> {
  // Paths in variables: TypeScript does not resolve them, so the agent compiles before those modules exist.
  const driverPath = '../drivers/vm/index.js';
  const imagesPath = '../images/vm/index.js';
  try {
    const [dm, im]: unknown[] = await Promise.all([import(driverPath), import(imagesPath)]);
    const openDriver = isRecord(dm) ? opener(dm.VmDriver) : undefined;
    const openImages = isRecord(im) ? opener(im.VmImages) : undefined;
    if (!openDriver || !openImages) return { unavailable: 'the VM driver module does not export VmDriver and VmImages yet' };
    const driver = await openDriver({ root: o.root, logger: o.log, log: o.log });
    const images = await openImages({ root: o.imagesRoot, logger: o.log, log: o.log });
    if (!isRecord(driver) || driver.kind !== 'vm' || typeof driver.create !== 'function') return { unavailable: 'VmDriver is not an InstanceDriver' };
    if (!isRecord(images) || typeof images.ensure !== 'function') return { unavailable: 'VmImages has no ensure(name)' };
    const accel = driver.accelerator;
    return {
      driver: driver as unknown as InstanceDriver,
      images: images as unknown as VmSupport['images'],
      ...(typeof accel === 'string' ? { accelerator: accel } : {}),
    };
  } catch (e) {
    return { unavailable: `the VM driver cannot be loaded: ${(e as Error).message}` };
  }
}
