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
import { cloneJson, getOwn, isObject, isScalar, jsonEqual, preview, setOwn, type JsonObject } from './json.js';
import { mergeInto } from './merge-patch.js';
import { SchemaNav, isArraySchema, patchMergeKey, patchStrategies, type Resolve } from './schema-nav.js';
import { orderMerged, type Identity } from './smp-order.js';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** The result of merging into a key that should not exist afterwards. */
const ABSENT = Symbol('absent');
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
      if (isArraySchema(s) && patchStrategies(s).includes('merge')) return this.mergeList(Array.isArray(orig) ? orig : undefined, p, s, path);
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

  /** A list with patch strategy "merge": maps by merge key, scalars as an ordered set. */
  private mergeList(orig: unknown[] | undefined, p: unknown[], s: Schema, path: string): unknown[] {
    const all = orig ? orig.concat(p) : p;
    if (all.some(Array.isArray)) throw new PatchError(`${at(path)}lists of lists cannot be merged`, 422);
    if (!all.some(isObject)) return mergeScalars(orig ?? [], p);

    const key = patchMergeKey(s);
    if (!key) throw new PatchError(`${at(path)}cannot merge a list of objects without a merge key`, 422);
    const itemSchema = this.nav.items(s);
    const id: Identity = (x) => (isObject(x) ? x[key] : undefined);
    let base = orig ? orig.slice() : [];
    let items: JsonObject[] = [];
    let replace = false;
    for (const raw of p) {
      if (!isObject(raw)) throw new PatchError(`${at(path)}expected objects in a list merged by ${key}, got ${preview(raw, 60)}`, 422);
      const d = raw[PATCH];
      if (d === undefined || d === 'merge') {
        // `$patch: merge` is the default spelled out; alone it names nothing.
        if (d === undefined || Object.keys(raw).length > 1) items.push(raw);
      } else if (d === 'delete') {
        const v = requireKey(raw, key, path);
        base = base.filter((x) => !(isObject(x) && jsonEqual(x[key], v)));
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
      return base;
    }
    const serverOrder = base.slice();
    for (const raw of items) {
      const v = requireKey(raw, key, path);
      const i = base.findIndex((x) => isObject(x) && jsonEqual(x[key], v));
      const merged = this.object(i >= 0 ? (base[i] as JsonObject) : undefined, raw, itemSchema, itemPath(path, key, v));
      if (merged === ABSENT) continue;
      if (i >= 0) base[i] = merged;
      else base.push(merged);
    }
    return orderMerged(base, items, serverOrder, id);
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

    const merged = has ? this.value(orig, patchList, listSchema, path) : orig;
    if (!Array.isArray(merged)) return true;
    if (merged.some(isObject) && !usesKeys) {
      setOwn(result, field, merged); // maps without a merge key have no identity to order by
      return true;
    }
    setOwn(result, field, orderMerged(merged, order, orig ?? [], id));
    return true;
  }
}

function mergeScalars(orig: unknown[], p: unknown[]): unknown[] {
  if (orig.length === 0 && p.length === 0) return orig;
  const seen = new Set<unknown>();
  const merged: unknown[] = [];
  for (const v of orig.concat(p)) {
    const k = isScalar(v) ? v : JSON.stringify(v);
    if (seen.has(k)) continue;
    seen.add(k);
    merged.push(cloneJson(v));
  }
  return orderMerged(merged, p, orig, (x) => x);
}

/** `$retainKeys`: drop keys of the original not listed; every key the patch sets must be listed. */
function retainKeys(result: JsonObject, p: JsonObject, path: string): void {
  const list = p[RETAIN_KEYS];
  if (!Array.isArray(list) || !list.every((k) => typeof k === 'string'))
    throw new PatchError(`${at(path)}${RETAIN_KEYS} must be a list of field names`);
  const keep = new Set<string>(list);
  for (const k of Object.keys(p)) {
    if (k.startsWith('$') || p[k] === null) continue;
    if (!keep.has(k)) throw new PatchError(`${at(path)}field ${k} is set by the patch but not listed in ${RETAIN_KEYS}`);
  }
  for (const k of Object.keys(result)) if (!keep.has(k)) delete result[k];
}

/** `$deleteFromPrimitiveList/<field>`: remove these values from a list of scalars. */
function deleteFromPrimitiveList(result: JsonObject, field: string, values: unknown, path: string): void {
  if (!Array.isArray(values)) throw new PatchError(`${at(path)}${DELETE_FROM_PRIMITIVE_LIST}${field} must be a list`);
  const current = getOwn(result, field);
  if (!Array.isArray(current)) return; // nothing to delete from; never creates the list
  setOwn(result, field, current.filter((x) => !values.some((v) => jsonEqual(v, x))));
}

/**
 * The patch's items must appear in $setElementOrder in the same relative
 * order (deletions and other directives aside), else the client computed
 * the patch inconsistently.
 */
function checkOrderConsistent(patchList: unknown[], order: unknown[], id: Identity, path: string): void {
  let j = 0;
  for (const item of patchList) {
    if (isObject(item) && item[PATCH] !== undefined) continue;
    const k = id(item);
    while (j < order.length && !jsonEqual(id(order[j]), k)) j++;
    if (j >= order.length)
      throw new PatchError(`${at(path)}the order of the patch list ${preview(patchList)} does not match ${SET_ELEMENT_ORDER}: ${preview(order)}`);
    j++;
  }
}

function requireKey(item: unknown, key: string, path: string): unknown {
  if (!isObject(item) || !Object.prototype.hasOwnProperty.call(item, key) || item[key] === null)
    throw new PatchError(`${at(path)}${preview(item, 80)} does not contain declared merge key: ${key}`, 422);
  return item[key];
}

function fieldOf(directiveKey: string, prefix: string, path: string): string {
  const field = directiveKey.slice(prefix.length);
  if (!field) throw new PatchError(`${at(path)}${prefix}<field> needs a field name`);
  return field;
}

function withoutKey(o: JsonObject, key: string): JsonObject {
  if (!(key in o)) return o;
  const { [key]: _drop, ...rest } = o;
  return rest;
}

function itemPath(path: string, key: string, value: unknown): string {
  return `${path}[${key}=${preview(value, 40)}]`;
}

function at(path: string): string {
  return path ? `${path.slice(1)}: ` : '';
}
