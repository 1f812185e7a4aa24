// What a hollow node says about itself: the Node it registers (labels that
// mark it simulated, the capacity it was given, a Ready condition, made-up
// addresses and versions) and the Lease it renews in kube-node-lease.
import type { KubeObject } from '../apis/types.js';
import { microTime, rfc3339 } from '../api/resources/clock.js';
import { LEASE_NAMESPACE } from '../agent/node-registration.js';

export const HOLLOW_LABEL = 'lodge.dev/hollow';
export const HOLLOW_ANNOTATION = 'lodge.dev/hollow-node';
export const HOLLOW_MANAGER = 'lodge-hollow';
export const HOLLOW_KUBELET_VERSION = 'lodge-hollow';
export const HOLLOW_RUNTIME = 'hollow://';

export interface HollowNodeSpec {
  name: string;
  /** Its made-up InternalIP (never contacted: no node-server port is published). */
  internalIP: string;
  cpu: string;
  memory: string;
  pods: string;
  leaseDurationSeconds: number;
}

export function hollowLabels(name: string): Record<string, string> {
  return {
    [HOLLOW_LABEL]: 'true',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'node.kubernetes.io/instance-type': 'hollow',
  };
}

export function hollowNode(n: HollowNodeSpec): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: hollowLabels(n.name),
      annotations: { [HOLLOW_ANNOTATION]: 'simulated by `lodge agent --hollow`: nothing runs here; Pods are only reported Running' },
    },
  };
}

type Condition = { type: string; status: string; reason: string; message: string; lastHeartbeatTime: string; lastTransitionTime: string };

/** The kubelet's node status, all good; the Ready transition time kept when the node was Ready already. */
export function hollowNodeStatus(n: HollowNodeSpec, current: KubeObject | undefined): Record<string, unknown> {
  const now = rfc3339();
  const old = ((current?.status?.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Ready');
  const since = old?.status === 'True' && old.lastTransitionTime ? old.lastTransitionTime : now;
  const cond = (type: string, status: string, reason: string, message: string): Condition => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since });
  const resources = { cpu: n.cpu, memory: n.memory, pods: n.pods, 'ephemeral-storage': '100Gi' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond('MemoryPressure', 'False', 'HollowNodeHasSufficientMemory', 'hollow node has sufficient memory available'),
      cond('DiskPressure', 'False', 'HollowNodeHasNoDiskPressure', 'hollow node has no disk pressure'),
      cond('PIDPressure', 'False', 'HollowNodeHasSufficientPID', 'hollow node has sufficient PID available'),
      cond('Ready', 'True', 'HollowNodeReady', 'hollow node is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: n.internalIP },
      { type: 'Hostname', address: n.name },
    ],
    // Port 0: no node server, so logs/exec/port-forward are refused without the API server dialling anything.
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: 'hollow',
      osImage: 'hollow node (simulated)',
      containerRuntimeVersion: HOLLOW_RUNTIME,
      kubeletVersion: HOLLOW_KUBELET_VERSION,
      kubeProxyVersion: HOLLOW_KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}


export function hollowLease(name: string, nodeUid: string | undefined, leaseDurationSeconds: number): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: LEASE_NAMESPACE,
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: name, leaseDurationSeconds, renewTime: microTime() },
  };
}
