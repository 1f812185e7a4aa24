// An informer: a list+watch cache of one kind with change handlers. Its
// reflector re-lists when the watch ends or its revision was compacted, so
// handlers see every state change eventually (possibly coalesced) — enough
// for level-triggered controllers.
import type { ResourceType } from '../../apis/types.js';
import { InformerCache } from '../../client/informer-cache.js';
import { decode } from '../../api/codec.js';
import type { ResourceService } from '../../api/resources/resource-service.js';
import type { Logger } from '../../util/log.js';
import { runRawReflector } from './raw-reflector.js';

export { objectKey as cacheKey, type InformerHandlers } from '../../client/informer-cache.js';

export class Informer extends InformerCache {
  constructor(
    private readonly svc: ResourceService,
    readonly rt: ResourceType,
    private readonly log: Logger,
  ) {
    super();
  }

  async run(signal: AbortSignal): Promise<void> {
    await runRawReflector(
      this.svc,
      this.rt,
      {
        onList: (items) => this.replace(items.map((it) => decode(it.value, it.revision))),
        onChange: (type, value, revision) => this.apply(type, decode(value, revision)),
      },
      this.log,
      signal,
    );
  }
}
