// The kubelet of every hollow node of this process at once: ONE list+watch
// of bound Pods (spec.nodeName set) for all of them, filtered here by node
// name — a watch per node would cost the API server 1,000 watchers — and
// likewise one of Instances (hollow-instances.ts). A Pod bound to a hollow
// node is reported Running and Ready at once (nothing runs), a Pod being
// deleted is finalized at once (its "containers" stop instantly), and a
// Job's run-to-completion Pod succeeds after a pretend run.
//
// Writes go through a work queue: a Pod is queued once however many events
// arrive meanwhile (coalescing), `maxInFlight` workers write at most that
// many at once, each write is a compare-and-swap retried on a fresh read.
import { isPodTerminal } from '../apis/core/v1/pod-status.js';
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/client.js';
import { hasStatus } from '../client/errors.js';
import { ClientInformer, objectKey } from '../client/informer.js';
import { PODS } from '../client/refs.js';
import { WorkQueue } from '../controllers/runtime/workqueue.js';
import type { Logger } from '../util/log.js';
import type { HollowNodes } from './hollow-nodes.js';
import { startHollowInstances } from './hollow-instances.js';
import { PodAddresses } from './pod-addresses.js';
import { hollowPodStatus, PRETEND_RUN_MS, runsToCompletion } from './pod-status.js';
import { sameStatus, writeWithRetry } from './status-write.js';

/** A node out of Pod addresses (more Pods bound than its /24 holds) tries again this much later. */
const NO_ADDRESS_RETRY_MS = 5000;

export interface HollowKubeletOptions {
  client: KubeClient;
  log: Logger;
  nodes: HollowNodes;
  /** Writes in flight at most (default 32). */
  maxInFlight?: number;
}


export class HollowKubelet {
  private readonly pods: ClientInformer;
  private readonly queue = new WorkQueue();
  readonly addresses: PodAddresses;
  /** When each run-to-completion Pod was first reported Running (its pretend run is timed from here). */
  private readonly runningSince = new Map<string, number>();

  constructor(private readonly o: HollowKubeletOptions) {
    this.addresses = new PodAddresses(o.nodes);
    // Every bound Pod of the cluster; the ones on other nodes are dropped by the handlers.
    this.pods = new ClientInformer(o.client, PODS, { fieldSelector: 'spec.nodeName!=' }, o.log);
    const consider = (pod: KubeObject): void => {
      if (this.ours(pod)) this.queue.add(objectKey(pod));
    };
    this.pods.addHandlers({
      onAdd: consider,
      onUpdate: (_old, pod) => consider(pod),
      onDelete: (pod) => {
        this.addresses.release(String(pod.metadata.uid));
        this.runningSince.delete(String(pod.metadata.uid));
      },
    });
  }

  private ours(pod: KubeObject): boolean {
    return this.o.nodes.names.has(String(pod.spec?.nodeName ?? ''));
  }

  private async sync(key: string): Promise<void> {
    const pod = this.pods.cache.get(key);
    if (!pod || !this.ours(pod)) return;
    const uid = String(pod.metadata.uid);
    const node = String(pod.spec!.nodeName);
    if (pod.metadata.deletionTimestamp) {
      // The containers are "stopped": the kubelet's final delete, with no grace left and only for this very Pod.
      try {
        await this.o.client.delete(PODS, String(pod.metadata.name), { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (e) {
        if (!hasStatus(e, 404, 409)) throw e;
      }
      return;
    }
    if (isPodTerminal(pod)) return;
    const podIP = this.addresses.assign(node, uid, pod.status?.podIP as string | undefined);
    if (!podIP) {
      this.o.log.warn('hollow node has no Pod address left; the Pod stays Pending', { node, pod: key });
      this.queue.addAfter(key, NO_ADDRESS_RETRY_MS);
      return;
    }
    let done = false;
    if (runsToCompletion(pod) && pod.status?.phase === 'Running') {
      const since = this.runningSince.get(uid) ?? Date.parse(String(pod.status?.startTime ?? '')) + 1000;
      const left = Number.isFinite(since) ? since + PRETEND_RUN_MS - Date.now() : 0;
      if (left > 0) this.queue.addAfter(key, left);
      else done = true;
    }
    const at = { hostIP: this.o.nodes.nodeIP(node), podIP };
    const wrote = await writeWithRetry(this.o.client, PODS, pod, (current) => {
      if (current.metadata.uid !== pod.metadata.uid || current.metadata.deletionTimestamp || isPodTerminal(current)) return undefined;
      const status = hollowPodStatus(current, at, done);
      return sameStatus(status, current.status) ? undefined : { ...current, status };
    }, 'status');
    if (wrote && !done && runsToCompletion(pod) && !this.runningSince.has(uid)) {
      this.runningSince.set(uid, Date.now());
      this.queue.addAfter(key, PRETEND_RUN_MS);
    }
  }

  /** Run until the signal; resolves once the watches and workers have stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const workers = this.o.maxInFlight ?? 32;
    signal.addEventListener('abort', () => this.queue.stop(), { once: true });
    const instances = startHollowInstances({ client: this.o.client, log: this.o.log, nodes: this.o.nodes, addresses: this.addresses, signal, maxInFlight: Math.max(1, Math.floor(workers / 4)) });
    await Promise.all([
      this.pods.run(signal),
      this.queue.run((key) => this.sync(key), (key, e) => this.o.log.warn('hollow pod sync failed', { pod: key, error: (e as Error).message }), workers),
      instances,
    ]);
  }
}
