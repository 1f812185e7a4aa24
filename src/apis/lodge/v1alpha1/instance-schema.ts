// The schema of Instance: a virtual server, either a VM (QEMU/KVM) or a
// system container (full OS init under runc), with one lifecycle for both.
import { arr, bool, int32, int64, obj, quantity, str, stringMap, time, enumOf, type Schema } from '../../schema.js';
import { conditionList, kindDefinition } from '../../meta/v1.js';
import { lodge, lodgeGVK, lodgeRef } from './names.js';

export const INSTANCE_TYPES = ['container', 'vm'] as const;
export const RUN_STRATEGIES = ['Always', 'RerunOnFailure', 'Manual', 'Halted'] as const;
// Starting, Stopping and Paused are the node agent's transient and frozen
// states, so `lodge list` and a watch see a stop or a pause as it happens.
export const INSTANCE_PHASES = ['Pending', 'Scheduled', 'Provisioning', 'Starting', 'Running', 'Stopping', 'Stopped', 'Paused', 'Failed', 'Unknown'] as const;
export const DISK_BUSES = ['virtio', 'scsi', 'sata', 'nvme'] as const;

export const instanceDefinitions: Record<string, Schema> = {
  [lodge('InstanceNetwork')]: obj(
    {
      name: str('Name of the interface: the device name inside a container (e.g. eth0), a label for a VM\'s NIC.'),
      network: str('Network the interface is attached to.', { default: 'default' }),
      macAddress: str('MAC address; generated when unset.'),
      ipAddress: str('Static IP address on that network; allocated by the network when unset.'),
    },
    { required: ['name'], description: 'A network interface of an instance.' },
  ),
  [lodge('InstanceDisk')]: obj(
    {
      name: str('Name of the disk, a DNS label unique within the instance; "root" is the root disk.'),
      size: quantity('Size of the disk, e.g. 20Gi.'),
      storagePool: str('Storage pool the disk lives in; the default pool when unset.'),
      image: str('Image to fill the disk from; empty disk when unset.'),
      bus: enumOf([...DISK_BUSES], 'VMs only: how the disk is attached to the guest (default virtio).'),
      path: str('Containers only: absolute path where the disk is mounted inside the container.'),
      readOnly: bool('Attach or mount the disk read-only.'),
      bootOrder: int32('VMs only: boot priority among disks (1 boots first).'),
    },
    { required: ['name'], description: 'An extra disk of an instance.' },
  ),
  [lodge('InstanceUser')]: obj(
    {
      name: str('Login name of the user.'),
      sshAuthorizedKeys: arr(str(), { listType: 'set', description: 'Public SSH keys allowed to log in as this user.' }),
      sudo: bool('Allow password-less sudo.'),
      shell: str('Login shell, e.g. /bin/bash.'),
      groups: arr(str(), { listType: 'set', description: 'Extra groups of the user.' }),
    },
    { required: ['name'], description: 'A user created in the guest at first boot.' },
  ),
  [lodge('InstanceCloudInit')]: obj(
    {
      hostname: str('Host name of the guest; defaults to the instance name.'),
      users: arr(lodgeRef('InstanceUser'), { mergeKey: 'name', description: 'Users to create at first boot.' }),
      userData: str('Raw cloud-init user data (a #cloud-config document or a script), applied after the fields above.'),
      networkConfig: str('Raw cloud-init network configuration (version 2); Lodge generates one from networks when unset.'),
    },
    { description: 'First-boot configuration of the guest, delivered as cloud-init (NoCloud) data.' },
  ),
  [lodge('InstanceSnapshotPolicy')]: obj(
    {
      schedule: str('When to take snapshots: a cron expression ("0 3 * * *") or @hourly, @daily, @weekly, ...'),
      expiry: str('How long scheduled snapshots are kept, e.g. 7d, 12h, 2w; forever when unset.'),
      stateful: bool('Include memory state in scheduled snapshots, so restores resume running processes.'),
    },
    { description: 'Automatic snapshots of an instance.' },
  ),
  [lodge('InstanceSource')]: obj(
    {
      instanceName: str('The instance (in the same namespace) this one is a copy of.'),
      snapshotName: str('Copy this Snapshot of it (the Snapshot object\'s name); its current state when unset.'),
      full: bool('Copy the whole disk instead of linking to the source (a linked clone shares the source\'s unchanged blocks and depends on it).'),
    },
    { required: ['instanceName'], description: 'Where a copied instance (`lodge copy`) starts from. Cannot change.' },
  ),
  [lodge('InstanceRestoreStatus')]: obj(
    {
      snapshotName: str('The Snapshot restored.'),
      requestedAt: time('The request this reports (the lodge.dev/restoreRequestedAt annotation).'),
      phase: enumOf(['InProgress', 'Succeeded', 'Failed'], 'Where the restore is.'),
      message: str('Why it failed, or what was restored.'),
      completedAt: time('When it finished.'),
    },
    { description: 'The last snapshot restore of an instance.' },
  ),
  [lodge('InstanceForward')]: obj(
    {
      hostPort: int32('Port on the node that forwards to the guest.'),
      port: int32('Port in the guest.'),
      protocol: enumOf(['TCP', 'UDP'], 'Protocol forwarded.', { default: 'TCP' }),
      hostIP: str('Node address to listen on; all addresses when unset.'),
    },
    { required: ['hostPort', 'port'], description: 'A port of the node forwarded to the instance.' },
  ),
  [lodge('InstanceSpec')]: obj(
    {
      type: enumOf([...INSTANCE_TYPES], 'container: a system container sharing the host kernel; vm: a QEMU/KVM virtual machine. Cannot change.', {
        default: 'container',
      }),
      image: str('Name of the Image the root disk starts from.'),
      cpu: quantity('CPUs: a whole number of vCPUs for a VM (default 1); a CPU limit for a container (e.g. 500m; unlimited when unset).'),
      memory: quantity('Memory: guest RAM for a VM (default 1Gi); a memory limit for a container (unlimited when unset).'),
      diskSize: quantity('Size of the root disk (default 10Gi for VMs; the pool\'s default for containers). Can grow, not shrink.'),
      // Always by default: a declared instance should be up, as after
      // `incus launch` or a KubeVirt VM with running: true, and come back
      // after a crash or host reboot. RerunOnFailure lets a guest-initiated
      // shutdown stick; Halted creates it stopped.
      runStrategy: enumOf(
        [...RUN_STRATEGIES],
        'Always: keep it running, restarting it whenever it stops. RerunOnFailure: restart only after a crash; a clean shutdown from inside stays off. ' +
          'Manual: start and stop only on request. Halted: keep it stopped.',
        { default: 'Always' },
      ),
      nodeName: str('Run on this node, skipping the scheduler.'),
      nodeSelector: stringMap('Node labels the instance\'s node must have.'),
      priorityClassName: str('PriorityClass of the instance: admission resolves it to spec.priority (the global default class when unset). Cannot change.'),
      priority: int32('Priority, resolved from priorityClassName at creation; the scheduler places higher priorities first. Instances are never preempted.'),
      preemptionPolicy: enumOf(['PreemptLowerPriority', 'Never'], 'Whether the instance may preempt lower-priority Pods when it fits nowhere; from its PriorityClass.'),
      networks: arr(lodgeRef('InstanceNetwork'), { mergeKey: 'name', description: 'Network interfaces; one on the "default" network when unset, none when [].' }),
      disks: arr(lodgeRef('InstanceDisk'), { mergeKey: 'name', description: 'Disks besides the root disk.' }),
      cloudInit: lodgeRef('InstanceCloudInit', 'First-boot configuration of the guest.'),
      snapshots: lodgeRef('InstanceSnapshotPolicy', 'Automatic snapshots.'),
      source: lodgeRef('InstanceSource', 'Start as a copy of another instance or of its snapshot (lodge copy). Cannot change.'),
      forwards: arr(lodgeRef('InstanceForward'), {
        mergeKey: 'hostPort',
        mapKeys: ['hostPort', 'protocol'],
        description: 'Ports of the node forwarded to the instance.',
      }),
      terminationGracePeriodSeconds: int64('Seconds a clean shutdown may take before the instance is killed (default 180 for VMs, 30 for containers).'),
      // Declarative like runStrategy (`lodge pause` sets it): a frozen guest
      // keeps its memory and processes, unlike a stop.
      paused: bool('Freeze the running instance (cgroup freezer for containers, vCPUs stopped for VMs); false or unset runs it.'),
    },
    { required: ['image'], description: 'Desired state of an instance.' },
  ),
  [lodge('InstanceInterfaceStatus')]: obj(
    {
      name: str('Name of the interface (as in spec.networks).'),
      network: str('Network it is attached to.'),
      macAddress: str('Its MAC address.'),
      ips: arr(str(), { listType: 'set', description: 'Its IP addresses.' }),
      hostInterface: str('The tap or veth device on the node.'),
    },
    { required: ['name'], description: 'Observed state of a network interface.' },
  ),
  [lodge('InstanceStatus')]: obj(
    {
      observedGeneration: int64('The generation of the spec this status reflects.'),
      phase: enumOf([...INSTANCE_PHASES], 'Coarse place in the lifecycle: Pending (no node yet), Scheduled, Provisioning (disks, network), Starting, Running, Stopping, Stopped, Paused, Failed, Unknown (node lost).'),
      state: str('Exact runtime state as the node agent sees it: Starting, Running, Frozen, Stopping, Stopped, Migrating, Error, ...'),
      reason: str('CamelCase reason for the current state, e.g. ImagePullFailed.'),
      message: str('Human-readable details of the state.'),
      nodeName: str('Node the instance is bound to.'),
      nominatedNodeName: str('Node the instance may run on after preemption frees room there.'),
      ip: str('Primary IP address of the instance.'),
      ips: arr(str(), { listType: 'set', description: 'All IP addresses of the instance.' }),
      interfaces: arr(lodgeRef('InstanceInterfaceStatus'), { mergeKey: 'name', description: 'Observed state of each interface.' }),
      accelerator: enumOf(['kvm', 'tcg', 'none'], 'VMs: kvm (hardware virtualization) or tcg (emulation, much slower); none for containers.'),
      imageDigest: str('Digest of the image the root disk was created from.'),
      startedAt: time('When the instance last started.'),
      restartCount: int32('How often the instance has been restarted by its run strategy.'),
      lastSnapshotTime: time('When the last snapshot was taken.'),
      flattened: bool('A copy whose disk no longer depends on its source (copied in full, or flattened since).'),
      restore: lodgeRef('InstanceRestoreStatus', 'The last snapshot restore.'),
      conditions: conditionList('Scheduled, Provisioned, Ready, Migrating, ... with reasons and progress messages.'),
    },
    { description: 'Observed state of an instance, written by the scheduler and the node agent.' },
  ),
  [lodge('Instance')]: kindDefinition(lodgeGVK('Instance'), 'A virtual server: a VM or a system container, with one lifecycle for both.', {
    spec: lodgeRef('InstanceSpec', 'Desired state of the instance.'),
    status: lodgeRef('InstanceStatus', 'Observed state of the instance.'),
  }),
};
