// Kubernetes' ControllerRefManager: a controller owns the objects that name
// it as their controller and match its selector. It adopts orphans that
// match (unless it is being deleted), and releases its objects that no
// longer match, so a relabelled Pod leaves its ReplicaSet. Objects another
// controller owns are never touched.
import type { LabelSelector } from '../apis/core/v1/types.js';
import { selectorMatches } from '../apis/core/v1/label-selector.js';
import type { KubeObject, OwnerReference, ResourceType } from '../apis/types.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';

export function controllerRefTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion as string,
    kind: owner.kind as string,
    name: owner.metadata.name as string,
    uid: owner.metadata.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface ClaimOptions {
  ctx: ControllerContext;
  /** The kind of the candidates. */
  rt: ResourceType;
  ownerType: ResourceType;
  owner: KubeObject;
  selector: LabelSelector | undefined;
  manager: string;
}

function ignoreGone(e: unknown): void {
  // Gone or changed since the cache saw it: the next sync decides again from fresh events.
  const code = (e as { code?: number }).code;
  if (code !== 404 && code !== 409) throw e;
}

/** The candidates this owner controls after adopting and releasing. Writes are pinned to the cached resourceVersion. */
export async function claim<T extends KubeObject>(o: ClaimOptions, candidates: T[]): Promise<T[]> {
  const uid = o.owner.metadata.uid;
  const ns = o.owner.metadata.namespace;
  const owned: T[] = [];
  let ownerFresh: boolean | undefined;
  const write = controllerWrite(o.manager);
  for (const c of candidates) {
    const refs = c.metadata.ownerReferences ?? [];
    const ctrl = refs.find((r) => r.controller === true);
    const matches = selectorMatches(o.selector, c.metadata.labels);
    if (ctrl && ctrl.uid !== uid) continue;
    if (ctrl) {
      if (matches) owned.push(c);
      else if (!o.owner.metadata.deletionTimestamp) {
        const next = { ...c, metadata: { ...c.metadata, ownerReferences: refs.filter((r) => r.uid !== uid) } };
        if (!next.metadata.ownerReferences.length) delete (next.metadata as { ownerReferences?: unknown }).ownerReferences;
        await o.ctx.svc.update(o.rt, ns, c.metadata.name as string, next, write).catch(ignoreGone);
      }
      continue;
    }
    if (!matches || o.owner.metadata.deletionTimestamp || c.metadata.deletionTimestamp) continue;
    // Adoption asks the store once whether the owner still is what the cache says: a deleted and recreated owner must not adopt.
    ownerFresh ??= await o.ctx.svc.tryGet(o.ownerType, ns, o.owner.metadata.name as string).then((s) => Boolean(s && s.obj.metadata.uid === uid && !s.obj.metadata.deletionTimestamp));
    if (!ownerFresh) continue;
    const next = { ...c, metadata: { ...c.metadata, ownerReferences: [...refs, controllerRefTo(o.owner)] } };
    try {
      const stored = await o.ctx.svc.update(o.rt, ns, c.metadata.name as string, next, write);
      owned.push(stored.stored.obj as T);
    } catch (e) {
      ignoreGone(e);
    }
  }
  return owned;
}
