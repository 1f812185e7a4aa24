// List then watch one kind forever, re-listing when the watch ends or its
// revision was compacted, handing each change on as stored text. Informers
// build their caches on it; a controller that cares about few objects can
// skip parsing the rest (the garbage collector looks only at objects with
// ownerReferences or deletion finalizers).
import type { ResourceType } from '../../apis/types.js';
import type { ResourceService } from '../../api/resources/resource-service.js';
import { watchResources } from '../../api/resources/watch.js';
import type { Logger } from '../../util/log.js';
import { TimeSlice } from '../../util/time-slice.js';

export type RawChange = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface RawHandlers {
  /** A fresh list: every object that exists, replacing what was known. */
  onList(items: Array<{ value: string; revision: number }>): void;
  onChange(type: RawChange, value: string, revision: number): void;
}

export async function runRawReflector(svc: ResourceService, rt: ResourceType, h: RawHandlers, log: Logger, signal: AbortSignal): Promise<void> {
  let backoff = 100;
  const slice = new TimeSlice();
  while (!signal.aborted) {
    try {
      const listed = await svc.list(rt, undefined, {});
      h.onList(listed.items);
      backoff = 100;
      const events = watchResources(svc, rt, undefined, { resourceVersion: String(listed.revision), bookmarks: false, signal });
      for await (const ev of events) {
        if (ev.type === 'ERROR') break; // compacted: re-list
        if (ev.type === 'BOOKMARK') continue;
        h.onChange(ev.type, ev.value as string, ev.revision);
        // A commit of thousands of writes arrives as one burst of events; their handlers must not hold requests for all of it.
        await slice.maybeYield();
      }
    } catch (e) {
      if (signal.aborted) return;
      log.warn('watch failed; re-listing', { kind: rt.kind, error: (e as Error).message });
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  }
}
