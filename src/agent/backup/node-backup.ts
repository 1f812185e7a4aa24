// Instance backups by node (instances/export, instances/import): the API
// server asks the node holding an Instance for its export as a tar stream,
// or hands it one to import, as instances/log asks NodeConsole. In `lodge
// up` the agent registers its source in-process; agents in other processes
// serve the same interface from their node servers, which the registry's
// fallback reaches.
import type { Readable } from 'node:stream';

/** Which Instance: the API server's view, checked again by the node against its own. */
export interface BackupTarget {
  uid: string;
  namespace: string;
  name: string;
  type: 'container' | 'vm';
}

/**
 * Why an export or import cannot be done, with the HTTP code it maps to:
 * 400 bad input (not a Lodge export, a damaged tarball, a missing Snapshot
 * object or image), 404 no such instance on the node, 409 the instance's
 * state forbids it (a running VM, an instance that already has data),
 * 503 no source for the node, 507 no space left.
 */
export class BackupError extends Error {
  constructor(
    readonly code: 400 | 404 | 409 | 500 | 503 | 507,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface NodeBackup {
  /** Resolves (or rejects with BackupError) before any byte of the tar stream; destroying the stream (or aborting) stops the export and removes its temp files. */
  exportInstance(nodeName: string, target: BackupTarget, signal: AbortSignal): Promise<Readable>;
  /** Write the export read from `body` into the instance's dir; resolves with a summary once the data is in place. */
  importInstance(nodeName: string, target: BackupTarget, body: Readable, signal: AbortSignal): Promise<{ message: string }>;
}

/** The backup sources of the nodes this process knows, by node name. */
export class NodeBackupRegistry implements NodeBackup {
  private readonly sources = new Map<string, NodeBackup>();

  /** fallback: the source for nodes not registered here (agents in other processes). */
  constructor(private readonly fallback?: NodeBackup) {}

  /** Register a node's source; returns the unregister function. */
  register(nodeName: string, source: NodeBackup): () => void {
    this.sources.set(nodeName, source);
    return () => {
      if (this.sources.get(nodeName) === source) this.sources.delete(nodeName);
    };
  }

  private source(nodeName: string): NodeBackup {
    const s = this.sources.get(nodeName) ?? this.fallback;
    if (!s) throw new BackupError(503, 'NodeUnavailable', `no backup source is registered for node "${nodeName}"`);
    return s;
  }

  async exportInstance(nodeName: string, target: BackupTarget, signal: AbortSignal): Promise<Readable> {
    return this.source(nodeName).exportInstance(nodeName, target, signal);
  }

  async importInstance(nodeName: string, target: BackupTarget, body: Readable, signal: AbortSignal): Promise<{ message: string }> {
    return this.source(nodeName).importInstance(nodeName, target, body, signal);
  }
}

/**
 * The node's own source, set once its instances run (the node server starts
 * before them): until then a request is refused as the node not being ready.
 */
export class DeferredNodeBackup implements NodeBackup {
  private target?: NodeBackup;

  set(source: NodeBackup | undefined): void {
    this.target = source;
  }

  private get(): NodeBackup {
    if (!this.target) throw new BackupError(503, 'NodeUnavailable', 'the node agent has not started its instances yet');
    return this.target;
  }

  async exportInstance(nodeName: string, target: BackupTarget, signal: AbortSignal): Promise<Readable> {
    return this.get().exportInstance(nodeName, target, signal);
  }

  async importInstance(nodeName: string, target: BackupTarget, body: Readable, signal: AbortSignal): Promise<{ message: string }> {
    return this.get().importInstance(nodeName, target, body, signal);
  }
}
