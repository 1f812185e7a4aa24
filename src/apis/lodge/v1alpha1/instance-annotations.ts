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
