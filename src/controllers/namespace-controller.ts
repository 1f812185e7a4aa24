// Namespace lifecycle: a Namespace being deleted has everything in it
// deleted, then its 'kubernetes' finalizer removed, and only then goes away.
import type { KubeObject } from '../apis/types.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';

const FINALIZER = 'kubernetes';
const MANAGER = 'namespace-controller';

export async function runNamespaceController(ctx: ControllerContext): Promise<void> {
  const nsType = ctx.registry.resource('', 'v1', 'namespaces');
  if (!nsType) return;
  const log = ctx.log.child({ controller: 'namespace' });
  const informer = ctx.informers.for(nsType);
  const queue = new WorkQueue();
  const enqueue = (o: KubeObject): void => {
    if (o.metadata.deletionTimestamp) queue.add(String(o.metadata.name));
  };
  informer.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  ctx.signal.addEventListener('abort', () => queue.stop());
  const namespaced = ctx.registry.kinds.filter((k) => k.namespaced);

  const sync = async (name: string): Promise<void> => {
    const ns = informer.cache.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const rt of namespaced) {
      const page = await ctx.svc.list(rt, name, {});
      for (const it of page.items) {
        remaining++;
        const obj = JSON.parse(it.value) as KubeObject;
        if (obj.metadata.deletionTimestamp) continue;
        try {
          await ctx.svc.delete(rt, name, obj.metadata.name as string, { propagationPolicy: 'Background' });
        } catch (e) {
          if ((e as { code?: number }).code !== 404) throw e;
        }
      }
    }
    if (remaining > 0) {
      // Objects with finalizers of their own take time; look again soon.
      queue.addAfter(name, 500);
      return;
    }
    const finalizers = ((ns.spec?.finalizers as string[] | undefined) ?? []).filter((f) => f !== FINALIZER);
    const current = await ctx.svc.tryGet(nsType, undefined, name);
    if (!current) return;
    await ctx.svc.update(nsType, undefined, name, { ...current.obj, spec: { ...current.obj.spec, finalizers } }, controllerWrite(MANAGER), 'finalize');
    log.info('namespace emptied and finalized', { namespace: name });
  };
  await queue.run(sync, (key, err) => log.warn('namespace sync failed', { namespace: key, error: (err as Error).message }));
}
