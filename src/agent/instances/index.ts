// The agent's entry to Instances: wires the container runtime (the agent's
// container driver), the optional VM runtime and the controller.
import type { InstanceNetworking } from './instance-networks.js';
import { join } from 'node:path';
import type { KubeClient } from '../../client/index.js';
import type { Logger } from '../../util/log.js';
import type { ImageStore } from '../images/index.js';
import type { VmImages } from '../images/vm/index.js';
import type { InstanceDriver } from '../runtime/driver.js';
import type { ContainerDriver } from '../drivers/container/index.js';
import { containerWorkload, InstanceNotReadyError } from './container-instance.js';
import { InstanceDirs } from './instance-dirs.js';
import { startInstanceController, type InstanceControllerOptions } from './instance-controller.js';
import type { InstanceRuntime } from './instance-sync.js';
import { loadVmSupport, vmWorkload, type VmNetworkDeps } from './vm-instance.js';
import { clusterDnsConfig } from '../dns/instance-dns-config.js';
import { InstanceBackups } from './instance-backup.js';
import type { ClusterDnsSource } from '../dns/cluster-dns.js';
import type { NodeBackup } from '../backup/node-backup.js';
import { builtinSpec } from '../images/index.js';
import { VM_IMAGE_NAMES } from '../images/vm/index.js';

export interface InstancesOptions {
  client: KubeClient;
  nodeName: string;
  dataDir: string;
  containerDriver: ContainerDriver;
  images: ImageStore;
  /** The node's VM images; absent when it cannot run VMs. */
  vmImages?: VmImages;
  storeName(ref: string): string;
  exitsDir: string;
  log: Logger;
  signal: AbortSignal;
  /** The node's networks for system containers (veths) and VMs (taps). */
  networking?: InstanceNetworking;
  /** Cluster DNS: a system container's /etc/resolv.conf points at it. */
  dns?: ClusterDnsSource;
  /** Where the Instances' events go. */
  recorder?: InstanceControllerOptions['recorder'];
}

/** vmDriver: the VM driver when this node can run VMs, for what else reaches VMs (exec, console); backup: export and import of its instances. */
export async function startInstances(o: InstancesOptions): Promise<{ done: Promise<void>; vmDriver?: InstanceDriver; backup: NodeBackup }> {
  const dirs = new InstanceDirs(join(o.dataDir, 'instances'));
  const cd = o.containerDriver;
  const container: InstanceRuntime = {
    driver: cd,
    build: (i, opts) => containerWorkload(i, { nodeName: o.nodeName, images: o.images, dirs, storeName: o.storeName, networking: o.networking, dns: o.dns }, opts?.restoreState),
    disk: {
      container: {
        pause: (id) => cd.pause(id),
        resume: (id) => cd.resume(id),
        checkpoint: (id, dir, opts) => cd.checkpoint(id, dir, opts),
        criuProblem: async () => {
          const c = await cd.criuAvailable();
          return c.ok ? undefined : c.reason;
        },
      },
    },
    imageLowers: async (i) => (await o.images.prepare(o.storeName(i.spec?.image ?? ''))).rootfs.lowerDirs,
  };
  const support = o.vmImages ? await loadVmSupport({ driverRoot: join(o.dataDir, 'runtime'), images: o.vmImages, log: o.log }) : { unavailable: 'QEMU is not installed on this node' };
  let vm: InstanceRuntime | InstanceNotReadyError;
  if ('unavailable' in support) {
    o.log.info('virtual machines unavailable on this node', { why: support.unavailable });
    vm = new InstanceNotReadyError('VMDriverUnavailable', `this node cannot run virtual machines: ${support.unavailable}`);
  } else {
    // The guest's resolver as a system container's: the cluster DNS, else the node's own (nothing without a DNS source).
    const noDns = { nameservers: [], searches: [], options: [] };
    const vmNet: VmNetworkDeps = {
      networking: o.networking,
      dns: async (ns) => {
        if (!o.dns) return noDns;
        // A VM still boots with its address when the resolver settings cannot be had; its next start tries again.
        const settings = await o.dns.settings().catch((e: Error) => o.log.warn('no resolver settings for a VM', { namespace: ns, error: e.message }));
        return settings ? clusterDnsConfig(ns, settings) : noDns;
      },
    };
    vm = { driver: support.driver, accelerator: support.accelerator, build: async (i, opts) => ({ spec: await vmWorkload(i, support, o.nodeName, dirs, vmNet, opts?.restoreState) }), disk: { vmDisk: support.driver } };
  }
  const running = await startInstanceController({ client: o.client, nodeName: o.nodeName, dirs, log: o.log, container, vm: () => vm, exitsDir: o.exitsDir, networking: o.networking, recorder: o.recorder }, o.signal);
  const backup = new InstanceBackups({
    client: o.client,
    dirs,
    disks: running.disks,
    log: o.log.child({ component: 'backup' }),
    runtime: (t) => (t === 'vm' ? vm : container),
    imageProblem: async (i) => {
      const ref = i.spec?.image ?? '';
      if (i.spec?.type === 'vm') {
        if ((VM_IMAGE_NAMES as readonly string[]).includes(ref) || (await o.vmImages?.get(ref))) return undefined;
        return `no VM image ${JSON.stringify(ref)} on this node (its kernel boots the imported disk): build one of ${VM_IMAGE_NAMES.join(', ')} or import it with lodge image import`;
      }
      const name = o.storeName(ref);
      if (builtinSpec(name) || (await o.images.get(name).catch(() => undefined))) return undefined;
      return `image ${ref} is not in the node's image store (the export holds the instance's own layer, which sits on the image's); import it with lodge image import`;
    },
  });
  return { done: running.done, backup, ...('unavailable' in support ? {} : { vmDriver: support.driver }) };
}
