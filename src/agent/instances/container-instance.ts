// A `type: container` Instance as a driver workload: the image's rootfs
// under the instance's persistent upper layer, its init as PID 1
// (init-system.ts), the instance name as hostname, cpu and memory as cgroup
// limits, its own network namespace, the console log in the instance dir.
import { attachContainerNetworks, hasInterfaces, type InstanceNetworking } from './instance-networks.js';
import { parseQuantity } from '../../apis/core/v1/quantity.js';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import { builtinSpec, type ImageStore } from '../images/index.js';
import type { ResourceLimits, WorkloadSpec } from '../runtime/driver.js';
import { instanceCgroup, instanceId, instanceNetnsPath } from './ids.js';
import type { InstanceDirs } from './instance-dirs.js';
import { FirstBootConfigError, firstBootConfig } from '../first-boot/config.js';
import { writeFirstBootOnce } from '../first-boot/rootfs.js';
import { planInit } from './init-system.js';
import { ContainerLayerStore } from '../storage/container-layer-store.js';
import type { ClusterDnsSource } from '../dns/cluster-dns.js';
import { clusterDnsConfig } from '../dns/instance-dns-config.js';
import { writeRootfsResolvConf } from '../dns/rootfs-resolv-conf.js';

/** A full OS runs more processes than one service; still bounded so a fork bomb inside cannot exhaust the host. */
export const INSTANCE_PIDS_LIMIT = 16_384;

/** Why a workload cannot be built now (image missing, ...): shown in status, tried again later. */
export class InstanceNotReadyError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ContainerInstanceDeps {
  nodeName: string;
  images: ImageStore;
  dirs: InstanceDirs;
  /** The store name of an Image (through the Image resources). */
  storeName(ref: string): string;
  /** The node's networks; loopback only when unset. */
  networking?: InstanceNetworking;
  /** Cluster DNS: the resolv.conf written into the root before each start. */
  dns?: ClusterDnsSource;
}

/** A system container has veths unless its spec asks for no interface (networks: []); VMs get taps instead (vm-instance.ts). */
export function wantsNetwork(i: Instance): boolean {
  return i.spec?.type !== 'vm' && hasInterfaces(i);
}

export function instanceLimits(i: Instance): ResourceLimits {
  const out: ResourceLimits = { pids: INSTANCE_PIDS_LIMIT };
  const cpu = parseQuantity(i.spec?.cpu);
  if (cpu !== undefined && cpu > 0) out.cpuMillis = Math.max(1, Math.round(cpu * 1000));
  const mem = parseQuantity(i.spec?.memory);
  if (mem !== undefined && mem > 0) out.memoryBytes = Math.round(mem);
  return out;
}

export function hostnameOf(i: Instance): string {
  return (i.spec?.cloudInit?.hostname || String(i.metadata.name)).slice(0, 63);
}

export async function containerWorkload(i: Instance, d: ContainerInstanceDeps, restoreState?: string): Promise<{ spec: WorkloadSpec; digest: string; note?: { reason: string; message: string } }> {
  const uid = String(i.metadata.uid);
  // The namespace and its veth are made while the image and root layer are prepared; runc create waits for them (spec.ready).
  // The state dir first: it is what tells the agent's orphan sweep that an allocated address is still wanted.
  const network = d.dirs.ensureDir(uid).then(() => d.dirs.ensureNetns(uid)).then(async () => {
    if (d.networking && wantsNetwork(i)) await attachContainerNetworks(i, instanceNetnsPath(uid), d.networking);
  });
  network.catch(() => undefined); // awaited by the driver's create, or below when the build stops early
  const ref = i.spec?.image ?? '';
  const name = d.storeName(ref);
  const known = builtinSpec(name) !== undefined || (await d.images.get(name).catch(() => undefined));
  if (!known) throw new InstanceNotReadyError('ImageNotFound', `image ${ref} is not in the node's image store; import it with lodge image import`);
  let image;
  try {
    // A built-in image (busybox, debian) is built here on first use.
    image = await d.images.prepare(name);
  } catch (e) {
    throw new InstanceNotReadyError('ImagePrepareFailed', `image ${ref}: ${(e as Error).message}`);
  }
  await d.dirs.ensureDir(uid);
  // A linked copy reads its source's snapshot layer between the image and its own writable layer.
  const lowerDirs = await new ContainerLayerStore(d.dirs.dir(uid)).lowerDirs(image.rootfs.lowerDirs);
  // cloud-init's data, placed in the root layer before the first boot (the init runs the user-data script once).
  let firstBoot;
  try {
    firstBoot = firstBootConfig(String(i.metadata.name), i.spec);
  } catch (e) {
    if (e instanceof FirstBootConfigError) throw new InstanceNotReadyError('InvalidCloudInit', e.message);
    throw e;
  }
  await writeFirstBootOnce(firstBoot, d.dirs.upper(uid), lowerDirs, d.dirs.guestFile(uid, 'first-boot-written'));
  // Only with a network: without one the cluster DNS is out of reach, and the image's own file is left alone.
  if (d.dns && wantsNetwork(i)) await writeRootfsResolvConf(d.dirs.upper(uid), clusterDnsConfig(String(i.metadata.namespace ?? 'default'), await d.dns.settings()));
  const init = await planInit(String(i.metadata.name), [d.dirs.upper(uid), ...lowerDirs], d.dirs.guestFile(uid, 'inittab'), image.config.env ?? []);
  const spec: WorkloadSpec = {
    id: instanceId(uid),
    node: d.nodeName,
    rootfs: { lowerDirs, upperDir: d.dirs.upper(uid), workDir: d.dirs.work(uid) },
    args: init.args,
    env: init.env,
    cwd: '/',
    hostname: hostnameOf(i),
    limits: instanceLimits(i),
    cgroupsPath: instanceCgroup(uid),
    netnsPath: instanceNetnsPath(uid),
    ready: network,
    mounts: init.mounts,
    logPath: d.dirs.consoleLog(uid),
    // The console: init's /dev/console is a terminal, as a VM's ttyS0 is (lodge console attaches to it).
    terminal: true,
    // A stateful snapshot's processes, brought back by CRIU instead of booting the init.
    ...(restoreState ? { restoreFrom: restoreState } : {}),
    // systemd halts on SIGRTMIN+3 and ignores SIGTERM as PID 1.
    ...(init.systemd ? { systemd: true, stopSignal: 'SIGRTMIN+3' as const } : {}),
  };
  return { spec, digest: image.digest, note: init.note };
}
