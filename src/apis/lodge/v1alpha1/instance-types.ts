// TypeScript shape of Instance objects (the schema is the authority).
import type { KubeObject } from '../../types.js';

type Quantity = number | string;

export type InstanceNetwork = { name?: string; network?: string; macAddress?: string; ipAddress?: string };
export type InstanceDisk = { name?: string; size?: Quantity; storagePool?: string; image?: string; bus?: string; path?: string; readOnly?: boolean; bootOrder?: number };
export type InstanceUser = { name?: string; sshAuthorizedKeys?: string[]; sudo?: boolean; shell?: string; groups?: string[] };
export type InstanceForward = { hostPort?: number; port?: number; protocol?: string; hostIP?: string };

export type InstanceSource = { instanceName?: string; snapshotName?: string; full?: boolean };
export type InstanceRestoreStatus = { snapshotName?: string; requestedAt?: string; phase?: 'InProgress' | 'Succeeded' | 'Failed'; message?: string; completedAt?: string };

export type InstanceSpec = {
  type?: 'container' | 'vm';
  image?: string;
  cpu?: Quantity;
  memory?: Quantity;
  diskSize?: Quantity;
  runStrategy?: string;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: string;
  networks?: InstanceNetwork[];
  disks?: InstanceDisk[];
  cloudInit?: { hostname?: string; users?: InstanceUser[]; userData?: string; networkConfig?: string };
  snapshots?: { schedule?: string; expiry?: string; stateful?: boolean };
  source?: InstanceSource;
  forwards?: InstanceForward[];
  terminationGracePeriodSeconds?: number;
  paused?: boolean;
};

export type InstanceStatus = {
  observedGeneration?: number;
  phase?: string;
  state?: string;
  reason?: string;
  message?: string;
  nodeName?: string;
  nominatedNodeName?: string;
  ip?: string;
  ips?: string[];
  interfaces?: Array<{ name: string; network?: string; macAddress?: string; ips?: string[]; hostInterface?: string }>;
  accelerator?: string;
  startedAt?: string;
  restartCount?: number;
  lastSnapshotTime?: string;
  flattened?: boolean;
  restore?: InstanceRestoreStatus;
  conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
};

export type Instance = KubeObject & { spec?: InstanceSpec; status?: InstanceStatus };
