// Watch with Kubernetes' contract over the store's revisioned watch:
// optional initial ADDED events, selectors that turn "stopped matching" into
// DELETED and "started matching" into ADDED, bookmarks, and 410 when the
// starting revision was compacted.
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { CompactedError } from '../../store/store.js';
import { decode } from '../codec.js';
import { badRequest } from '../status.js';
import { collectionPrefix } from './keys.js';
import type { ResourceService } from './resource-service.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ResourceWatchEvent {
  type: WatchEventType;
  /** Stored text (resourceVersion not yet spliced); absent for BOOKMARK/ERROR. */
  value?: string;
  /** Parsed object when the watch had to parse it (selectors). */
  obj?: KubeObject;
  revision: number;
  /** For ERROR: the Status to send. */
  status?: Record<string, unknown>;
  /** For BOOKMARK after initial events (sendInitialEvents). */
  initialEventsEnd?: boolean;
}

export interface WatchRequest {
  resourceVersion?: string;
  match?: (obj: KubeObject) => boolean;
  /** sendInitialEvents=true (watch-list): initial events then a bookmark. */
  sendInitialEvents?: boolean;
  bookmarks: boolean;
  signal: AbortSignal;
  bookmarkIntervalMs?: number;
}

export function parseRevision(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return Number(rv);
}

export async function* watchResources(
  svc: ResourceService,
  rt: ResourceType,
  ns: string | undefined,
  req: WatchRequest,
): AsyncGenerator<ResourceWatchEvent> {
  const requested = parseRevision(req.resourceVersion);
  const initial = req.sendInitialEvents ?? (requested === undefined || requested === 0);
  const matching = new Set<string>();
  const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  let from: number;
  if (initial) {
    const list = await svc.list(rt, ns, { match: req.match });
    for (const it of list.items) {
      const obj = it.obj ?? decode(it.value, it.revision);
      if (req.match) matching.add(keyOf(obj));
      yield { type: 'ADDED', value: it.value, obj: it.obj, revision: it.revision };
    }
    from = list.revision;
    if (req.sendInitialEvents) yield { type: 'BOOKMARK', revision: from, initialEventsEnd: true };
  } else {
    from = requested as number;
    if (req.match) {
      // Which objects matched at the start revision decides ADDED vs MODIFIED and DELETED-on-unmatch.
      try {
        const list = await svc.list(rt, ns, { revision: from, match: req.match });
        for (const it of list.items) matching.add(keyOf(it.obj ?? decode(it.value, it.revision)));
      } catch (e) {
        if ((e as { code?: number }).code === 410) {
          yield tooOld(from, 0);
          return;
        }
        throw e;
      }
    }
  }
  const stream = svc.store.watch(collectionPrefix(rt, ns), from, {
    signal: req.signal,
    progressIntervalMs: req.bookmarks ? (req.bookmarkIntervalMs ?? 10_000) : undefined,
  });
  try {
    for await (const ev of stream) {
      if (ev.type === 'PROGRESS') {
        if (req.bookmarks) yield { type: 'BOOKMARK', revision: ev.revision };
        continue;
      }
      if (!req.match) {
        yield { type: ev.type, value: ev.value, revision: ev.revision };
        continue;
      }
      const obj = decode(ev.value, ev.revision);
      const key = keyOf(obj);
      const was = matching.has(key);
      if (ev.type === 'DELETED') {
        if (was) yield { type: 'DELETED', value: ev.value, obj, revision: ev.revision };
        matching.delete(key);
      } else if (req.match(obj)) {
        matching.add(key);
        yield { type: was ? 'MODIFIED' : 'ADDED', value: ev.value, obj, revision: ev.revision };
      } else if (was) {
        matching.delete(key);
        yield { type: 'DELETED', value: ev.value, obj, revision: ev.revision };
      }
    }
  } catch (e) {
    if (e instanceof CompactedError) {
      yield tooOld(from, e.compactedRevision);
      return;
    }
    throw e;
  }
}

function tooOld(from: number, compacted: number): ResourceWatchEvent {
  return {
    type: 'ERROR',
    revision: from,
    status: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${from} (${compacted})`,
      reason: 'Expired',
      code: 410,
    },
  };
}
