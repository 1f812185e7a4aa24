// Kubernetes strategic merge patch (application/strategic-merge-patch+json).
// Like a JSON merge patch, except that the schema says how lists merge:
// - lists with x-kubernetes-patch-merge-key merge their items by that key;
// - lists of scalars with patch strategy "merge" merge as ordered sets;
// - every other list is replaced.
// Directives in the patch: `$patch: replace | delete | merge` on maps and on
// items of merged lists, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
// `$setElementOrder/<field>`. Untyped parts (preserve-unknown-fields, fields the
// schema does not describe) merge as an RFC 7386 merge patch.
import type { Schema } from '../../apis/schema.js';
import { PatchError } from './errors.js';
import { cloneJson, getOwn, isObject, jsonEqual, preview, setOwn, type JsonObject } from './json.js';
import { mergeInto } from './merge-patch.js';
import { SchemaNav, isArraySchema, patchMergeKey, patchStrategies, type Resolve } from './schema-nav.js';
import {
  DELETE_FROM_PRIMITIVE_LIST,
  PATCH,
  RETAIN_KEYS,
  SET_ELEMENT_ORDER,
  at,
  checkOrderConsistent,
  deleteFromPrimitiveList,
  fieldOf,
  requireKey,
  retainKeys,
} from './smp-directives.js';
import { ServerOrderView, mergeScalars, orderMerged, type Identity } from './smp-order.js';

/** The result of merging into a key that should not exist afterwards. */
const ABSENT = Symbol('absent');
/** A merged JSON value, or ABSENT. */
type Merged = unknown;

/**
 * Apply a strategic merge patch. `schema` describes `original` (usually a
 * kind's definition); `resolve` follows $ref. Neither input is modified.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown, schema: Schema, resolve: Resolve): unknown {
  if (!isObject(patch)) throw new PatchError(`a strategic merge patch must be a JSON object, got ${preview(patch, 60)}`);
  const merger = new StrategicMerger(new SchemaNav(resolve));
  // The one deep copy: everything below merges into it in place.
  const base = isObject(original) ? cloneJson(original) : undefined;
  const out = merger.object(base, patch, merger.nav.resolve(schema), '');
  return out === ABSENT ? {} : out;
}

class StrategicMerger {
  constructor(readonly nav: SchemaNav) {}

  /** Merge patch value `p` into `orig` (ours to modify) under schema `s` (resolved; undefined = untyped). */
  value(orig: unknown, p: unknown, s: Schema | undefined, path: string): Merged {
    if (!s) {
      if (isObject(p)) return mergeInto(isObject(orig) ? orig : {}, p);
      return cloneJson(p);
    }
    if (isObject(p)) {
      // A map field with patch strategy "replace" takes the patch as is.
      const keep = isObject(orig) && !patchStrategies(s).includes('replace');
      return this.object(keep ? orig : undefined, p, s, path);
    }
    if (Array.isArray(p)) {
      if (isMergeList(s)) return this.mergeList(Array.isArray(orig) ? orig : undefined, p, s, path).list;
      return this.replaceList(p, s, path);
    }
    return p;
  }

  object(orig: JsonObject | undefined, p: JsonObject, s: Schema | undefined, path: string): Merged {
    const directive = p[PATCH];
    if (directive !== undefined) {
      if (directive === 'delete') return orig === undefined ? ABSENT : {};
      if (directive === 'replace') orig = undefined;
      else if (directive !== 'merge') throw new PatchError(`${at(path)}unknown patch directive ${PATCH}: ${preview(directive, 40)} (expected replace, delete or merge)`);
    }
    if (!s) return mergeInto(orig ?? {}, withoutKey(p, PATCH));
    const result = orig ?? {};

    if (p[RETAIN_KEYS] !== undefined) retainKeys(result, p, path);
    const handled = new Set<string>();
    for (const key of Object.keys(p)) {
      if (!key.startsWith('$') || key === PATCH || key === RETAIN_KEYS) continue;
      if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) deleteFromPrimitiveList(result, fieldOf(key, DELETE_FROM_PRIMITIVE_LIST, path), p[key], path);
      else if (!key.startsWith(SET_ELEMENT_ORDER)) throw new PatchError(`${at(path)}unknown patch directive ${preview(key, 60)}`);
    }
    // After deletions, so the server order the lists are sorted by is the one that remains.
    for (const key of Object.keys(p)) {
      if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
      const field = fieldOf(key, SET_ELEMENT_ORDER, path);
      if (this.setElementOrder(result, field, p, s, `${path}.${field}`)) handled.add(field);
    }

    for (const key of Object.keys(p)) {
      if (key.startsWith('$') || handled.has(key)) continue;
      const pv = p[key];
      if (pv === null) {
        delete result[key];
        continue;
      }
      const merged = this.value(getOwn(result, key), pv, this.nav.field(s, key), `${path}.${key}`);
      if (merged === ABSENT) delete result[key];
      else setOwn(result, key, merged);
    }
    return result;
  }

  /**
   * A list with patch strategy "merge": maps by merge key, scalars as an
   * ordered set. Also returns the server order $setElementOrder sorts by.
   */
  private mergeList(orig: unknown[] | undefined, p: unknown[], s: Schema, path: string): { list: unknown[]; serverOrder: unknown[] } {
    const all = orig ? orig.concat(p) : p;
    if (all.some(Array.isArray)) throw new PatchError(`${at(path)}lists of lists cannot be merged`, 422);
    if (!all.some(isObject)) return { list: mergeScalars(orig ?? [], p), serverOrder: orig ?? [] };

    const key = patchMergeKey(s);
    if (!key) throw new PatchError(`${at(path)}cannot merge a list of objects without a merge key`, 422);
    const itemSchema = this.nav.items(s);
    const id: Identity = (x) => (isObject(x) ? x[key] : undefined);
    let base = orig ? orig.slice() : [];
    const view = new ServerOrderView(base);
    const items: JsonObject[] = [];
    let replace = false;
    for (const raw of p) {
      if (!isObject(raw)) throw new PatchError(`${at(path)}expected objects in a list merged by ${key}, got ${preview(raw, 60)}`, 422);
      const d = raw[PATCH];
      if (d === undefined || d === 'merge') {
        // `$patch: merge` is the default spelled out; alone it names nothing.
        if (d === undefined || Object.keys(raw).length > 1) items.push(raw);
      } else if (d === 'delete') {
        const v = requireKey(raw, key, path);
        const matches = (x: unknown) => isObject(x) && jsonEqual(x[key], v);
        base = base.filter((x) => !matches(x));
        view.remove(matches);
      } else if (d === 'replace') {
        replace = true;
      } else {
        throw new PatchError(`${at(path)}unknown patch directive ${PATCH}: ${preview(d, 40)} in a list item`);
      }
    }
    if (replace) {
      // The list becomes exactly the other items of the patch, in their order.
      base = [];
      for (const raw of items) {
        const v = this.object(undefined, raw, itemSchema, itemPath(path, key, raw[key]));
        if (v !== ABSENT) base.push(v);
      }
      return { list: base, serverOrder: view.order };
    }
    const serverOrder = base.slice();
    for (const raw of items) {
      const v = requireKey(raw, key, path);
      const i = base.findIndex((x) => isObject(x) && jsonEqual(x[key], v));
      const merged = this.object(i >= 0 ? (base[i] as JsonObject) : undefined, raw, itemSchema, itemPath(path, key, v));
      if (merged === ABSENT) continue;
      if (i >= 0) base[i] = merged;
      else {
        base.push(merged);
        view.append(merged);
      }
    }
    return { list: orderMerged(base, items, serverOrder, id), serverOrder: view.order };
  }

  /** A list that the patch replaces; nested maps still lose their directives and nulls. */
  private replaceList(p: unknown[], s: Schema, path: string): unknown[] {
    const itemSchema = isArraySchema(s) ? this.nav.items(s) : undefined;
    const out: unknown[] = [];
    p.forEach((item, i) => {
      const v = this.value(undefined, item, itemSchema, `${path}[${i}]`);
      if (v !== ABSENT) out.push(v);
    });
    return out;
  }

  /**
   * `$setElementOrder/<field>`: merge the field's list (if patched) and then
   * order it: listed items as listed, server-only items where they were.
   * Returns whether the field's patch value has been consumed.
   */
  private setElementOrder(result: JsonObject, field: string, p: JsonObject, s: Schema, path: string): boolean {
    const order = p[SET_ELEMENT_ORDER + field];
    if (!Array.isArray(order)) throw new PatchError(`${at(path)}${SET_ELEMENT_ORDER}${field} must be a list`);
    const listSchema = this.nav.field(s, field);
    const key = patchMergeKey(listSchema);
    const has = Object.prototype.hasOwnProperty.call(p, field);
    const patchList = getOwn(p, field);
    if (has && !Array.isArray(patchList)) return false; // null or a non-list: handled as a plain value
    const current = getOwn(result, field);
    const orig = Array.isArray(current) ? current : undefined;
    if (!orig && !has) return true;

    const id: Identity = (x) => (key && isObject(x) ? x[key] : x);
    const usesKeys = !!key && order.some(isObject);
    if (usesKeys) {
      for (const o of order) requireKey(o, key, path);
      if (Array.isArray(patchList)) for (const item of patchList) if (!isObject(item) || item[PATCH] === undefined) requireKey(item, key, path);
    }
    if (Array.isArray(patchList)) checkOrderConsistent(patchList, order, id, path);

    let merged: unknown;
    let serverOrder = orig ?? [];
    if (!has) merged = orig;
    else if (orig && Array.isArray(patchList) && isMergeList(listSchema)) ({ list: merged, serverOrder } = this.mergeList(orig, patchList, listSchema, path));
    else merged = this.value(orig, patchList, listSchema, path);
    if (!Array.isArray(merged)) return true;
    if (merged.some(isObject) && !usesKeys) {
      setOwn(result, field, merged); // maps without a merge key have no identity to order by
      return true;
    }
    setOwn(result, field, orderMerged(merged, order, serverOrder, id));
    return true;
  }
}

function isMergeList(s: Schema | undefined): s is Schema {
  return !!s && isArraySchema(s) && patchStrategies(s).includes('merge');
}

function withoutKey(o: JsonObject, key: string): JsonObject {
  if (!(key in o)) return o;
  const { [key]: _drop, ...rest } = o;
  return rest;
}

function itemPath(path: string, key: string, value: unknown): string {
  return `${path}[${key}=${preview(value, 40)}]`;
}
