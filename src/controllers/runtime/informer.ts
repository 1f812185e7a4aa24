// An informer: a list+watch cache of one kind with change handlers. Its
// reflector re-lists when the watch ends or its revision was compacted, so
// handlers see every state change eventually (possibly coalesced) — enough
// for level-triggered controllers.
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { decode } from '../../api/codec.js';
import type { ResourceService } from '../../api/resources/resource-service.js';
import type { Logger } from '../../util/log.js';
import { runRawReflector } from './raw-reflector.js';

export interface InformerHandlers {
  onAdd?(obj: KubeObject): void;
  onUpdate?(oldObj: KubeObject, newObj: KubeObject): void;
  onDelete?(obj: KubeObject): void;
}

export function cacheKey(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}

export class Informer {
  readonly cache = new Map<string, KubeObject>();
  private readonly handlers: InformerHandlers[] = [];
  private synced!: () => void;
  readonly hasSynced: Promise<void> = new Promise((resolve) => (this.synced = resolve));

  constructor(
    private readonly svc: ResourceService,
    readonly rt: ResourceType,
    private readonly log: Logger,
  ) {}

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  async run(signal: AbortSignal): Promise<void> {
    await runRawReflector(
      this.svc,
      this.rt,
      {
        onList: (items) => {
          const fresh = new Map<string, KubeObject>();
          for (const it of items) {
            const obj = decode(it.value, it.revision);
            fresh.set(cacheKey(obj), obj);
          }
          for (const [k, old] of this.cache) if (!fresh.has(k)) this.apply('DELETED', old);
          for (const obj of fresh.values()) this.apply('ADDED', obj);
          this.synced();
        },
        onChange: (type, value, revision) => this.apply(type, decode(value, revision)),
      },
      this.log,
      signal,
    );
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const key = cacheKey(obj);
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
