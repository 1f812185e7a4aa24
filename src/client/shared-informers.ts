// One ClientInformer per resource and selector for a whole process, as
// client-go's SharedInformerFactory: components that follow the same kind
// (the Service proxy and the cluster DNS both follow Services and
// EndpointSlices) share one list and one watch instead of each opening its
// own. Each informer runs from its first request until the signal.
import type { Logger } from '../util/log.js';
import type { KubeClient } from './client.js';
import { ClientInformer, type ClientInformerOptions } from './informer.js';
import type { ResourceRef } from './paths.js';

export class SharedInformers {
  readonly #informers = new Map<string, ClientInformer>();
  readonly #running: Promise<void>[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  /** The informer of `ref` with these options, started on first use. Late handlers see later events; read the cache for what is there. */
  for(ref: ResourceRef, opts: ClientInformerOptions = {}): ClientInformer {
    const key = JSON.stringify([ref.group, ref.version, ref.plural, opts]);
    let inf = this.#informers.get(key);
    if (!inf) {
      inf = new ClientInformer(this.client, ref, opts, this.log);
      this.#informers.set(key, inf);
      this.#running.push(inf.run(this.signal));
    }
    return inf;
  }

  /** Resolves when every informer has stopped (after the signal). */
  done(): Promise<void> {
    return Promise.all(this.#running).then(() => undefined);
  }
}
