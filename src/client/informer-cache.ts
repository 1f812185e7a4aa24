// What every informer keeps, however it lists and watches: the objects by
// namespace/name, the handlers, and "synced" after the first full list. A
// fresh list replaces the cache (what vanished is a delete); an event whose
// resourceVersion the cache already has is no change.
import type { KubeObject } from '../apis/types.js';

export interface InformerHandlers {
  onAdd?(obj: KubeObject): void;
  onUpdate?(oldObj: KubeObject, newObj: KubeObject): void;
  onDelete?(obj: KubeObject): void;
}

export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}

export class InformerCache {
  readonly cache = new Map<string, KubeObject>();
  private readonly handlers: InformerHandlers[] = [];
  private synced!: () => void;
  readonly hasSynced: Promise<void> = new Promise((resolve) => (this.synced = resolve));

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
  }

  /**
   * Handlers that join an informer already running (client-go's
   * AddEventHandler on a started informer): every object already in the
   * cache is handed over as an add first, as a fresh informer's list would.
   */
  addHandlersReplaying(h: InformerHandlers): void {
    this.handlers.push(h);
    for (const obj of this.cache.values()) h.onAdd?.(obj);
  }

  removeHandlers(h: InformerHandlers): void {
    const i = this.handlers.indexOf(h);
    if (i >= 0) this.handlers.splice(i, 1);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  /** A full list: everything that exists now. */
  protected replace(items: Iterable<KubeObject>): void {
    const fresh = new Map<string, KubeObject>();
    for (const obj of items) fresh.set(objectKey(obj), obj);
    for (const [k, old] of this.cache) if (!fresh.has(k)) this.apply('DELETED', old);
    for (const obj of fresh.values()) this.apply('ADDED', obj);
    this.synced();
  }

  protected apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
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
