// Ownership after a write that is not an apply (create, update, any patch
// but apply): the writer takes every field it changed, including from other
// managers, and fields that disappeared leave everyone's sets.
import type { Schema } from '../../apis/schema.js';
import type { ManagedFieldsEntry } from '../../apis/types.js';
import { FieldSet, sortedFieldKeys, sortedIndexes } from './fieldset.js';
import { isObject, type JsonObject } from './json.js';
import { NEVER_OWNED, NOT_COMPARED, encodeEntry, encodeManagedFields, formatTime, identity, startingManagers, type Manager } from './managed-fields.js';
import { SchemaNav, declaredFields, type Resolve } from './schema-nav.js';
import { atomOf, itemElements } from './ssa-atoms.js';
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
  const ignore = ignored ? FieldSet.unionShared(NOT_COMPARED, ignored) : NOT_COMPARED;
  // Writes to a subresource cannot set managedFields; the stored ones count.
  const requested = o.subresource ? undefined : metaOf(o.updated)?.managedFields;
  const managers = startingManagers(requested, metaOf(o.old)?.managedFields);
  const self = { manager: o.manager, operation: 'Update' as const, apiVersion: o.apiVersion, subresource: o.subresource || undefined };

  // A create with no managedFields to start from (the usual create): the
  // writer's entry is everything in the object, written out in one pass.
  if ((o.old === undefined || o.old === null) && managers.length === 0 && isObject(o.updated) && atomOf(nav, schema, o.updated).kind === 'map') {
    const fieldsV1 = createdFields(nav, o.updated, schema, ignore);
    return fieldsV1 ? [encodeEntry({ ...self, time: formatTime(o.now) }, fieldsV1)] : [];
  }

  // The sets below share structure (see FieldSet.unionShared): none is modified once made.
  const diff = compareObjects(nav, o.old, o.updated, schema, ignore);
  const taken = FieldSet.differenceShared(FieldSet.unionShared(diff.added, diff.modified), NEVER_OWNED);
  const selfId = identity(self);

  const next: Manager[] = [];
  let previous: Manager | undefined;
  for (const m of managers) {
    if (identity(m) === selfId) previous = m;
    else next.push({ ...m, set: FieldSet.differenceShared(FieldSet.differenceShared(m.set, taken), diff.removed) });
  }
  const kept = previous ? FieldSet.differenceShared(previous.set, diff.removed) : undefined;
  if (!taken.isEmpty()) {
    // Kubernetes stamps the writer's entry only when the write gave it fields.
    next.push({ ...self, time: formatTime(o.now), set: kept ? FieldSet.unionShared(kept, taken) : taken });
  } else if (previous && kept) {
    next.push({ ...previous, set: kept });
  }
  return encodeManagedFields(next);
}

/**
 * FieldsV1 of a create: what compareObjects({}, obj) finds added (every path
 * in the object, each a member, but paths under a member of `ignore`), less
 * the members of NEVER_OWNED, encoded - built directly, without the
 * intermediate set. Undefined when nothing is left.
 */
function createdFields(nav: SchemaNav, obj: JsonObject, s: Schema | undefined, ignore: FieldSet): Record<string, unknown> | undefined {
  // The root itself is compared, not added: only its entries are members.
  let out: Record<string, unknown> | undefined;
  const props = s && declaredFields(s);
  for (const k of sortedFieldKeys(obj)) {
    const d = props && props.get(k);
    const pe = d ? d.pe : `f:${k}`;
    const ig = ignore.child(pe);
    if (ig?.member) continue;
    const c = addedFields(nav, obj[k], d ? nav.declared(d) : nav.additional(s), ig, NEVER_OWNED.child(pe));
    if (c) (out ??= {})[pe] = c;
  }
  return out;
}

/**
 * FieldsV1 of an added value: it and everything in it, but what is under a
 * member of `ignore`; members of `never` are not members (their children
 * still count). As FieldSet.toFieldsV1 writes it: "." first when the node is
 * a member with children, then the children in Kubernetes' order. Undefined
 * when empty (not a member, no children), as set difference drops such nodes.
 */
function addedFields(nav: SchemaNav, v: unknown, s: Schema | undefined, ignore: FieldSet | undefined, never: FieldSet | undefined): Record<string, unknown> | undefined {
  const member = !never?.member;
  let out: Record<string, unknown> | undefined;
  if (typeof v === 'object' && v !== null) {
    const atom = atomOf(nav, s, v);
    if (atom.kind === 'map') {
      const o = v as JsonObject;
      const ms = atom.schema;
      const props = ms && declaredFields(ms);
      for (const k of sortedFieldKeys(o)) {
        const d = props && props.get(k);
        const pe = d ? d.pe : `f:${k}`;
        const ig = ignore?.child(pe);
        if (ig?.member) continue;
        const c = addedFields(nav, o[k], d ? nav.declared(d) : nav.additional(ms), ig, never?.child(pe));
        if (!c) continue;
        if (!out) {
          out = {};
          if (member) out['.'] = {};
        }
        out[pe] = c;
      }
    } else if (atom.kind === 'list') {
      const list = v as unknown[];
      const pes = itemElements(list, atom);
      // Items without identities: the list is a leaf.
      if (typeof pes !== 'string') {
        for (const i of sortedIndexes(pes)) {
          const c = addedFields(nav, list[i], atom.items, undefined, never?.child(pes[i]));
          if (!c) continue;
          if (!out) {
            out = {};
            if (member) out['.'] = {};
          }
          out[pes[i]] = c;
        }
      }
    }
  }
  return out ?? (member ? {} : undefined);
}

function metaOf(obj: unknown): Record<string, unknown> | undefined {
  return isObject(obj) && isObject(obj.metadata) ? obj.metadata : undefined;
}
