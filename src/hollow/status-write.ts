// One status write as a compare-and-swap on the version read, retried on a
// fresh read when someone else wrote in between (409): the caller's `desire`
// is asked again with the newer object, and may decide nothing is to be
// written any more. A gone object (404) is nothing to write.
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/client.js';
import { hasStatus } from '../client/errors.js';
import type { ResourceRef } from '../client/paths.js';
import { HOLLOW_MANAGER } from './node-objects.js';

const ATTEMPTS = 5;

/** The object to PUT for this version of it, or undefined when it needs no write. */
export type Desire = (current: KubeObject) => KubeObject | undefined;

/** PUT desire(obj) (to `subresource` when given), re-reading and retrying on conflicts; true when something was written. */
export async function writeWithRetry(client: KubeClient, ref: ResourceRef, obj: KubeObject, desire: Desire, subresource?: string): Promise<boolean> {
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const next = desire(current);
    if (!next) return false;
    try {
      await client.update(ref, next, { fieldManager: HOLLOW_MANAGER, ...(subresource ? { subresource } : {}) });
      return true;
    } catch (e) {
      if (hasStatus(e, 404)) return false;
      if (!hasStatus(e, 409) || attempt >= ATTEMPTS) throw e;
    }
    try {
      current = await client.get<KubeObject>(ref, String(obj.metadata.name), { namespace: obj.metadata.namespace });
    } catch (e) {
      if (hasStatus(e, 404)) return false;
      throw e;
    }
  }
}

/**
 * Whether the current status already says everything the desired one does
 * (whatever its key order, and ignoring fields the server or others added):
 * a write that would change nothing is skipped, so our own write's watch
 * event never causes another write.
 */
export function sameStatus(desired: unknown, current: unknown): boolean {
  if (desired === current) return true;
  if (Array.isArray(desired)) return Array.isArray(current) && desired.length === current.length && desired.every((d, i) => sameStatus(d, (current as unknown[])[i]));
  if (desired && typeof desired === 'object') {
    // An empty object the server may have left out (lastState: {}) is no difference.
    if (current === undefined || current === null) current = {};
    if (typeof current !== 'object' || Array.isArray(current)) return false;
    const cur = current as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => v === undefined || sameStatus(v, cur[k]));
  }
  return false;
}
