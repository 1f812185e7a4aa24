// Container logs by node: the API server asks the log source of the node a
// Pod runs on. In `lodge up` the agent registers its source in-process; an
// agent in another process serves the same interface from its node server,
// which the registry's fallback reaches.

export interface LogOptions {
  /** Keep streaming new lines (across restarts) until the Pod goes or the signal aborts. */
  follow: boolean;
  /** Only the last N lines of the log when it is opened. */
  tailLines?: number;
  /** The previous run's log instead of the current one. */
  previous: boolean;
  /** Prefix each line with its RFC3339Nano time. */
  timestamps: boolean;
  /** Only lines written in the last N seconds. */
  sinceSeconds?: number;
  /** Stop after this many bytes. */
  limitBytes?: number;
  signal: AbortSignal;
}

/** Why a log cannot be opened: no previous run, not started yet, or no source for the node. */
export class LogUnavailableError extends Error {
  constructor(
    readonly reason: 'previous' | 'waiting' | 'node',
    message: string,
  ) {
    super(message);
  }
}

export interface NodeLogs {
  /**
   * Open a container's log: resolves (or rejects with LogUnavailableError)
   * before any output, then yields text chunks of whole lines.
   */
  open(nodeName: string, podUid: string, container: string, opts: LogOptions): Promise<AsyncIterable<string>>;
}

/** The log sources of the nodes this process knows, by node name. */
export class NodeLogRegistry implements NodeLogs {
  private readonly sources = new Map<string, NodeLogs>();

  /** fallback: the source for nodes not registered here (agents in other processes). */
  constructor(private readonly fallback?: NodeLogs) {}

  /** Register a node's source; returns the unregister function. */
  register(nodeName: string, source: NodeLogs): () => void {
    this.sources.set(nodeName, source);
    return () => {
      if (this.sources.get(nodeName) === source) this.sources.delete(nodeName);
    };
  }

  open(nodeName: string, podUid: string, container: string, opts: LogOptions): Promise<AsyncIterable<string>> {
    const source = this.sources.get(nodeName) ?? this.fallback;
    if (!source) return Promise.reject(new LogUnavailableError('node', `no log source is registered for node "${nodeName}"`));
    return source.open(nodeName, podUid, container, opts);
  }
}
