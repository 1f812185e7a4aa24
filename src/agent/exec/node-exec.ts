// Processes run in Pods' containers by node (pods/exec): the API server asks
// the exec source of the node a Pod runs on, as pods/log asks NodeLogs. In
// `lodge up` the agent registers its source in-process; agents in other
// processes serve the same interface from their node servers, which the
// registry's fallback reaches.
import type { ExecProcess } from '../runtime/driver.js';

export type { ExecProcess } from '../runtime/driver.js';

/** What to run the command in: a Pod's container, or an Instance (a system container; a VM through its guest agent). */
export type ExecTarget = { kind: 'pod'; uid: string; container: string } | { kind: 'instance'; uid: string };

export function describeTarget(t: ExecTarget): string {
  return t.kind === 'pod' ? `container ${t.container} of pod ${t.uid}` : `instance ${t.uid}`;
}

export interface NodeExecOptions {
  command: string[];
  tty: boolean;
  /** Give the process a writable stdin (kubectl exec -i). */
  stdin: boolean;
}

/** Why nothing could be started: no source for the node, no such container on it, or it is not running. */
export class ExecUnavailableError extends Error {
  constructor(
    readonly reason: 'node' | 'container' | 'notRunning',
    message: string,
  ) {
    super(message);
  }
}

export interface NodeExec {
  /**
   * Start `opts.command` in a Pod's container or an Instance. Rejects with
   * ExecUnavailableError when there is nothing to run it in; a process that
   * fails to start at all makes the returned process's wait() reject.
   */
  exec(nodeName: string, target: ExecTarget, opts: NodeExecOptions): Promise<ExecProcess>;
  /**
   * Attach to a Pod container's main process (pods/attach): its output from
   * now on, and its stdin with opts.stdin. Ending stdin tells the container
   * the client is done with input (a stdinOnce container's stdin closes);
   * kill() detaches. wait() resolves when the container ended or the session
   * was detached. Rejects with ExecUnavailableError as exec does.
   */
  attach?(nodeName: string, target: Extract<ExecTarget, { kind: 'pod' }>, opts: NodeAttachOptions): Promise<ExecProcess>;
}

export interface NodeAttachOptions {
  /** The client writes to the process's stdin (kubectl attach -i). */
  stdin: boolean;
}

/** The exec sources of the nodes this process knows, by node name. */
export class NodeExecRegistry implements NodeExec {
  private readonly sources = new Map<string, NodeExec>();

  /** fallback: the source for nodes not registered here (agents in other processes). */
  constructor(private readonly fallback?: NodeExec) {}

  /** Register a node's source; returns the unregister function. */
  register(nodeName: string, source: NodeExec): () => void {
    this.sources.set(nodeName, source);
    return () => {
      if (this.sources.get(nodeName) === source) this.sources.delete(nodeName);
    };
  }

  exec(nodeName: string, target: ExecTarget, opts: NodeExecOptions): Promise<ExecProcess> {
    const source = this.sources.get(nodeName) ?? this.fallback;
    if (!source) return Promise.reject(new ExecUnavailableError('node', `no exec source is registered for node "${nodeName}"`));
    return source.exec(nodeName, target, opts);
  }

  attach(nodeName: string, target: Extract<ExecTarget, { kind: 'pod' }>, opts: NodeAttachOptions): Promise<ExecProcess> {
    const source = this.sources.get(nodeName) ?? this.fallback;
    if (!source) return Promise.reject(new ExecUnavailableError('node', `no exec source is registered for node "${nodeName}"`));
    if (!source.attach) return Promise.reject(new ExecUnavailableError('node', `the exec source for node "${nodeName}" cannot attach`));
    return source.attach(nodeName, target, opts);
  }
}
