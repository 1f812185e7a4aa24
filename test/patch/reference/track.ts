// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// Ownership after a write that is not an apply (create, update, any patch
// but apply): the writer takes every field it changed, including from other
// managers, and fields that disappeared leave everyone's sets.
import type { Schema } from '../../../src/apis/schema.js';
import type { ManagedFieldsEntry } from '../../../src/apis/types.js';
import { isObject } from './json.js';
import { NEVER_OWNED, NOT_COMPARED, encodeManagedFields, formatTime, identity, startingManagers, type Manager } from './managed-fields.js';
import { SchemaNav, type Resolve } from './schema-nav.js';
import { compareObjects } from './ssa-compare.js';
import { fieldPaths } from './ssa-fieldset.js';

export interface TrackUpdateOptions {
  /** The object before the write; undefined on create. */
  old: unknown;
  /** The object about to be stored. */
  updated: unknown;
  manager: string;
  operation?: 'Update';
  /** Set for writes to a subresource such as "status". */
  subresource?: string;
  /** Version of the resource the request was written in, e.g. "v1". */
  apiVersion: string;
  /** RFC 3339 time (or a Date) recorded when the writer's entry changes. */
  now: string | Date;
  schema: Schema;
  resolve: Resolve;
  /** Top-level field paths the endpoint does not let the caller change, e.g. [['status']]; never owned. */
  ignoreFields?: string[][];
}

/**
 * The managedFields to store with `updated`. They start from
 * `updated.metadata.managedFields` when the request set them (all-empty
 * entries reset them; ignored for subresources), else from `old`'s.
 */
export function trackUpdate(o: TrackUpdateOptions): ManagedFieldsEntry[] {
  const nav = new SchemaNav(o.resolve);
  const schema = nav.resolve(o.schema);
  const ignored = o.ignoreFields?.length ? fieldPaths(o.ignoreFields) : undefined;
  // Writes to a subresource cannot set managedFields; the stored ones count.
  const requested = o.subresource ? undefined : metaOf(o.updated)?.managedFields;
  const managers = startingManagers(requested, metaOf(o.old)?.managedFields);

  const diff = compareObjects(nav, o.old, o.updated, schema, ignored ? NOT_COMPARED.union(ignored) : NOT_COMPARED);
  const taken = diff.added.union(diff.modified).difference(NEVER_OWNED);
  const self = { manager: o.manager, operation: 'Update' as const, apiVersion: o.apiVersion, subresource: o.subresource || undefined };
  const selfId = identity(self);

  const next: Manager[] = [];
  let previous: Manager | undefined;
  for (const m of managers) {
    if (identity(m) === selfId) previous = m;
    else next.push({ ...m, set: m.set.difference(taken).difference(diff.removed) });
  }
  const kept = previous ? previous.set.difference(diff.removed) : undefined;
  if (!taken.isEmpty()) {
    // Kubernetes stamps the writer's entry only when the write gave it fields.
    next.push({ ...self, time: formatTime(o.now), set: kept ? kept.union(taken) : taken });
  } else if (previous && kept) {
    next.push({ ...previous, set: kept });
  }
  return encodeManagedFields(next);
}

function metaOf(obj: unknown): Record<string, unknown> | undefined {
  return isObject(obj) && isObject(obj.metadata) ? obj.metadata : undefined;
}
