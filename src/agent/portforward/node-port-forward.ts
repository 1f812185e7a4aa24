// TCP connections to Pods and Instances by node (pods/portforward,
// instances/portforward): the API server asks the port-forward source of
// the node the workload runs on, as pods/exec asks NodeExec. In `lodge up`
// the agent registers its source in-process; agents in other processes
// serve the same interface from their node servers (portforward-stream.ts),
// which the registry's fallback reaches.
import type { Duplex } from 'node:stream';

/** What to connect to: a Pod or an Instance, by uid (the owner of its address on the node). */
export interface PortForwardTarget {
  kind: 'pod' | 'instance';
  uid: string;
}

/**
 * Nothing could be connected. reason 'node': no source for the node (or it
 * cannot be reached); 'target': the workload has no network on the node;
 * 'dial': the connection itself failed (refused, unreachable, timed out),
 * message in Go's words as the kubelet reports it ("dial tcp ...: connect:
 * connection refused").
 */
export class PortForwardError extends Error {
  constructor(
    readonly reason: 'node' | 'target' | 'dial',
    message: string,
  ) {
    super(message);
  }
}

export interface NodePortForward {
  /** A byte stream to port of the target; ending its writable side half-closes the TCP connection. */
  connect(nodeName: string, target: PortForwardTarget, port: number): Promise<Duplex>;
}

/** The port-forward sources of the nodes this process knows, by node name. */
export class NodePortForwardRegistry implements NodePortForward {
  private readonly sources = new Map<string, NodePortForward>();

  /** fallback: the source for nodes not registered here (agents in other processes). */
  constructor(private readonly fallback?: NodePortForward) {}

  /** Register a node's source; returns the unregister function. */
  register(nodeName: string, source: NodePortForward): () => void {
    this.sources.set(nodeName, source);
    return () => {
      if (this.sources.get(nodeName) === source) this.sources.delete(nodeName);
    };
  }

  connect(nodeName: string, target: PortForwardTarget, port: number): Promise<Duplex> {
    const source = this.sources.get(nodeName) ?? this.fallback;
    if (!source) return Promise.reject(new PortForwardError('node', `no port-forward source is registered for node "${nodeName}"`));
    return source.connect(nodeName, target, port);
  }
}
