// An informer over the REST API: list, then watch from the list's
// resourceVersion, re-listing when the watch fails or its version was
// compacted (410), so the cache converges on the server's state whatever
// was missed. Components outside the API server's process (the node agent,
// later the scheduler and controllers of other hosts) build on it; its
// handler interface is the in-process informer's.
import type { KubeObject } from '../apis/types.js';
import type { Logger } from '../util/log.js';
import type { KubeClient } from './client.js';
import type { ResourceRef } from './paths.js';

export interface InformerHandlers {
  onAdd?(obj: KubeObject): void;
  onUpdate?(oldObj: KubeObject, newObj: KubeObject): void;
  onDelete?(obj: KubeObject): void;
}

export interface ClientInformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}

/** Ask the server to end each watch after this long, so a half-dead connection cannot stall the cache forever. */
const WATCH_TIMEOUT_SECONDS = 300;

export class ClientInformer {
  readonly cache = new Map<string, KubeObject>();
  private readonly handlers: InformerHandlers[] = [];
  private synced!: () => void;
  readonly hasSynced: Promise<void> = new Promise((resolve) => (this.synced = resolve));

  constructor(
    private readonly client: KubeClient,
    readonly ref: ResourceRef,
    private readonly opts: ClientInformerOptions,
    private readonly log: Logger,
  ) {}

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  async run(signal: AbortSignal): Promise<void> {
    let backoff = 100;
    let rv: string | undefined;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          const listed = await this.client.list(this.ref, { ...this.opts });
          const fresh = new Map<string, KubeObject>();
          for (const it of listed.items) fresh.set(objectKey(it), it);
          for (const [k, old] of this.cache) if (!fresh.has(k)) this.apply('DELETED', old);
          for (const obj of fresh.values()) this.apply('ADDED', obj);
          rv = listed.metadata.resourceVersion;
          this.synced();
        }
        for await (const ev of this.client.watch(this.ref, { ...this.opts, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS, signal })) {
          if (ev.type === 'ERROR') {
            // 410 Gone (compacted) or another failure: start over from a fresh list.
            rv = undefined;
            break;
          }
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (ev.type !== 'BOOKMARK') this.apply(ev.type, ev.object);
        }
        backoff = 100;
      } catch (e) {
        if (signal.aborted) return;
        rv = undefined;
        this.log.warn('watch failed; re-listing', { resource: this.ref.plural, error: (e as Error).message });
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      for (const h of this.handlers) h.onDelete?.(obj);
      return;
    }
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.cache.set(key, obj);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(old, obj);
      else h.onAdd?.(obj);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
