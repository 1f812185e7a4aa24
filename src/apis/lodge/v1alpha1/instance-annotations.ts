// The imperative verbs (`lodge stop|start|restart`) expressed declaratively,
// as KubeVirt does with runStrategy: the CLI edits the Instance and the node
// agent converges on it. No extra API verbs, so kubectl, apply and GitOps
// tools see and can make the very same changes.

/** `lodge stop` sets runStrategy Halted and keeps the strategy it replaced here, so `lodge start` can restore it. */
export const LAST_RUN_STRATEGY = 'lodge.dev/lastRunStrategy';

/**
 * `lodge restart` sets this to a new timestamp; the agent restarts the
 * instance once per distinct value (it remembers the last value it acted on
 * on the node), whatever the run strategy, unless Halted.
 */
export const RESTARTED_AT = 'lodge.dev/restartedAt';

/**
 * `lodge stop --force` sets this to "0": the next stop uses this grace
 * period instead of spec.terminationGracePeriodSeconds. `lodge start`
 * removes it, so a force applies to one stop only.
 */
export const STOP_GRACE_PERIOD = 'lodge.dev/stopGracePeriodSeconds';

/** The agent's finalizer: a deleted Instance stays until its node has stopped it and removed what it used. */
export const INSTANCE_FINALIZER = 'lodge.dev/instance';

/**
 * `lodge snapshot restore NAME SNAP` sets both: the Snapshot (object name)
 * to restore and a new timestamp; the agent restores once per timestamp
 * (remembered on the node, like a restart) and reports in status.restore.
 */
export const RESTORE_SNAPSHOT = 'lodge.dev/restoreSnapshot';
export const RESTORE_REQUESTED_AT = 'lodge.dev/restoreRequestedAt';

/**
 * `lodge snapshot rm --force` (and `lodge rm --force` of a source) sets this
 * on each linked copy: its agent copies what the copy still reads from its
 * source into the copy's own disk, then sets status.flattened.
 */
export const FLATTEN_REQUESTED_AT = 'lodge.dev/flattenRequestedAt';

/** The agent's finalizer on a Snapshot: its data on the node goes before the object does. */
export const SNAPSHOT_FINALIZER = 'lodge.dev/snapshot';

/** Label on a Snapshot: the instance it belongs to (lodge snapshot ls lists by it). */
export const SNAPSHOT_INSTANCE_LABEL = 'lodge.dev/instance';

/**
 * `lodge import` sets this ("true") on the Instance and the Snapshot objects
 * it creates for an export's data, and removes it once the node has written
 * that data: until then the agent neither starts the instance, nor makes a
 * disk for it, nor takes those snapshots (the data comes from the tarball).
 */
export const IMPORTING = 'lodge.dev/importing';
