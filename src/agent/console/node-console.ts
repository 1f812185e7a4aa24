// Instance consoles by node (instances/console, instances/log): the API
// server asks the console source of the node an Instance runs on, as
// pods/exec asks NodeExec. In `lodge up` the agent registers its source
// in-process; agents in other processes serve the same interface from their
// node servers, which the registry's fallback reaches.
import type { Duplex } from 'node:stream';

/** Which Instance, and its type (a system container's log is CRI lines, a VM's raw serial output). */
export interface ConsoleTarget {
  uid: string;
  type: 'container' | 'vm';
}

/** An attached console: bytes both ways; destroying the stream detaches, its end means the console went away. */
export interface ConsoleSession {
  stream: Duplex;
  /** Best effort; a VM's serial port has no size. */
  resize(cols: number, rows: number): void;
}

export interface ConsoleLogOptions {
  /** Keep streaming what the guest prints until the Instance is deleted or the signal aborts. */
  follow: boolean;
  /** Only the last N lines of the log when it is opened. */
  tailLines?: number;
  signal: AbortSignal;
}

/** Why there is no console or log: no source for the node, no such instance on it (or no log yet), or not running. */
export class ConsoleUnavailableError extends Error {
  constructor(
    readonly reason: 'node' | 'instance' | 'notRunning',
    message: string,
  ) {
    super(message);
  }
}

export interface NodeConsole {
  /** Attach to an Instance's console; rejects with ConsoleUnavailableError when there is none to attach to. */
  attach(nodeName: string, target: ConsoleTarget): Promise<ConsoleSession>;
  /** Open its console log: resolves (or rejects with ConsoleUnavailableError) before any output, then yields text. */
  log(nodeName: string, target: ConsoleTarget, opts: ConsoleLogOptions): Promise<AsyncIterable<string>>;
}

/** The console sources of the nodes this process knows, by node name. */
export class NodeConsoleRegistry implements NodeConsole {
  private readonly sources = new Map<string, NodeConsole>();

  /** fallback: the source for nodes not registered here (agents in other processes). */
  constructor(private readonly fallback?: NodeConsole) {}

  /** Register a node's source; returns the unregister function. */
  register(nodeName: string, source: NodeConsole): () => void {
    this.sources.set(nodeName, source);
    return () => {
      if (this.sources.get(nodeName) === source) this.sources.delete(nodeName);
    };
  }

  private source(nodeName: string): NodeConsole {
    const s = this.sources.get(nodeName) ?? this.fallback;
    if (!s) throw new ConsoleUnavailableError('node', `no console source is registered for node "${nodeName}"`);
    return s;
  }

  attach(nodeName: string, target: ConsoleTarget): Promise<ConsoleSession> {
    try {
      return this.source(nodeName).attach(nodeName, target);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  log(nodeName: string, target: ConsoleTarget, opts: ConsoleLogOptions): Promise<AsyncIterable<string>> {
    try {
      return this.source(nodeName).log(nodeName, target, opts);
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
