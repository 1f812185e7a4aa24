// The Store: the one small interface every component reaches state through.
// Shaped after kine: a revisioned key-value log where the revision is the only
// clock. SQLite (embedded) and etcd (cluster) implement it and pass one
// conformance suite (src/store/conformance.ts).

/** A stored value at a revision. `value` is opaque text (Lodge stores JSON). */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that produced this value (its resourceVersion). */
  revision: number;
  /** Revision at which the key was created (stable across updates). */
  createRevision: number;
}

export interface ListOptions {
  /** At most this many items; 0 or undefined = all. */
  limit?: number;
  /** Opaque token from a previous ListResult.continue. */
  continue?: string;
  /** Read as of this revision (must not be compacted). Default: latest. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list is consistent with. */
  revision: number;
  /** Present when more items remain; pass back as ListOptions.continue. */
  continue?: string;
  /** How many items remain after this page, when known. */
  remaining?: number;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  key: string;
  /** The new value; for DELETED, the last value before deletion. */
  value: string;
  /** Revision of this event. For DELETED, the deletion's revision. */
  revision: number;
  createRevision: number;
  /** Revision of the value this event replaced (0 for ADDED). */
  prevRevision: number;
}

/** Emitted on a watch when nothing happened for a while: everything up to `revision` was delivered. */
export interface StoreProgress {
  type: 'PROGRESS';
  revision: number;
}

export interface WatchOptions {
  /** Ends the watch (the iterator returns). */
  signal?: AbortSignal;
  /** If set, yield a StoreProgress when idle this long. */
  progressIntervalMs?: number;
}

export interface Store {
  get(key: string): Promise<KeyValue | null>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Fails with KeyExistsError if the key exists. Returns the new revision. */
  create(key: string, value: string): Promise<number>;
  /** Compare-and-swap. Fails with NotFoundError or RevisionConflictError. */
  update(key: string, value: string, expectedRevision: number): Promise<number>;
  /** Fails with NotFoundError, or RevisionConflictError when expectedRevision is given and stale. */
  delete(key: string, expectedRevision?: number): Promise<number>;
  /**
   * Every change under prefix with revision > fromRevision, in revision order,
   * none lost or duplicated. Throws CompactedError (from the first next())
   * when fromRevision is older than the compacted revision.
   */
  watch(prefix: string, fromRevision: number, options?: WatchOptions): AsyncIterable<StoreEvent | StoreProgress>;
  /** Forget history at or below revision; watches and lists from there fail with CompactedError. */
  compact(revision: number): Promise<void>;
  /** The latest revision. */
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string, readonly key?: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class KeyExistsError extends StoreError {}
export class NotFoundError extends StoreError {}
export class RevisionConflictError extends StoreError {
  constructor(message: string, key: string, readonly actualRevision: number) {
    super(message, key);
  }
}
/** The requested revision was compacted away (Kubernetes answers 410 Gone). */
export class CompactedError extends StoreError {
  constructor(message: string, readonly compactedRevision: number) {
    super(message);
  }
}
/** A continue token that does not parse or belongs to another prefix. */
export class InvalidContinueError extends StoreError {}
