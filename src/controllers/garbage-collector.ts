// The garbage collector: ownerReferences drive cascading deletion.
// - Background: a dependent whose owners are all gone is deleted.
// - Foreground: an owner with the foregroundDeletion finalizer waits until its
//   dependents are gone (the collector deletes them), then loses the finalizer.
// - Orphan: an owner with the orphan finalizer has its references removed from
//   its dependents, then loses the finalizer.
import type { KubeObject, ResourceType } from '../apis/types.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { runRawReflector } from './runtime/raw-reflector.js';
import { WorkQueue } from './runtime/workqueue.js';

const MANAGER = 'garbage-collector';

interface Ref {
  rt: ResourceType;
  namespace?: string;
  name: string;
}

export async function runGarbageCollector(ctx: ControllerContext): Promise<void> {
  const log = ctx.log.child({ controller: 'garbage-collector' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  /** uid → where an indexed object lives and which owners it named when last seen. */
  const indexed = new Map<string, { ref: Ref; owners: string[] }>();
  /** owner uid → dependent uids. */
  const dependents = new Map<string, Set<string>>();
  const kindIndex = new Map<ResourceType, number>();
  ctx.registry.kinds.forEach((k, i) => kindIndex.set(k, i));
  const byUid = (uid: string): Ref | undefined => indexed.get(uid)?.ref;

  const keyOf = (ref: Ref): string => `${kindIndex.get(ref.rt)}|${ref.namespace ?? ''}|${ref.name}`;
  const refOfKey = (key: string): Ref => {
    const [i, ns, name] = key.split('|');
    return { rt: ctx.registry.kinds[Number(i)], namespace: ns || undefined, name };
  };
  const unindex = (uid: string): void => {
    for (const owner of indexed.get(uid)?.owners ?? []) dependents.get(owner)?.delete(uid);
    indexed.delete(uid);
  };
  const enqueueUid = (uid: string): void => {
    const ref = byUid(uid);
    if (ref) queue.add(keyOf(ref));
  };
  /**
   * Objects whose owners were all found alive, by the owner uids they had
   * then: a later change that keeps the same owners (a Pod's status, every
   * few seconds per Pod) needs no new look at the owners — an owner that
   * goes is reported by its own deletion, which re-queues its dependents.
   */
  const ownersVerified = new Map<string, string>();
  const ownersSignature = (o: KubeObject): string => (o.metadata.ownerReferences ?? []).map((r) => r.uid).join(',');
  const interesting = (o: KubeObject): boolean =>
    Boolean(o.metadata.deletionTimestamp && o.metadata.finalizers?.some((f) => f === 'foregroundDeletion' || f === 'orphan')) ||
    Boolean(o.metadata.ownerReferences?.length && (o.metadata.deletionTimestamp || ownersVerified.get(o.metadata.uid as string) !== ownersSignature(o)));

  // Only objects with owners, or with a deletion finalizer the collector
  // serves, need parsing; every other change is skipped on its text. A
  // deletion is parsed to find the dependents it may orphan.
  const mayMatter = (value: string): boolean =>
    value.includes('"ownerReferences"') || value.includes('"foregroundDeletion"') || value.includes('"orphan"');
  const upsert = (rt: ResourceType, o: KubeObject): void => {
    const uid = o.metadata.uid as string;
    unindex(uid);
    const ref: Ref = { rt, namespace: o.metadata.namespace, name: o.metadata.name as string };
    const owners = (o.metadata.ownerReferences ?? []).map((r) => r.uid);
    indexed.set(uid, { ref, owners });
    for (const owner of owners) {
      let set = dependents.get(owner);
      if (!set) dependents.set(owner, (set = new Set()));
      set.add(uid);
    }
    if (interesting(o)) queue.add(keyOf(ref));
    for (const owner of owners) enqueueUid(owner);
  };
  const removed = (o: KubeObject): void => {
    const uid = o.metadata.uid as string;
    ownersVerified.delete(uid);
    // Its dependents may now be orphans; its owners may be waiting on it.
    for (const d of dependents.get(uid) ?? []) {
      ownersVerified.delete(d);
      enqueueUid(d);
    }
    for (const r of o.metadata.ownerReferences ?? []) enqueueUid(r.uid);
    unindex(uid);
  };
  const reflectors = ctx.registry.kinds.map((rt) =>
    runRawReflector(
      ctx.svc,
      rt,
      {
        onList: (items) => {
          for (const it of items) if (mayMatter(it.value)) upsert(rt, JSON.parse(it.value) as KubeObject);
        },
        onChange: (type, value) => {
          if (type === 'DELETED') removed(JSON.parse(value) as KubeObject);
          else if (mayMatter(value)) upsert(rt, JSON.parse(value) as KubeObject);
        },
      },
      log,
      ctx.signal,
    ),
  );

  const current = async (ref: Ref): Promise<KubeObject | null> => (await ctx.svc.tryGet(ref.rt, ref.namespace, ref.name))?.obj ?? null;

  const sync = async (key: string): Promise<void> => {
    const ref = refOfKey(key);
    const obj = await current(ref);
    if (!obj) return;
    const uid = obj.metadata.uid as string;
    const fins = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && fins.includes('orphan')) {
      for (const d of [...(dependents.get(uid) ?? [])]) {
        const dref = byUid(d);
        const dep = dref && (await current(dref));
        if (!dref || !dep) continue;
        const refs = (dep.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        await ctx.svc.patch(dref.rt, dref.namespace, dref.name, 'merge', { metadata: { ownerReferences: refs.length ? refs : null } }, { ...controllerWrite(MANAGER), force: false });
      }
      await removeFinalizer(ref, 'orphan');
      return;
    }
    if (obj.metadata.deletionTimestamp && fins.includes('foregroundDeletion')) {
      const deps = [...(dependents.get(uid) ?? [])].map((d) => byUid(d)).filter((r): r is Ref => Boolean(r));
      let blocking = 0;
      for (const dref of deps) {
        const dep = await current(dref);
        // The index may be stale: only a dependent that still names this owner blocks it.
        if (!dep || !dep.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
        blocking++;
        if (!dep.metadata.deletionTimestamp) await deleteQuietly(dref, 'Foreground');
      }
      if (blocking === 0) await removeFinalizer(ref, 'foregroundDeletion');
      return;
    }
    const owners = obj.metadata.ownerReferences ?? [];
    if (!owners.length || obj.metadata.deletionTimestamp) return;
    let alive = 0;
    let foregroundOwner = false;
    for (const o of owners) {
      const oref = byUid(o.uid);
      const owner = oref ? await current(oref) : null;
      if (owner && owner.metadata.uid === o.uid) {
        alive++;
        if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes('foregroundDeletion')) foregroundOwner = true;
      }
    }
    if (alive === 0) {
      // Confirm with the store, not just the caches: an owner created a moment ago may not be indexed yet.
      for (const o of owners) {
        const rt = ctx.registry.kinds.find((k) => k.kind === o.kind && (k.group ? `${k.group}/${k.version}` : k.version) === o.apiVersion);
        if (!rt) continue;
        const owner = await ctx.svc.tryGet(rt, rt.namespaced ? obj.metadata.namespace : undefined, o.name);
        if (owner && owner.obj.metadata.uid === o.uid) {
          ownersVerified.set(uid, ownersSignature(obj));
          return;
        }
      }
      log.info('deleting object whose owners are gone', { kind: ref.rt.kind, namespace: ref.namespace, name: ref.name });
      await deleteQuietly(ref, 'Background');
    } else if (foregroundOwner) {
      await deleteQuietly(ref, 'Foreground');
    } else ownersVerified.set(uid, ownersSignature(obj));
  };

  const deleteQuietly = async (ref: Ref, policy: 'Foreground' | 'Background'): Promise<void> => {
    try {
      await ctx.svc.delete(ref.rt, ref.namespace, ref.name, { propagationPolicy: policy });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  };

  const removeFinalizer = async (ref: Ref, finalizer: string): Promise<void> => {
    const obj = await current(ref);
    if (!obj?.metadata.finalizers?.includes(finalizer)) return;
    const finalizers = obj.metadata.finalizers.filter((f) => f !== finalizer);
    await ctx.svc.patch(
      ref.rt,
      ref.namespace,
      ref.name,
      'merge',
      { metadata: { finalizers: finalizers.length ? finalizers : null, resourceVersion: obj.metadata.resourceVersion } },
      { ...controllerWrite(MANAGER), force: false },
    );
  };

  await Promise.all([queue.run(sync, (key, err) => log.warn('garbage collection failed', { key, error: (err as Error).message }), 2), ...reflectors]);
}
