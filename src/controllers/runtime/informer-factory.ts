// One shared informer per kind, so controllers watching the same kind share a cache.
import type { Registry } from '../../apis/registry.js';
import type { ResourceType } from '../../apis/types.js';
import type { ResourceService, WriteContext } from '../../api/resources/resource-service.js';
import type { Logger } from '../../util/log.js';
import { Informer } from './informer.js';

export interface ControllerContext {
  svc: ResourceService;
  registry: Registry;
  informers: InformerFactory;
  log: Logger;
  signal: AbortSignal;
}

export function controllerWrite(manager: string): WriteContext {
  return { manager, fieldValidation: 'Strict', dryRun: false, warnings: [] };
}

export class InformerFactory {
  private readonly informers = new Map<ResourceType, Informer>();
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly svc: ResourceService,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  for(rt: ResourceType): Informer {
    let inf = this.informers.get(rt);
    if (!inf) {
      inf = new Informer(this.svc, rt, this.log);
      this.informers.set(rt, inf);
      this.running.push(inf.run(this.signal));
    }
    return inf;
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.hasSynced));
  }

  async stopped(): Promise<void> {
    await Promise.allSettled(this.running);
  }
}
