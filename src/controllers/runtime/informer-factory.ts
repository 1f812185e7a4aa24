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

  /**
   * The same informers for work that starts and stops while they run on
   * (a leadership term): its handlers are handed what is cached when they
   * join and are removed when `signal` aborts. Several terms and the
   * scheduler thus share one list+watch and one decoded copy per kind.
   */
  scoped(signal: AbortSignal): InformerFactory {
    const parent = this;
    const used = new Set<Informer>();
    const views = new Map<ResourceType, Informer>();
    const scope = Object.create(InformerFactory.prototype) as InformerFactory;
    scope.for = (rt: ResourceType): Informer => {
      let view = views.get(rt);
      if (view) return view;
      const inf = parent.for(rt);
      used.add(inf);
      // A view that is the informer in every way but how handlers join and leave.
      view = Object.create(inf) as Informer;
      view.addHandlers = (h) => {
        if (signal.aborted) return;
        inf.addHandlersReplaying(h);
        signal.addEventListener('abort', () => inf.removeHandlers(h), { once: true });
      };
      views.set(rt, view);
      return view;
    };
    scope.waitForSync = async () => {
      await Promise.all([...used].map((i) => i.hasSynced));
    };
    // The informers belong to the parent: a scope has nothing of its own to wait for.
    scope.stopped = async () => {};
    scope.scoped = (s: AbortSignal) => parent.scoped(AbortSignal.any([signal, s]));
    return scope;
  }
}
