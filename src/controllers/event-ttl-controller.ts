// Event time to live: Kubernetes' API server drops an Event an hour after it
// was last written (--event-ttl, an etcd lease). Lodge's store has no
// leases, so this controller scans the Events now and then and deletes those
// last seen (lastTimestamp, else eventTime, else creation) longer ago than
// the TTL. Each delete is pinned to the resourceVersion it judged: an Event
// bumped by a repeat in between is kept.
import type { CoreEvent } from '../apis/core/v1/types.js';
import type { ControllerContext } from './runtime/informer-factory.js';
import { sleep } from '../util/sleep.js';

/** Kubernetes' --event-ttl default. */
export const DEFAULT_EVENT_TTL_MS = 60 * 60_000;
const DEFAULT_INTERVAL_MS = 60_000;
/** Events read per page: a scan never holds the whole collection at once. */
const PAGE = 500;

export interface EventTtlOptions {
  ttlMs?: number;
  /** How often to scan (default: each minute). */
  intervalMs?: number;
}

/** When an Event last happened, in ms; NaN when it says nothing usable. */
export function lastSeenMs(e: CoreEvent): number {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  return t ? Date.parse(String(t)) : Number.NaN;
}

export async function runEventTtlController(ctx: ControllerContext, opts: EventTtlOptions = {}): Promise<void> {
  const eventType = ctx.registry.resource('', 'v1', 'events');
  if (!eventType) return;
  const ttlMs = opts.ttlMs ?? DEFAULT_EVENT_TTL_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const log = ctx.log.child({ controller: 'eventttl' });

  const expired = (o: unknown, now: number): boolean => {
    const t = lastSeenMs(o as CoreEvent);
    return !Number.isNaN(t) && now - t > ttlMs;
  };

  const scan = async (): Promise<void> => {
    const now = Date.now();
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await ctx.svc.list(eventType, undefined, { limit: PAGE, continue: token, match: (o) => expired(o, now) });
      token = page.continue;
      for (const item of page.items) {
        if (ctx.signal.aborted) return;
        const e = item.obj as CoreEvent;
        try {
          await ctx.svc.delete(eventType, e.metadata.namespace, String(e.metadata.name), { preconditions: { uid: e.metadata.uid, resourceVersion: e.metadata.resourceVersion } });
          deleted++;
        } catch (err) {
          // 404: gone already; 409: bumped since the list — it lives on.
          const code = (err as { code?: number }).code;
          if (code !== 404 && code !== 409) throw err;
        }
      }
    } while (token && !ctx.signal.aborted);
    if (deleted) log.info('expired events deleted', { deleted, ttlSeconds: ttlMs / 1000 });
  };

  while (!ctx.signal.aborted) {
    try {
      await scan();
    } catch (e) {
      log.warn('event ttl scan failed', { error: (e as Error).message });
    }
    await sleep(intervalMs, ctx.signal, { unref: true });
  }
}
