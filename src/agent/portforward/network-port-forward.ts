// This node's port-forward source: a Pod's or an Instance's address on the
// node's bridge is the one the node network gave its uid (status.podIP,
// status.ip), reached from the host as a Service's traffic is. A workload
// without one (a node that runs without the bridge network) is reached by
// entering its network namespace, on loopback there, as probes do.
import { stat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { netnsPath } from '../pod-sandbox.js';
import { instanceNetnsPath } from '../instances/ids.js';
import type { NodeNetwork } from '../node-network.js';
import { openStream, PROBE_ADDRESS } from '../probes/netns-connect.js';
import { CONNECT_TIMEOUT_MS, dialTcp } from './dial.js';
import { PortForwardError, type NodePortForward, type PortForwardTarget } from './node-port-forward.js';

export class NetworkNodePortForward implements NodePortForward {
  /** network: the node's bridge network, once the agent has set it up (none: workloads have loopback only). */
  constructor(private readonly network: () => NodeNetwork | undefined) {}

  async connect(_nodeName: string, target: PortForwardTarget, port: number): Promise<Duplex> {
    const network = this.network();
    const address = network ? await network.addressOf(target.uid) : undefined;
    if (address) return dialTcp(address.ip, port);
    const ns = target.kind === 'pod' ? netnsPath(target.uid) : instanceNetnsPath(target.uid);
    const exists = await stat(ns).then(
      () => true,
      () => false,
    );
    if (!exists) throw new PortForwardError('target', `${target.kind} ${target.uid} has no network on this node`);
    return dialInNamespace(ns, port);
  }
}

/** nc inside the namespace: its failure (refused) shows only when it exits, so it becomes the stream's error. */
function dialInNamespace(ns: string, port: number): Duplex {
  const relay = openStream(ns, port, CONNECT_TIMEOUT_MS);
  const stream = relay.stream;
  stream.once('end', () => {
    const why = relay.stderr();
    if (why) stream.destroy(new PortForwardError('dial', `failed to connect to ${PROBE_ADDRESS}:${port} inside namespace ${ns}: ${why}`));
  });
  stream.once('close', () => relay.close());
  return stream;
}
