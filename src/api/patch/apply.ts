// Server-side apply (application/apply-patch+yaml). The applier owns exactly
// the fields of its applied configuration:
// - the configuration is merged into the live object by the schema;
// - fields it applied last time and no longer applies are removed, unless
//   another manager (or its own new configuration) owns them;
// - changing a field another manager owns is a conflict, unless forced, in
//   which case the applier takes the field over.
import type { Schema } from '../../apis/schema.js';
import type { ManagedFieldsEntry } from '../../apis/types.js';
import { ApplyConflictError, PatchError, type ApplyConflict } from './errors.js';
import { FieldSet, pathString } from './fieldset.js';
import { cloneJson, isObject, preview, type JsonObject } from './json.js';
import {
  NEVER_OWNED,
  NOT_COMPARED,
  decodeManagedFields,
  describeManager,
  encodeManagedFields,
  formatTime,
  identity,
  type Manager,
} from './managed-fields.js';
import { SchemaNav, type Resolve } from './schema-nav.js';
import { compareObjects, isUnchanged } from './ssa-compare.js';
import { configFieldSet, fieldPaths, withNamedFields } from './ssa-fieldset.js';
import { mergeApplied, removeFields } from './ssa-merge.js';

/** Kubernetes' name for the owner of fields that existed before anyone applied. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';

export interface ApplyOptions {
  /** The stored object; undefined when the apply creates it. Not modified. */
  live: unknown;
  /** The parsed apply configuration. Not modified. */
  applied: unknown;
  manager: string;
  /** Take over conflicting fields instead of failing. */
  force?: boolean;
  /** The kind's schema, and how to follow its $refs. */
  schema: Schema;
  resolve: Resolve;
  /** Version of the resource the configuration is written in, e.g. "apps/v1". */
  apiVersion: string;
  /** RFC 3339 time (or a Date) recorded on the applier's entry. */
  now: string | Date;
  /** Set when applying to a subresource such as "status". */
  subresource?: string;
  /**
   * Top-level field paths this endpoint does not let the caller change, e.g.
   * [['status']] on the main resource of a kind with a status subresource.
   * They are neither owned nor compared.
   */
  ignoreFields?: string[][];
}

export interface ApplyResult {
  /** The merged object, its metadata.managedFields already set. */
  object: JsonObject;
  managedFields: ManagedFieldsEntry[];
  /** False when neither the object nor its ownership changed (Kubernetes then skips the write). */
  changed: boolean;
}

export function serverSideApply(o: ApplyOptions): ApplyResult {
  const { applied, manager } = o;
  if (!isObject(applied)) throw new PatchError(`an apply configuration must be an object, got ${preview(applied, 60)}`);
  const appliedMeta = applied.metadata;
  if (isObject(appliedMeta) && appliedMeta.managedFields !== undefined && appliedMeta.managedFields !== null)
    throw new PatchError('metadata.managedFields must be nil');
  if (!manager) throw new PatchError('fieldManager is required for apply requests');

  const nav = new SchemaNav(o.resolve);
  const schema = nav.resolve(o.schema);
  const time = formatTime(o.now);
  const ignored = o.ignoreFields?.length ? fieldPaths(o.ignoreFields) : undefined;
  const notCompared = ignored ? FieldSet.unionShared(NOT_COMPARED, ignored) : NOT_COMPARED;
  const live = isObject(o.live) ? o.live : undefined;

  // What the applier will own; unstripped for now, so identifying fields
  // (metadata.name...) count as its own when deciding what to prune.
  const applying = FieldSet.withoutSubtreesShared(configFieldSet(nav, applied, schema), ignored);

  let managers = decodeManagedFields(live && isObject(live.metadata) ? live.metadata.managedFields : undefined);
  if (live && managers.length === 0) managers = [beforeFirstApply(nav, live, schema, o.apiVersion, time, notCompared)];
  const selfId = identity({ manager, operation: 'Apply', apiVersion: o.apiVersion, subresource: o.subresource });
  const previous = managers.find((m) => identity(m) === selfId);
  const others = managers.filter((m) => m !== previous);

  // The sets here share structure (FieldSet.unionShared...): none is modified once made.
  // The one copy of the live object; merging and pruning happen in it.
  const merged = mergeApplied(nav, live ? cloneJson(live) : undefined, applied, schema) as JsonObject;
  if (previous) prune(nav, merged, schema, previous.set, [applying, NEVER_OWNED, ...others.map((m) => m.set)]);

  const diff = compareObjects(nav, live, merged, schema, notCompared);
  const changedPaths = FieldSet.unionShared(diff.added, diff.modified);
  const conflicts: Array<{ owner: Manager; fields: FieldSet }> = [];
  for (const m of others) {
    const fields = m.set.intersection(changedPaths);
    if (!fields.isEmpty()) conflicts.push({ owner: m, fields });
  }
  if (conflicts.length && !o.force) throw conflictError(conflicts);

  const next: Manager[] = [];
  for (const m of others) {
    const taken = conflicts.find((c) => c.owner === m)?.fields;
    next.push({ ...m, set: FieldSet.differenceShared(FieldSet.differenceShared(m.set, taken), diff.removed) });
  }
  const objectChanged = !isUnchanged(diff);
  next.push({
    manager,
    operation: 'Apply',
    apiVersion: o.apiVersion,
    subresource: o.subresource,
    // Kubernetes moves the time only when the apply changed the object.
    time: objectChanged || !previous?.time ? time : previous.time,
    set: FieldSet.differenceShared(applying, NEVER_OWNED),
  });
  const managedFields = encodeManagedFields(next);
  if (!isObject(merged.metadata)) merged.metadata = {};
  const meta = merged.metadata as JsonObject;
  if (managedFields.length) meta.managedFields = managedFields;
  else delete meta.managedFields;
  return { object: merged, managedFields, changed: objectChanged || ownershipChanged(managers, next) };
}

/**
 * Remove what the applier owned last time unless some set still claims it.
 * A declared field survives while anything inside it is owned; a list item
 * or map entry only while it is owned itself.
 */
function prune(nav: SchemaNav, merged: JsonObject, schema: Schema | undefined, last: FieldSet, claimed: FieldSet[]): void {
  if (last.isEmpty()) return;
  const owned = claimed.reduce((acc, s) => FieldSet.unionShared(acc, s));
  const gone = FieldSet.differenceShared(withNamedFields(nav, last, schema), withNamedFields(nav, owned, schema));
  removeFields(nav, merged, gone, schema);
}

/** Whether the managers (ignoring ones left empty) differ in membership, times or sets. */
function ownershipChanged(before: Manager[], after: Manager[]): boolean {
  const live = (ms: Manager[]) => new Map(ms.filter((m) => !m.set.isEmpty()).map((m) => [identity(m), m]));
  const a = live(before);
  const b = live(after);
  if (a.size !== b.size) return true;
  for (const [id, m] of a) {
    const n = b.get(id);
    if (!n || n.time !== m.time || !n.set.equals(m.set)) return true;
  }
  return false;
}

/** An object nobody has managed yet: its current fields belong to "before-first-apply". */
function beforeFirstApply(nav: SchemaNav, live: JsonObject, schema: Schema | undefined, apiVersion: string, time: string, notCompared: FieldSet): Manager {
  const { added } = compareObjects(nav, undefined, live, schema, notCompared);
  return { manager: BEFORE_FIRST_APPLY, operation: 'Update', apiVersion, time, set: FieldSet.differenceShared(added, NEVER_OWNED) };
}

/** Kubernetes' 409 message, e.g. `Apply failed with 1 conflict: conflict with "x" using v1: .spec.replicas`. */
function conflictError(found: Array<{ owner: Manager; fields: FieldSet }>): ApplyConflictError {
  const list: ApplyConflict[] = [];
  const groups = found
    .map(({ owner, fields }) => ({ who: describeManager(owner), owner, paths: fields.paths().map(pathString) }))
    .sort((a, b) => (a.who < b.who ? -1 : a.who > b.who ? 1 : 0));
  for (const g of groups) for (const field of g.paths) list.push({ manager: g.owner.manager, field, message: `conflict with ${g.who}` });
  let message: string;
  if (list.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${groups[0].who}: ${list[0].field}`;
  } else {
    const lines = groups.flatMap((g) => [`conflicts with ${g.who}:`, ...g.paths.map((p) => `- ${p}`)]);
    message = `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApplyConflictError(list, message);
}
