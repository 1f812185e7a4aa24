// The strategic merge patch directives that act on a map's keys, and the
// checks shared by the list directives. Error messages name the field path.
import { PatchError } from './errors.js';
import { getOwn, isObject, jsonEqual, preview, setOwn, type JsonObject } from './json.js';
import type { Identity } from './smp-order.js';

export const PATCH = '$patch';
export const RETAIN_KEYS = '$retainKeys';
export const SET_ELEMENT_ORDER = '$setElementOrder/';
export const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** `$retainKeys`: drop keys of the original not listed; every key the patch sets must be listed. */
export function retainKeys(result: JsonObject, p: JsonObject, path: string): void {
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
export function deleteFromPrimitiveList(result: JsonObject, field: string, values: unknown, path: string): void {
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
export function checkOrderConsistent(patchList: unknown[], order: unknown[], id: Identity, path: string): void {
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

export function requireKey(item: unknown, key: string, path: string): unknown {
  if (!isObject(item) || !Object.prototype.hasOwnProperty.call(item, key) || item[key] === null)
    throw new PatchError(`${at(path)}${preview(item, 80)} does not contain declared merge key: ${key}`, 422);
  return item[key];
}

export function fieldOf(directiveKey: string, prefix: string, path: string): string {
  const field = directiveKey.slice(prefix.length);
  if (!field) throw new PatchError(`${at(path)}${prefix}<field> needs a field name`);
  return field;
}

/** Prefix for error messages: the field path without its leading dot. */
export function at(path: string): string {
  return path ? `${path.slice(1)}: ` : '';
}
