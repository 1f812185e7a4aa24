// Waiting for an object to disappear: watch it by name from the version we
// last saw, and re-check with a GET whenever the watch ends, so a dropped
// or expired watch costs a round trip, never a missed deletion.
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/client.js';
import { isNotFound } from '../client/errors.js';
import type { ResourceRef } from '../client/paths.js';
import { kindLabel } from './print/objects.js';

export interface WaitTarget {
  namespace?: string;
  name: string;
  /** The deleted object's uid: a new object of the same name does not count as the old one. */
  uid?: string;
  /** 0 = no limit. */
  timeoutMs: number;
}

export async function waitForDeletion(client: KubeClient, ref: ResourceRef, t: WaitTarget): Promise<void> {
  const deadline = t.timeoutMs > 0 ? Date.now() + t.timeoutMs : Infinity;
  const label = `${kindLabel(ref.kind, ref.group)} "${t.name}"`;
  for (;;) {
    let current: KubeObject;
    try {
      current = await client.get<KubeObject>(ref, t.name, { namespace: t.namespace });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (t.uid && current.metadata.uid !== t.uid) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`timed out waiting for the deletion of ${label}`);
    const signal = Number.isFinite(remaining) ? AbortSignal.timeout(remaining) : undefined;
    let sawEvent = false;
    for await (const ev of client.watch(ref, {
      namespace: t.namespace,
      fieldSelector: `metadata.name=${t.name}`,
      resourceVersion: current.metadata.resourceVersion,
      // Bounded so that a server which silently stops sending is re-checked.
      timeoutSeconds: Number.isFinite(remaining) ? Math.max(1, Math.min(60, Math.ceil(remaining / 1000))) : 60,
      signal,
    })) {
      sawEvent = true;
      if (ev.type === 'DELETED' && (!t.uid || ev.object.metadata?.uid === t.uid)) return;
      if (ev.type === 'ERROR') break; // e.g. 410 Gone: fall back to a fresh GET
    }
    if (!sawEvent && !signal?.aborted) await new Promise((res) => setTimeout(res, 500));
  }
}
