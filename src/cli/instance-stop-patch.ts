// The edit that stops an Instance, shared by `lodge stop` and `lodge drain
// --stop-instances`: runStrategy Halted, the strategy it replaces kept in
// lodge.dev/lastRunStrategy so `lodge start` brings it back (stopping twice
// must not forget it), and a grace period for this stop only.
import { LAST_RUN_STRATEGY, STOP_GRACE_PERIOD } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';

/** gracePeriodSeconds: negative = the Instance's own terminationGracePeriodSeconds. */
export function stopPatch(i: Instance, gracePeriodSeconds: number): Record<string, unknown> {
  const current = i.spec?.runStrategy ?? 'Always';
  const annotations: Record<string, string | null> = { [STOP_GRACE_PERIOD]: gracePeriodSeconds >= 0 ? String(gracePeriodSeconds) : null };
  if (current !== 'Halted') annotations[LAST_RUN_STRATEGY] = current;
  return { metadata: { annotations }, spec: { runStrategy: 'Halted' } };
}
