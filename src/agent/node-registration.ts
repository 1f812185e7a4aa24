// The agent's Node and its Lease in kube-node-lease: registered on start,
// the Lease renewed every 10 s and the Ready condition's heartbeat with it.
import type { KubeObject } from '../apis/types.js';
import { isNotFound, type KubeClient } from '../client/index.js';
import { LEASES, NODES } from '../client/refs.js';
import { NODE_SERVER_CA_ANNOTATION } from './node-server/serving-cert.js';
import type { Logger } from '../util/log.js';
import type { HostInfo } from './host-info.js';
import { microTime, rfc3339 } from '../api/resources/clock.js';
import { hasStatus } from '../client/errors.js';

export const MANAGER = 'lodge-agent';
export const LEASE_NAMESPACE = 'kube-node-lease';
/** The kubelet's nodeLeaseDurationSeconds default; the Lease is renewed every quarter of it. */
export const DEFAULT_LEASE_DURATION_SECONDS = 40;



/** One entry of Node status.images. */
export interface NodeImage {
  names: string[];
  sizeBytes: number;
}

/** The kubelet reports at most this many images, largest first (--node-status-max-images). */
const MAX_IMAGES = 50;

/** Where the node server listens, published on the Node for the API server. */
export interface NodeServerEndpoint {
  port: number;
  caPem: string;
}

export class NodeRegistration {
  /** Set before register() when this agent runs a node server. */
  endpoint: NodeServerEndpoint | undefined;
  /** The images this node holds, reported in status.images (the scheduler prefers nodes that have a workload's image). */
  images: (() => Promise<NodeImage[]>) | undefined;
  private uid: string | undefined;
  private readyTransition: string | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly nodeName: string,
    private readonly host: HostInfo,
    private readonly log: Logger,
    private readonly leaseDurationSeconds = DEFAULT_LEASE_DURATION_SECONDS,
    /** The address the node is reached at (the kubelet's --node-ip). */
    private readonly nodeIp = '127.0.0.1',
  ) {}

  private async tryGetNode(): Promise<KubeObject | undefined> {
    try {
      return await this.client.get(NODES, this.nodeName);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Create (or adopt) the Node and write its status, then the Lease. */
  async register(): Promise<void> {
    const labels = {
      'kubernetes.io/hostname': this.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': this.host.nodeInfo.architecture!,
      'lodge.dev/kvm': String(this.host.kvm),
      'lodge.dev/accelerator': this.host.accelerator,
    };
    // A conflict (the node IPAM controller set the podCIDR between our read and write) is retried on a fresh read.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.registerOnce(labels);
        break;
      } catch (e) {
        if (!hasStatus(e, 409) || attempt >= 5) throw e;
      }
    }
    this.readyTransition = undefined;
    await this.heartbeat();
  }

  private async registerOnce(labels: Record<string, string>): Promise<void> {
    let current: KubeObject | undefined = await this.tryGetNode();
    if (!current) {
      try {
        current = await this.client.create<KubeObject>(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: this.nodeName, labels } }, { fieldManager: MANAGER });
      } catch (e) {
        if (!hasStatus(e, 409)) throw e;
        current = await this.client.get<KubeObject>(NODES, this.nodeName);
      }
    }
    // The node server's CA goes with the Node (or goes away when there is no node server any more).
    const annotations: Record<string, string | undefined> = { [NODE_SERVER_CA_ANNOTATION]: this.endpoint?.caPem, 'lodge.dev/accelerator-reason': this.host.acceleratorReason };
    const stale = Object.entries(labels).some(([k, v]) => current!.metadata.labels?.[k] !== v) || Object.entries(annotations).some(([k, v]) => current!.metadata.annotations?.[k] !== v);
    if (stale) {
      const obj: KubeObject = structuredClone(current);
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), ...labels };
      const merged: Record<string, string> = { ...(obj.metadata.annotations ?? {}) };
      for (const [k, v] of Object.entries(annotations)) {
        if (v === undefined) delete merged[k];
        else merged[k] = v;
      }
      obj.metadata.annotations = merged;
      current = await this.client.update<KubeObject>(NODES, obj, { fieldManager: MANAGER });
    }
    this.uid = current ? current.metadata.uid : undefined;
  }

  /** Renew the Lease and the Ready condition's heartbeat. */
  async heartbeat(): Promise<void> {
    await this.writeStatus();
    await this.renewLease();
  }

  private async writeStatus(): Promise<void> {
    const now = rfc3339();
    const current = await this.tryGetNode();
    if (!current) {
      // Deleted under us: register again (as the kubelet does).
      await this.register();
      return;
    }
    const prevReady = ((current.status?.conditions as Array<Record<string, string>> | undefined) ?? []).find((c) => c.type === 'Ready');
    this.readyTransition ??= prevReady?.status === 'True' && prevReady.lastTransitionTime ? prevReady.lastTransitionTime : now;
    const status = {
      capacity: this.host.capacity,
      allocatable: this.host.capacity,
      conditions: [
        { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: this.readyTransition, reason: 'LodgeAgentHasSufficientMemory', message: 'node agent has sufficient memory available' },
        { type: 'DiskPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: this.readyTransition, reason: 'LodgeAgentHasNoDiskPressure', message: 'node agent has no disk pressure' },
        { type: 'PIDPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: this.readyTransition, reason: 'LodgeAgentHasSufficientPID', message: 'node agent has sufficient PID available' },
        { type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: this.readyTransition, reason: 'LodgeAgentReady', message: 'node agent is posting ready status' },
      ],
      addresses: [
        { type: 'InternalIP', address: this.nodeIp },
        { type: 'Hostname', address: this.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.endpoint?.port ?? 0 } },
      nodeInfo: this.host.nodeInfo,
      ...(await this.reportedImages()),
    };
    const obj: KubeObject = { ...current, metadata: { ...current.metadata }, status };
    delete obj.metadata.resourceVersion;
    await this.client.update(NODES, obj, { fieldManager: MANAGER, subresource: 'status' });
  }

  private async reportedImages(): Promise<{ images?: NodeImage[] }> {
    if (!this.images) return {};
    try {
      const list = await this.images();
      return list.length ? { images: [...list].sort((a, b) => b.sizeBytes - a.sizeBytes).slice(0, MAX_IMAGES) } : {};
    } catch (e) {
      this.log.warn('cannot list images for the node status', { error: (e as Error).message });
      return {};
    }
  }

  private async renewLease(): Promise<void> {
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.nodeName,
        namespace: LEASE_NAMESPACE,
        ...(this.uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: this.uid }] } : {}),
      },
      spec: { holderIdentity: this.nodeName, leaseDurationSeconds: this.leaseDurationSeconds, renewTime: microTime() },
    };
    // PUT creates a missing Lease (as for the kubelet).
    await this.client.update(LEASES, lease, { fieldManager: MANAGER });
  }

  /** Heartbeat every quarter of the lease duration until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, (this.leaseDurationSeconds * 1000) / 4);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (signal.aborted) return;
      try {
        await this.heartbeat();
      } catch (e) {
        this.log.warn('node heartbeat failed', { node: this.nodeName, error: (e as Error).message });
      }
    }
  }
}
