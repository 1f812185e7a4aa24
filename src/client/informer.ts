// An informer over the REST API: list, then watch from the list's
// resourceVersion, re-listing when the watch fails or its version was
// compacted (410), so the cache converges on the server's state whatever
// was missed. Components outside the API server's process (the node agent,
// later the scheduler and controllers of other hosts) build on it; its
// handler interface is the in-process informer's.
import type { Logger } from '../util/log.js';
import type { KubeClient } from './client.js';
import { InformerCache } from './informer-cache.js';
import type { ResourceRef } from './paths.js';
import { sleep } from '../util/sleep.js';

export { objectKey, type InformerHandlers } from './informer-cache.js';

export interface ClientInformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Ask the server to end each watch after this long, so a half-dead connection cannot stall the cache forever. */
const WATCH_TIMEOUT_SECONDS = 300;

export class ClientInformer extends InformerCache {
  constructor(
    private readonly client: KubeClient,
    readonly ref: ResourceRef,
    private readonly opts: ClientInformerOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  async run(signal: AbortSignal): Promise<void> {
    let backoff = 100;
    let rv: string | undefined;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          const listed = await this.client.list(this.ref, { ...this.opts });
          this.replace(listed.items);
          rv = listed.metadata.resourceVersion;
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
}
