// `lodge agent --hollow N`: a scale-test tool, not a node agent. It registers
// N hollow Nodes and plays the kubelet of all of them (hollow-nodes.ts,
// hollow-kubelet.ts) from one process, so the control plane can be tested
// with 1,000 nodes and 10,000 Pods on one machine. Stopping it stops the
// heartbeats (its Nodes go NotReady through the node-lifecycle controller);
// with `cleanup` its Nodes and Leases are deleted first.
import type { KubeClient } from '../client/client.js';
import type { Logger } from '../util/log.js';
import { HollowKubelet } from './hollow-kubelet.js';
import { HollowNodes, type HollowNodesOptions } from './hollow-nodes.js';

export interface HollowAgentOptions extends HollowNodesOptions {
  client: KubeClient;
  log: Logger;
  signal: AbortSignal;
  /** Delete the Nodes (and their Leases) once stopped. */
  cleanup?: boolean;
}

export interface HollowAgent {
  nodeNames: string[];
  /** Settles once stopped (and cleaned up, when asked). */
  done: Promise<void>;
}

/** Register the nodes (resolves once all are), then heartbeat them and run their Pods until the signal. */
export async function startHollowAgent(o: HollowAgentOptions): Promise<HollowAgent> {
  const log = o.log.child({ component: 'hollow' });
  const nodes = new HollowNodes({ ...o, log });
  const t0 = Date.now();
  try {
    await nodes.register();
  } catch (e) {
    if (o.cleanup) await nodes.deleteAll().catch(() => undefined);
    throw e;
  }
  log.info('hollow nodes registered', { count: o.count, prefix: o.prefix, ms: Date.now() - t0 });
  const kubelet = new HollowKubelet({ client: o.client, log, nodes, maxInFlight: o.maxInFlight });
  const running = Promise.all([nodes.run(o.signal), kubelet.run(o.signal)]);
  const done = running.then(async () => {
    if (!o.cleanup) return;
    await nodes.deleteAll();
    log.info('hollow nodes deleted', { count: o.count, prefix: o.prefix });
  });
  return { nodeNames: [...nodes.names], done };
}
