// The verbs of the API over the Store: create, get, list, update, patch,
// delete, watch — with Kubernetes' semantics for uid, generation,
// resourceVersion, finalizers, deletionTimestamp, the status subresource and
// namespaces. HTTP handlers and in-process controllers both call this, so a
// controller gets exactly the checks a kubectl user gets.
import { randomUUID } from 'node:crypto';
import type { Registry } from '../../apis/registry.js';
import type { KubeObject, ObjectLookup, ResourceType } from '../../apis/types.js';
import type { Store } from '../../store/store.js';
import { CompactedError, InvalidContinueError, KeyExistsError, NotFoundError, RevisionConflictError } from '../../store/store.js';
import type { FieldValidation, SchemaValidator } from '../admission/schema-validator.js';
import { canonical, decode, encode } from '../codec.js';
import { alreadyExists, ApiError, badRequest, checkPreconditions, forbidden, gone, inUse, nameMismatch, notFound, qualifiedResource, staleUpdate, uidPreconditionFailed } from '../status.js';
import { admit, checkTypeMeta } from './admit.js';
import { nameSuffix, rfc3339 } from './clock.js';
import { collectionPrefix, objectKey } from './keys.js';
import { managedFieldsForWrite, type PatchType, applyPatch } from './patching.js';

export interface WriteContext {
  /** A write made through a subresource that edits the main object (scale): recorded as such in managedFields. */
  viaSubresource?: 'scale';
  /** Field manager for managedFields (fieldManager param, else from the user agent). */
  manager: string;
  fieldValidation: FieldValidation;
  dryRun: boolean;
  /** Warnings to return as Warning headers. */
  warnings: string[];
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface Stored {
  obj: KubeObject;
  revision: number;
  /** The stored text (without resourceVersion), when this call wrote it: responses reuse it instead of serializing again. */
  raw?: string;
}

/**
 * Admission that reserves shared things in the store for an object (a
 * Service's cluster IP and node ports): run after validation, before the
 * object is written, and told how the write ended.
 */
export interface Allocator {
  /** Reserve what `obj` needs beyond what `old` (the stored object, on update) holds; may fill the allocated fields in obj. Throws an ApiError when it cannot. In dry-run, checks without reserving. */
  reserve(obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Reservation>;
  /** `obj` is gone from the store: free what it held. Never throws (repair frees what a failure leaves). */
  release(obj: KubeObject): Promise<void>;
}

export interface Reservation {
  /** The write succeeded: free what the old object held and the new one does not. */
  commit(): Promise<void>;
  /** The write failed: free what this reservation took. */
  rollback(): Promise<void>;
}

/** Reserve with each allocator in turn (LimitRange defaults before quota charges them); one failing undoes those before it. */
async function reserveInOrder(chain: Allocator[], obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Reservation> {
  const done: Reservation[] = [];
  try {
    for (const a of chain) done.push(await a.reserve(obj, old, dryRun));
  } catch (e) {
    for (const r of done.reverse()) await r.rollback();
    throw e;
  }
  return {
    commit: async () => {
      for (const r of done) await r.commit();
    },
    rollback: async () => {
      for (const r of [...done].reverse()) await r.rollback();
    },
  };
}

/** Compare-and-swap retries of one write under contention (Kubernetes retries without bound). */
const MAX_CAS_RETRIES = 1000;

/** How long an open namespace is believed without reading it again (see checkNamespaceOpen). */
const NAMESPACE_TTL_MS = 1000;

/** Objects that Kubernetes lets PUT create when missing. */
const CREATE_ON_UPDATE = new Set(['endpoints', 'leases', 'events']);

/** Finalizers that block removal: metadata.finalizers and any the kind adds (a Namespace's spec.finalizers). */
export function pendingFinalizers(rt: ResourceType, obj: KubeObject): string[] {
  const own = obj.metadata.finalizers ?? [];
  const extra = rt.deletion?.pendingFinalizers?.(obj) ?? [];
  return extra.length ? [...own, ...extra] : own;
}

/** Everything but metadata and status: what a generation counts. */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return JSON.stringify(rest);
}

function withoutManagedFields(obj: KubeObject): string {
  const { managedFields: _mf, resourceVersion: _rv, ...meta } = obj.metadata;
  return JSON.stringify({ ...obj, metadata: meta });
}

/** Objects of this kind and name may never be deleted (the system namespaces). */
export function isProtected(rt: ResourceType, name: string): boolean {
  return rt.deletion?.protectedNames?.includes(name) ?? false;
}

/** Kubernetes' answer to a resourceVersion the store has not reached: 504, retry shortly. */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export class ResourceService {
  constructor(
    readonly store: Store,
    readonly registry: Registry,
    private readonly validator: SchemaValidator,
  ) {}

  private readonly allocators = new Map<ResourceType, Allocator[]>();

  /** Run `allocator` on every create and update of the kind (after those added before it), and tell it when an object of the kind is gone. */
  useAllocator(rt: ResourceType, allocator: Allocator): void {
    this.allocators.set(rt, [...(this.allocators.get(rt) ?? []), allocator]);
  }

  private async reserve(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Reservation | undefined> {
    const chain = this.allocators.get(rt);
    return chain ? reserveInOrder(chain, obj, old, dryRun) : undefined;
  }

  private async released(rt: ResourceType, obj: KubeObject): Promise<void> {
    for (const a of this.allocators.get(rt) ?? []) await a.release(obj);
  }

  // ---- reads -------------------------------------------------------------

  async get(rt: ResourceType, ns: string | undefined, name: string): Promise<Stored> {
    const kv = await this.store.get(objectKey(rt, ns, name));
    if (!kv) throw notFound(rt, name);
    return { obj: decode(kv.value, kv.revision), revision: kv.revision };
  }

  async tryGet(rt: ResourceType, ns: string | undefined, name: string): Promise<Stored | null> {
    const kv = await this.store.get(objectKey(rt, ns, name));
    return kv ? { obj: decode(kv.value, kv.revision), revision: kv.revision } : null;
  }

  /** Fail with 504 "Too large resource version" unless the store has reached `revision`. */
  async checkRevisionReached(revision: number): Promise<void> {
    const current = await this.store.currentRevision();
    if (revision > current) throw tooLargeResourceVersion(revision, current);
  }

  /**
   * One page of a list. `match` filters (selectors); with a limit, pages are
   * read from the store until `limit` matches are found or the data ends.
   */
  async list(
    rt: ResourceType,
    ns: string | undefined,
    o: { limit?: number; continue?: string; revision?: number; match?: (obj: KubeObject) => boolean },
  ): Promise<{ items: Array<{ value: string; revision: number; obj?: KubeObject }>; revision: number; continue?: string; remaining?: number }> {
    const prefix = collectionPrefix(rt, ns);
    const items: Array<{ value: string; revision: number; obj?: KubeObject }> = [];
    let token = o.continue;
    let revision = o.revision;
    let listRevision = 0;
    let remaining: number | undefined;
    if (revision !== undefined && !token) await this.checkRevisionReached(revision);
    for (;;) {
      const want = o.limit ? o.limit - items.length : undefined;
      let page;
      try {
        page = await this.store.list(prefix, { limit: want, continue: token, revision: token ? undefined : revision });
      } catch (e) {
        if (e instanceof CompactedError)
          throw gone(
            token
              ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
              : `too old resource version: ${revision} (${e.compactedRevision})`,
          );
        if (e instanceof InvalidContinueError) throw badRequest(`invalid continue token: ${e.message}`);
        throw e;
      }
      listRevision = page.revision;
      revision = page.revision;
      for (const kv of page.items) {
        if (o.match) {
          const obj = decode(kv.value, kv.revision);
          if (!o.match(obj)) continue;
          items.push({ value: kv.value, revision: kv.revision, obj });
        } else items.push({ value: kv.value, revision: kv.revision });
      }
      token = page.continue;
      remaining = o.match ? undefined : page.remaining;
      if (!token || !o.limit || items.length >= o.limit) break;
    }
    return { items, revision: listRevision, continue: token, remaining: token ? remaining : undefined };
  }

  // ---- create ------------------------------------------------------------

  /** `allocate: false` prepares the object without reserving its allocations: for creates that finish in the update loop, which reserves them. */
  async create(rt: ResourceType, ns: string | undefined, body: unknown, ctx: WriteContext, o: { allocate?: boolean } = {}): Promise<Stored> {
    const obj = checkTypeMeta(rt, body);
    const meta = obj.metadata;
    if (rt.namespaced) {
      if (meta.namespace && ns && meta.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      ns = ns ?? meta.namespace ?? 'default';
      meta.namespace = ns;
      await this.checkNamespaceOpen(ns);
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${nameSuffix()}`;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (rt.statusSubresource) delete obj.status;
    admit(this.validator, rt, obj, { fieldValidation: ctx.fieldValidation, warnings: ctx.warnings });
    rt.prepareForCreate?.(obj);
    meta.managedFields = managedFieldsForWrite(this.registry, rt, undefined, obj, ctx.manager, meta.managedFields);
    if (o.allocate === false) return this.insert(rt, ns, canonical(obj), ctx.dryRun);
    // After managedFields: server-allocated fields (a clusterIP) belong to no manager, as in Kubernetes.
    const reservation = await this.reserve(rt, obj, undefined, ctx.dryRun);
    let stored: Stored;
    try {
      stored = await this.insert(rt, ns, canonical(obj), ctx.dryRun);
    } catch (e) {
      await reservation?.rollback();
      throw e;
    }
    await reservation?.commit();
    return stored;
  }

  /** Store a fully prepared new object. */
  async insert(rt: ResourceType, ns: string | undefined, obj: KubeObject, dryRun: boolean): Promise<Stored> {
    const name = obj.metadata.name as string;
    if (dryRun) {
      if (await this.store.get(objectKey(rt, ns, name))) throw alreadyExists(rt, name);
      return { obj, revision: 0 };
    }
    try {
      const raw = encode(obj);
      const revision = await this.store.create(objectKey(rt, ns, name), raw);
      obj.metadata.resourceVersion = String(revision);
      return { obj, revision, raw };
    } catch (e) {
      if (e instanceof KeyExistsError) throw alreadyExists(rt, name);
      throw e;
    }
  }

  /**
   * Namespaces recently seen open, and until when to believe it. Every write
   * to a namespace through this service forgets its entry, so within one
   * process a deletion is seen at once; other API servers sharing the store
   * are believed at most NAMESPACE_TTL_MS late — the same lag Kubernetes'
   * informer-backed namespace lifecycle admission has.
   */
  private readonly openNamespaces = new Map<string, number>();

  private async checkNamespaceOpen(ns: string): Promise<void> {
    const nsType = this.registry.resource('', 'v1', 'namespaces');
    if (!nsType) return;
    const until = this.openNamespaces.get(ns);
    if (until !== undefined && until > Date.now()) return;
    // On every namespaced create: read the text, not the parsed object.
    const kv = await this.store.get(objectKey(nsType, undefined, ns));
    if (!kv) throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    if (kv.value.includes('"deletionTimestamp"'))
      throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`);
    if (this.openNamespaces.size > 10_000) this.openNamespaces.clear();
    this.openNamespaces.set(ns, Date.now() + NAMESPACE_TTL_MS);
  }

  // ---- update / patch ----------------------------------------------------

  /**
   * Read-modify-write with compare-and-swap, retried on conflicts unless the
   * caller pinned a resourceVersion. `mutate` returns the desired object
   * (already admitted) or null to leave the object as it is.
   */
  private async guaranteedUpdate(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    mutate: (current: Stored | null) => Promise<KubeObject | null>,
    o: { retry: boolean; dryRun: boolean; known?: Stored },
  ): Promise<{ stored: Stored; created: boolean }> {
    const key = objectKey(rt, ns, name);
    this.forgetNamespace(rt, name);
    try {
      return await this.updateLoop(rt, ns, name, key, mutate, o);
    } finally {
      this.forgetNamespace(rt, name);
    }
  }

  private forgetNamespace(rt: ResourceType, name: string): void {
    if (rt.kind === 'Namespace' && rt.group === '') this.openNamespaces.delete(name);
  }

  private async updateLoop(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    key: string,
    mutate: (current: Stored | null) => Promise<KubeObject | null>,
    o: { retry: boolean; dryRun: boolean; known?: Stored },
  ): Promise<{ stored: Stored; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      // A caller that holds a recent copy (an informer's) saves the read; if it is stale, the CAS fails and the loop reads.
      let current: Stored | null;
      if (attempt === 0 && o.known) current = o.known;
      else {
        const kv = await this.store.get(key);
        current = kv ? { obj: decode(kv.value, kv.revision), revision: kv.revision } : null;
      }
      const next = await mutate(current);
      if (!next) {
        if (!current) throw notFound(rt, name);
        return { stored: current, created: false };
      }
      // The last finalizer is gone from an object being deleted: remove it.
      const removing = current !== null && Boolean(next.metadata.deletionTimestamp) && pendingFinalizers(rt, next).length === 0;
      const reservation = removing ? undefined : await this.reserve(rt, next, current?.obj, o.dryRun);
      if (o.dryRun) return { stored: { obj: next, revision: current?.revision ?? 0 }, created: !current };
      let result: { stored: Stored; created: boolean };
      try {
        if (!current) {
          result = { stored: await this.insert(rt, ns, next, false), created: true };
        } else if (removing) {
          const revision = await this.store.delete(key, current.revision);
          next.metadata.resourceVersion = String(revision);
          result = { stored: { obj: next, revision }, created: false };
        } else {
          const raw = encode(next);
          const revision = await this.store.update(key, raw, current.revision);
          next.metadata.resourceVersion = String(revision);
          result = { stored: { obj: next, revision, raw }, created: false };
        }
      } catch (e) {
        await reservation?.rollback();
        const retriable = e instanceof RevisionConflictError || e instanceof NotFoundError || e instanceof KeyExistsError;
        // Every round commits one of the contending writers, so retrying makes progress; the bound only stops a runaway.
        if (retriable && o.retry && attempt < MAX_CAS_RETRIES) continue;
        if (retriable) throw staleUpdate(rt, name);
        throw e;
      }
      if (removing) await this.released(rt, next);
      else await reservation?.commit();
      return result;
    }
  }

  /**
   * Turn an incoming full object into the next stored object: immutable
   * metadata kept, status or spec kept depending on the subresource,
   * admission, generation and managedFields. Returns null for a no-op.
   */
  private prepareUpdate(
    rt: ResourceType,
    current: KubeObject,
    incoming: KubeObject,
    ctx: WriteContext,
    subresource: 'status' | 'finalize' | undefined,
    managedFields?: KubeObject['metadata']['managedFields'],
  ): KubeObject | null {
    const old = current;
    const name = old.metadata.name as string;
    if (incoming.metadata.name && incoming.metadata.name !== name)
      throw nameMismatch(incoming.metadata.name, name);
    if (rt.namespaced && incoming.metadata.namespace && incoming.metadata.namespace !== old.metadata.namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...old, status: incoming.status };
      if (incoming.status === undefined) delete next.status;
    } else if (subresource === 'finalize') {
      next = { ...old, spec: { ...(old.spec ?? {}), finalizers: (incoming.spec?.finalizers as unknown[]) ?? [] } };
    } else {
      next = { ...incoming, metadata: { ...incoming.metadata } };
      if (rt.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
    }
    const m = next.metadata;
    if (subresource) next.metadata = { ...old.metadata };
    else {
      m.name = name;
      if (rt.namespaced) m.namespace = old.metadata.namespace;
      else delete m.namespace;
      m.uid = old.metadata.uid;
      m.creationTimestamp = old.metadata.creationTimestamp;
      m.generation = old.metadata.generation;
      if (old.metadata.deletionTimestamp) {
        m.deletionTimestamp = old.metadata.deletionTimestamp;
        if (old.metadata.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
        const added = (m.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
        if (added.length)
          throw new ApiError(422, 'Invalid', `${rt.kind} "${name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`, {
            name,
            kind: rt.kind,
            causes: [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: 'no new finalizers can be added if the object is being deleted' }],
          });
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
    }
    delete next.metadata.resourceVersion;
    if (!subresource) rt.prepareForUpdate?.(next, old);
    admit(this.validator, rt, next, { fieldValidation: ctx.fieldValidation, warnings: ctx.warnings, old });
    if (specOf(next) !== specOf(old)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    next = canonical(next);
    const oldCanon = { ...old, metadata: { ...old.metadata } };
    if (withoutManagedFields(next) === withoutManagedFields(canonical(oldCanon))) {
      if (!managedFields || JSON.stringify(managedFields) === JSON.stringify(old.metadata.managedFields)) return null;
    }
    // A writer that sends managedFields of its own (e.g. [{}] to reset them) has them taken as the base.
    const base = !subresource && incoming.metadata.managedFields !== undefined ? incoming.metadata.managedFields : old.metadata.managedFields;
    next.metadata.managedFields = managedFields ?? managedFieldsForWrite(this.registry, rt, old, next, ctx.manager, base, subresource ?? ctx.viaSubresource);
    return next;
  }

  async update(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext,
    subresource?: 'status' | 'finalize',
  ): Promise<{ stored: Stored; created: boolean }> {
    const incoming = checkTypeMeta(rt, body);
    const pinned = incoming.metadata.resourceVersion;
    if (incoming.metadata.name && incoming.metadata.name !== name)
      throw nameMismatch(incoming.metadata.name, name);
    return this.guaranteedUpdate(
      rt,
      ns,
      name,
      async (current) => {
        if (!current) {
          if (!CREATE_ON_UPDATE.has(rt.plural) || subresource) throw notFound(rt, name);
          const created = await this.create(rt, ns, { ...incoming, metadata: { ...incoming.metadata, name } }, { ...ctx, dryRun: true }, { allocate: false });
          return created.obj;
        }
        if (pinned && pinned !== current.obj.metadata.resourceVersion) throw staleUpdate(rt, name);
        if (incoming.metadata.uid && incoming.metadata.uid !== current.obj.metadata.uid)
          throw uidPreconditionFailed(rt, name, incoming.metadata.uid, current.obj.metadata.uid);
        return this.prepareUpdate(rt, current.obj, structuredClone(incoming), ctx, subresource);
      },
      { retry: !pinned, dryRun: ctx.dryRun },
    );
  }

  /**
   * A write the server makes itself for a subresource that changes spec and
   * status together (pods/binding, instances/binding): `change` gets the
   * stored object and returns the next one, or throws an ApiError to refuse.
   * Retried on conflicts. Like the apiserver's binding storage it is not
   * admitted or tracked in managedFields: the server sets only fields it
   * knows to be valid (a node name, a condition) — and it is the scheduler's
   * hot path.
   */
  async rewrite(rt: ResourceType, ns: string | undefined, name: string, change: (current: KubeObject) => KubeObject, ctx: WriteContext, known?: KubeObject): Promise<Stored> {
    const { stored } = await this.guaranteedUpdate(
      rt,
      ns,
      name,
      async (current) => {
        if (!current) throw notFound(rt, name);
        const next = change(structuredClone(current.obj));
        next.metadata = { ...current.obj.metadata };
        delete next.metadata.resourceVersion;
        return canonical(next);
      },
      { retry: true, dryRun: ctx.dryRun, known: known?.metadata.resourceVersion ? { obj: known, revision: Number(known.metadata.resourceVersion) } : undefined },
    );
    return stored;
  }

  async patch(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    ctx: WriteContext & { force: boolean },
    subresource?: 'status',
  ): Promise<{ stored: Stored; created: boolean }> {
    return this.guaranteedUpdate(
      rt,
      ns,
      name,
      async (current) => {
        if (!current) {
          if (type !== 'apply' || subresource) throw notFound(rt, name);
          const result = applyPatch(this.registry, rt, undefined, type, patch, ctx.manager, ctx.force);
          const obj = checkTypeMeta(rt, result.object);
          if (obj.metadata.name && obj.metadata.name !== name)
            throw nameMismatch(obj.metadata.name, name);
          obj.metadata.name = name;
          const created = await this.create(rt, ns, obj, { ...ctx, dryRun: true }, { allocate: false });
          created.obj.metadata.managedFields = result.managedFields;
          return created.obj;
        }
        const pinned = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
        if (type !== 'json' && typeof pinned === 'string' && pinned !== current.obj.metadata.resourceVersion) throw staleUpdate(rt, name);
        const result = applyPatch(this.registry, rt, current.obj, type, patch, ctx.manager, ctx.force);
        const obj = checkTypeMeta(rt, result.object);
        // A uid in the patched object is a precondition, as for PUT.
        if (obj.metadata.uid && obj.metadata.uid !== current.obj.metadata.uid)
          throw uidPreconditionFailed(rt, name, obj.metadata.uid, current.obj.metadata.uid);
        return this.prepareUpdate(rt, current.obj, obj, ctx, subresource, result.managedFields);
      },
      { retry: true, dryRun: ctx.dryRun },
    );
  }

  // ---- delete ------------------------------------------------------------

  /** Returns the object; `deleted` false when deletion is pending (finalizers, grace). */
  async delete(rt: ResourceType, ns: string | undefined, name: string, o: DeleteOptions): Promise<{ obj: KubeObject; deleted: boolean }> {
    this.forgetNamespace(rt, name);
    try {
      return await this.deleteLoop(rt, ns, name, o);
    } finally {
      this.forgetNamespace(rt, name);
    }
  }

  private async deleteLoop(rt: ResourceType, ns: string | undefined, name: string, o: DeleteOptions): Promise<{ obj: KubeObject; deleted: boolean }> {
    if (isProtected(rt, name)) throw forbidden(`${qualifiedResource(rt)} "${name}" is forbidden: ${rt.deletion?.protectedReason ?? `this ${rt.singular} may not be deleted`}`);
    const key = objectKey(rt, ns, name);
    for (let attempt = 0; ; attempt++) {
      const current = await this.tryGet(rt, ns, name);
      if (!current) throw notFound(rt, name);
      const obj = current.obj;
      checkPreconditions(rt, name, o.preconditions, obj.metadata);
      if (!obj.metadata.deletionTimestamp) await this.checkNotInUse(rt, obj);
      const next = this.markDeleting(rt, obj, o, await this.graceOnNode(rt, obj));
      if (o.dryRun) return { obj: next ?? obj, deleted: !next };
      try {
        if (next) {
          if (JSON.stringify(next) === JSON.stringify(obj)) return { obj, deleted: false };
          const revision = await this.store.update(key, encode(next), current.revision);
          next.metadata.resourceVersion = String(revision);
          return { obj: next, deleted: false };
        }
        const revision = await this.store.delete(key, current.revision);
        obj.metadata.resourceVersion = String(revision);
        await this.released(rt, obj);
        return { obj, deleted: true };
      } catch (e) {
        if ((e instanceof RevisionConflictError || e instanceof NotFoundError) && attempt < MAX_CAS_RETRIES) continue;
        throw e;
      }
    }
  }

  /** Refuses (409) to start deleting an object that others still use (an Image that Pods run from). */
  private async checkNotInUse(rt: ResourceType, obj: KubeObject): Promise<void> {
    const inUseBy = rt.deletion?.inUseBy;
    if (!inUseBy) return;
    const lookup: ObjectLookup = {
      list: async (group, version, plural) => {
        const other = this.registry.resource(group, version, plural);
        if (!other) return [];
        const page = await this.list(other, undefined, { match: () => true });
        return page.items.map((it) => it.obj as KubeObject);
      },
    };
    const users = await inUseBy(obj, lookup);
    if (users.length) throw inUse(rt, obj.metadata.name as string, users);
  }

  /** The grace period when the object's node agent must stop it first (a bound Pod on an existing Node), else undefined. */
  private async graceOnNode(rt: ResourceType, obj: KubeObject): Promise<number | undefined> {
    const stop = rt.deletion?.stoppedByNode?.(obj);
    const nodeType = stop && this.registry.resource('', 'v1', 'nodes');
    if (!stop || !nodeType || !(await this.tryGet(nodeType, undefined, stop.node))) return undefined;
    return stop.graceSeconds;
  }

  /** The object as it should be while its deletion waits, or null to remove it now. */
  private markDeleting(rt: ResourceType, obj: KubeObject, o: DeleteOptions, nodeGrace: number | undefined): KubeObject | null {
    const next = structuredClone(obj);
    delete next.metadata.resourceVersion;
    const m = next.metadata;
    let finalizers = [...(m.finalizers ?? [])];
    const first = !m.deletionTimestamp;
    if (first) {
      if (o.propagationPolicy === 'Foreground') finalizers = [...finalizers.filter((f) => f !== 'orphan'), 'foregroundDeletion'];
      else if (o.propagationPolicy === 'Orphan') finalizers = [...finalizers.filter((f) => f !== 'foregroundDeletion'), 'orphan'];
      finalizers = [...new Set(finalizers)];
    }
    if (finalizers.length) m.finalizers = finalizers;
    // An object its node agent stops goes when the agent is done (or at once with gracePeriodSeconds=0).
    const graceful = nodeGrace !== undefined && o.gracePeriodSeconds !== 0;
    if (first) rt.deletion?.onStart?.(next);
    if (!pendingFinalizers(rt, next).length && !graceful) return null;
    if (first) {
      const grace = graceful ? (o.gracePeriodSeconds ?? nodeGrace) : 0;
      m.deletionTimestamp = rfc3339(Date.now() + grace * 1000);
      m.deletionGracePeriodSeconds = grace;
      // Starting deletion is a change of desired state: Kubernetes bumps generation here.
      if ((m.generation ?? 0) > 0) m.generation = (m.generation as number) + 1;
    } else if (graceful && o.gracePeriodSeconds !== undefined && o.gracePeriodSeconds < (m.deletionGracePeriodSeconds ?? Infinity)) {
      m.deletionGracePeriodSeconds = o.gracePeriodSeconds;
    }
    return next;
  }
}
