// Bridges the patch library (pure functions over schemas) to the resource
// service: picks the patch algorithm by content type, maps its errors to
// Kubernetes Status codes, and keeps metadata.managedFields current.
import type { Registry } from '../../apis/registry.js';
import type { KubeObject, ManagedFieldsEntry, ResourceType } from '../../apis/types.js';
import { apiVersionOf } from '../../apis/types.js';
import {
  ApplyConflictError,
  PatchError,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  serverSideApply,
  trackUpdate,
} from '../patch/index.js';
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
      if (e.code === 422) throw new ApiError(422, 'Invalid', `${rt.kind} "${name}" is invalid: ${e.message}`, { name, kind: rt.kind });
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
        const r = serverSideApply({
          live: current,
          applied: patch as Record<string, unknown>,
          manager,
          force,
          schema,
          resolve,
          apiVersion: apiVersionOf(rt),
          now: rfc3339(),
          ignoreFields: ignoredFields(rt),
        });
        return { object: r.object, managedFields: r.managedFields };
      }
    }
  });
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
    subresource: subresource === 'status' ? 'status' : undefined,
    apiVersion: apiVersionOf(rt),
    now: rfc3339(),
    schema: registry.definitions[rt.definition],
    resolve: registry.resolve.bind(registry),
    ignoreFields: subresource === 'status' ? undefined : ignoredFields(rt),
  });
  return entries.length ? entries : undefined;
}
