// Bridges the patch library (pure functions over schemas) to the resource
// service: picks the patch algorithm by content type, maps its errors to
// Kubernetes Status codes, and keeps metadata.managedFields current.
import type { Registry } from '../../apis/registry.js';
import type { KubeObject, ManagedFieldsEntry, ResourceType } from '../../apis/types.js';
import { apiVersionOf } from '../../apis/types.js';
import {
  ApplyConflictError,
  PatchError,
  type ApplyConflict,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  serverSideApply,
  trackUpdate,
} from '../patch/index.js';
import { pathString } from '../patch/fieldset.js';
import { SchemaNav } from '../patch/schema-nav.js';
import { compareObjects } from '../patch/ssa-compare.js';
import { configFieldSet } from '../patch/ssa-fieldset.js';
import type { Schema } from '../../apis/schema.js';
import { rfc3339 } from './clock.js';
import { ApiError, badRequest } from '../status.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchResult {
  object: unknown;
  /** Set by apply, which computes ownership itself. */
  managedFields?: ManagedFieldsEntry[];
}

function wrap<T>(rt: ResourceType, name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ApplyConflictError) {
      // The library words the message as Kubernetes does ("Apply failed with 1 conflict: conflict with ... using apps/v1: .spec.replicas").
      throw new ApiError(409, 'Conflict', e.message, {
        name,
        group: rt.group,
        kind: rt.plural,
        causes: e.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: c.message, field: c.field })),
      });
    }
    if (e instanceof PatchError) {
      // kubectl prints an Invalid status as `The <Kind> "<name>" is invalid` plus
      // its causes, never the message: the reason must be a cause too.
      if (e.code === 422)
        throw new ApiError(422, 'Invalid', `${rt.kind} "${name}" is invalid: ${e.message}`, {
          name,
          kind: rt.kind,
          causes: [{ reason: 'FieldValueInvalid', message: e.message, field: 'patch' }],
        });
      throw badRequest(e.message);
    }
    throw e;
  }
}

export function applyPatch(
  registry: Registry,
  rt: ResourceType,
  current: KubeObject | undefined,
  type: PatchType,
  patch: unknown,
  manager: string,
  force: boolean,
): PatchResult {
  const name = current?.metadata.name ?? String((patch as { metadata?: { name?: unknown } })?.metadata?.name ?? '');
  const schema = registry.definitions[rt.definition];
  const resolve = registry.resolve.bind(registry);
  if (type !== 'json' && (patch === null || typeof patch !== 'object' || Array.isArray(patch)))
    throw badRequest(`the ${type} patch must be a JSON object`);
  return wrap(rt, name, () => {
    switch (type) {
      case 'json':
        return { object: applyJsonPatch(current, patch) };
      case 'merge':
        return { object: applyMergePatch(current, patch) };
      case 'strategic':
        return { object: applyStrategicMergePatch(current, patch, schema, resolve) };
      case 'apply': {
        const run = (forced: boolean) =>
          serverSideApply({
            live: current,
            applied: patch as Record<string, unknown>,
            manager,
            force: forced,
            schema,
            resolve,
            apiVersion: apiVersionOf(rt),
            now: rfc3339(),
            ignoreFields: ignoredFields(rt),
          });
        let r: ReturnType<typeof run>;
        try {
          r = run(force);
        } catch (e) {
          if (!(e instanceof ApplyConflictError) || manager !== KUBECTL_MANAGER || !current) throw e;
          r = run(upgradeFromClientSideApply(e, current, schema, resolve));
        }
        if (manager === KUBECTL_MANAGER) syncLastApplied(r.object, patch as Record<string, unknown>);
        return { object: r.object, managedFields: r.managedFields };
      }
    }
  });
}

// Moving from client-side to server-side apply (Kubernetes' lastAppliedManager
// and lastAppliedUpdater, for the "kubectl" manager only): `kubectl apply
// --server-side` on an object last applied client-side may take over fields
// it conflicts on when they still hold the values of the last-applied
// annotation; and while that annotation exists, server-side applies keep it
// current so that a later client-side apply computes the right patch.
const KUBECTL_MANAGER = 'kubectl';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const ANNOTATIONS_SIZE_LIMIT = 256 * 1024;

/** True (retry forced) when every conflict is allowed by the last-applied annotation; else throws the conflicts that are not. */
function upgradeFromClientSideApply(e: ApplyConflictError, live: KubeObject, schema: Schema, resolve: (s: Schema) => Schema): true {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (!text) throw e;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    throw e;
  }
  let allowed: Set<string>;
  try {
    const nav = new SchemaNav(resolve);
    const s = nav.resolve(schema);
    // Only fields that have not changed since they were last applied.
    const unchanged = configFieldSet(nav, lastApplied, s).difference(compareObjects(nav, lastApplied, live, s).modified);
    allowed = new Set(unchanged.paths().map(pathString));
  } catch {
    throw e;
  }
  const remaining = e.conflicts.filter((c) => !allowed.has(c.field));
  if (!remaining.length) return true;
  if (remaining.length === e.conflicts.length) throw e;
  throw conflictsError(remaining);
}

/** Kubernetes' message for a set of conflicts (as the patch library words it). */
function conflictsError(list: ApplyConflict[]): ApplyConflictError {
  if (list.length === 1) return new ApplyConflictError(list, `Apply failed with 1 conflict: ${list[0].message}: ${list[0].field}`);
  const groups = new Map<string, string[]>();
  for (const c of list) groups.set(c.message, [...(groups.get(c.message) ?? []), c.field]);
  const lines = [...groups].flatMap(([m, fields]) => [`${m.replace(/^conflict with /, 'conflicts with ')}:`, ...fields.map((f) => `- ${f}`)]);
  return new ApplyConflictError(list, `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`);
}

/** Replace an existing last-applied annotation with the configuration just applied. */
function syncLastApplied(merged: Record<string, unknown>, applied: Record<string, unknown>): void {
  const meta = merged.metadata as { annotations?: Record<string, string> } | undefined;
  if (!meta?.annotations?.[LAST_APPLIED]) return;
  const config = structuredClone(applied) as { metadata?: { annotations?: Record<string, string> } };
  if (config.metadata?.annotations) delete config.metadata.annotations[LAST_APPLIED];
  meta.annotations[LAST_APPLIED] = `${JSON.stringify(sortKeys(config))}\n`;
  const size = Object.entries(meta.annotations).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (size > ANNOTATIONS_SIZE_LIMIT) delete meta.annotations[LAST_APPLIED];
}

/** JSON with object keys in order, as Go encodes maps. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
  );
}

/** Writes to the main resource do not own status when status is written through its own subresource. */
function ignoredFields(rt: ResourceType): string[][] | undefined {
  return rt.statusSubresource ? [['status']] : undefined;
}

/** managedFields after a create/update/patch by `manager`. */
export function managedFieldsForWrite(
  registry: Registry,
  rt: ResourceType,
  old: KubeObject | undefined,
  next: KubeObject,
  manager: string,
  existing: ManagedFieldsEntry[] | undefined,
  subresource?: string,
): ManagedFieldsEntry[] | undefined {
  const entries = trackUpdate({
    old: old ? { ...old, metadata: { ...old.metadata, managedFields: existing } } : undefined,
    updated: { ...next, metadata: { ...next.metadata, managedFields: existing } },
    manager,
    operation: 'Update',
    subresource: subresource === 'status' || subresource === 'scale' ? subresource : undefined,
    apiVersion: apiVersionOf(rt),
    now: rfc3339(),
    schema: registry.definitions[rt.definition],
    resolve: registry.resolve.bind(registry),
    ignoreFields: subresource === 'status' ? undefined : ignoredFields(rt),
  });
  return entries.length ? entries : undefined;
}
