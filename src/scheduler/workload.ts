// What the scheduler knows of a workload, Pod or Instance alike: the
// resources it asks for, where it may and may not go, and whom it belongs to.
// Read once from the object, so the filters and scores never look at a Pod
// spec or an Instance spec themselves — one scheduler for both kinds.
import type { Container, Pod, Toleration } from '../apis/core/v1/types.js';
import { parseQuantity } from '../apis/core/v1/quantity.js';
import { isPodTerminal } from '../apis/core/v1/pod-status.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeObject } from '../apis/types.js';
import { controllerOf } from '../controllers/replicaset/pods.js';
import type { Affinity, TopologySpreadConstraint } from './affinity-types.js';

export type WorkloadKind = 'Pod' | 'Instance';

/** Amounts the scheduler adds up: cpu in millicores, memory in bytes, pods as a count. */
export interface Resources {
  cpu: number;
  memory: number;
  pods: number;
}

export interface HostPort {
  protocol: string;
  hostIP: string;
  port: number;
}

export interface Workload {
  /** "Pod:ns/name" or "Instance:ns/name": the queue key. */
  key: string;
  kind: WorkloadKind;
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  /** What it reserves on a node (requests; an Instance's cpu and memory). */
  requests: Resources;
  /** Requests with the scheduler's defaults for unset ones (100m, 200Mi), as Kubernetes scores: a request-less Pod is not free. */
  scoringRequests: Resources;
  nodeSelector: Record<string, string>;
  affinity: Affinity;
  /** A Pod's spec.topologySpreadConstraints. */
  spread: TopologySpreadConstraint[];
  tolerations: Toleration[];
  hostPorts: HostPort[];
  images: string[];
  /** The controller owner's uid: replicas of one owner are spread. */
  ownerUid?: string;
  /** A node asked for by name (an Instance's spec.nodeName). */
  nodeName?: string;
  /** A virtual machine: only nodes that run QEMU take it. */
  vm: boolean;
  /** The scheduler profile it asks for (a Pod's spec.schedulerName). */
  schedulerName: string;
  /** spec.priority (resolved from its PriorityClass at admission; 0 when unset): the queue pops higher first, preemption removes lower. */
  priority: number;
  /** spec.preemptionPolicy: Never keeps it from preempting anything. */
  preemptionPolicy: string;
  /** Being deleted (deletionTimestamp set): it still holds its resources, but is no preemption victim any more. */
  terminating: boolean;
  /** status.nominatedNodeName: the node a preemption freed (is freeing) for it. */
  nominatedNodeName?: string;
}

export const DEFAULT_SCHEDULER = 'default-scheduler';
const DEFAULT_CPU_MILLI = 100;
const DEFAULT_MEMORY = 200 * 1024 * 1024;
/** vCPUs per reserved core (KubeVirt's default). */
export const CPU_ALLOCATION_RATIO = 10;

export function workloadKey(kind: WorkloadKind, ns: string | undefined, name: string): string {
  return `${kind}:${ns ?? ''}/${name}`;
}


const cpuMilli = (v: unknown): number => Math.ceil((parseQuantity(v) ?? 0) * 1000);
const bytes = (v: unknown): number => Math.ceil(parseQuantity(v) ?? 0);

/** A container's requests; a limit alone counts as the request (Kubernetes defaults requests to limits). */
function containerRequests(c: Container): { cpu?: number; memory?: number } {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const cpu = req.cpu ?? lim.cpu;
  const memory = req.memory ?? lim.memory;
  return { cpu: cpu === undefined ? undefined : cpuMilli(cpu), memory: memory === undefined ? undefined : bytes(memory) };
}

/** Containers summed, init containers (one at a time) taken at their largest, as kube-scheduler computes a Pod's request. */
function podRequests(pod: Pod, withDefaults: boolean): Resources {
  const out: Resources = { cpu: 0, memory: 0, pods: 1 };
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequests(c);
    out.cpu += r.cpu ?? (withDefaults ? DEFAULT_CPU_MILLI : 0);
    out.memory += r.memory ?? (withDefaults ? DEFAULT_MEMORY : 0);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c);
    out.cpu = Math.max(out.cpu, r.cpu ?? 0);
    out.memory = Math.max(out.memory, r.memory ?? 0);
  }
  return out;
}

function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])])
    for (const p of c.ports ?? []) if (p.hostPort) out.push({ protocol: p.protocol ?? 'TCP', hostIP: p.hostIP || '0.0.0.0', port: p.hostPort });
  return out;
}

export function podWorkload(pod: Pod): Workload {
  const spec = pod.spec ?? {};
  return {
    key: workloadKey('Pod', pod.metadata.namespace, String(pod.metadata.name)),
    kind: 'Pod',
    namespace: pod.metadata.namespace ?? 'default',
    name: String(pod.metadata.name),
    uid: String(pod.metadata.uid),
    labels: pod.metadata.labels ?? {},
    requests: podRequests(pod, false),
    scoringRequests: podRequests(pod, true),
    nodeSelector: spec.nodeSelector ?? {},
    affinity: (spec.affinity ?? {}) as Affinity,
    spread: (spec.topologySpreadConstraints ?? []) as TopologySpreadConstraint[],
    tolerations: spec.tolerations ?? [],
    hostPorts: podHostPorts(pod),
    images: [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.image ?? '').filter(Boolean),
    ownerUid: controllerOf(pod)?.uid,
    vm: false,
    schedulerName: spec.schedulerName || DEFAULT_SCHEDULER,
    priority: spec.priority ?? 0,
    preemptionPolicy: (spec as { preemptionPolicy?: string }).preemptionPolicy ?? 'PreemptLowerPriority',
    terminating: Boolean(pod.metadata.deletionTimestamp),
    nominatedNodeName: pod.status?.nominatedNodeName || undefined,
  };
}

export function instanceWorkload(i: Instance): Workload {
  const spec = i.spec ?? {};
  // As KubeVirt sizes a VM's Pod: vCPUs are overcommitted (a tenth of a core reserved per vCPU, its default
  // cpuAllocationRatio of 10), memory is not. A system container without a size reserves nothing, as a Pod without requests.
  const requests: Resources = { cpu: Math.ceil(cpuMilli(spec.cpu ?? 0) / CPU_ALLOCATION_RATIO), memory: bytes(spec.memory ?? 0), pods: 1 };
  return {
    key: workloadKey('Instance', i.metadata.namespace, String(i.metadata.name)),
    kind: 'Instance',
    namespace: i.metadata.namespace ?? 'default',
    name: String(i.metadata.name),
    uid: String(i.metadata.uid),
    labels: i.metadata.labels ?? {},
    requests,
    scoringRequests: { cpu: requests.cpu || DEFAULT_CPU_MILLI, memory: requests.memory || DEFAULT_MEMORY, pods: 1 },
    nodeSelector: spec.nodeSelector ?? {},
    affinity: {},
    spread: [],
    tolerations: [],
    hostPorts: (spec.forwards ?? []).map((f) => ({ protocol: f.protocol ?? 'TCP', hostIP: f.hostIP || '0.0.0.0', port: Number(f.hostPort) })).filter((p) => p.port > 0),
    images: spec.image ? [spec.image] : [],
    ownerUid: controllerOf(i)?.uid,
    nodeName: spec.nodeName || undefined,
    vm: spec.type === 'vm',
    schedulerName: DEFAULT_SCHEDULER,
    priority: spec.priority ?? 0,
    preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority',
    terminating: Boolean(i.metadata.deletionTimestamp),
    nominatedNodeName: i.status?.nominatedNodeName || undefined,
  };
}

/** Where a bound workload runs, or undefined while it waits for the scheduler. */
export function boundNode(kind: WorkloadKind, obj: KubeObject): string | undefined {
  const n = kind === 'Pod' ? (obj.spec as { nodeName?: string } | undefined)?.nodeName : (obj.status as { nodeName?: string } | undefined)?.nodeName;
  return n || undefined;
}

/** A workload that no longer holds anything on its node: finished Pods, and deleted objects. */
export function holdsResources(kind: WorkloadKind, obj: KubeObject): boolean {
  return kind !== 'Pod' || !isPodTerminal(obj);
}
